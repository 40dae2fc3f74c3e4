"""Run a job on a ComfyUI server (§15 ``--executor comfyui``): post its workflow, follow it to the end.

The request and answer shapes are ComfyUI's own, read from its ``server.py`` (``POST /prompt``, ``GET
/history/{prompt_id}``, ``POST /queue``) and ``execution.py`` (``PromptQueue.task_done``, validation errors) at
commit 005f3ba of comfyanonymous/ComfyUI (2024-2025 releases):

* ``POST /prompt`` ``{"prompt": <API-format workflow>, "client_id": …}`` answers ``{"prompt_id", "number",
  "node_errors"}``, or 400 ``{"error": {"type", "message", "details", "extra_info"}, "node_errors": {<node id>:
  {"errors": [{"type", "message", "details", …}], "class_type", …}}}`` for a workflow that fails validation;
* ``GET /history/{prompt_id}`` answers ``{}`` until the prompt ran, then ``{<prompt_id>: {"prompt", "outputs":
  {<node id>: {"images": [{"filename", "subfolder", "type"}], …}}, "status": {"status_str": "success"|"error",
  "completed", "messages": [[<event>, {…}], …]}}}``; an ``execution_error`` message carries ``exception_message``,
  ``node_id`` and ``node_type``. Servers older than the ``status`` key write the entry only on success.
"""

from __future__ import annotations

import contextlib
import logging
import time
from typing import Any

import httpx

from computeadvisor.client.context import Handler, JobContext, JobFailed, Outcome

log = logging.getLogger("computeadvisor.worker")

POLL_S = 0.5
UNREACHABLE_S = 30.0


def _validation_error(body: Any) -> str:
    """One line from a 400 of ``/prompt``: the error's message and details, then each node's errors."""
    if not isinstance(body, dict):
        return f"ComfyUI refused the workflow: {body}"
    error = body.get("error")
    parts = []
    if isinstance(error, dict):
        parts.append(": ".join(str(error[k]) for k in ("message", "details") if error.get(k)))
    elif error:
        parts.append(str(error))
    nodes = body.get("node_errors")
    if isinstance(nodes, dict):
        for node_id, node in nodes.items():
            for item in node.get("errors", []) if isinstance(node, dict) else []:
                if isinstance(item, dict):
                    kind = node.get("class_type", "?")
                    parts.append(f"node {node_id} ({kind}): {item.get('message', '')}: {item.get('details', '')}")
    return "ComfyUI refused the workflow: " + "; ".join(p for p in parts if p)


def _execution_error(status: dict[str, Any]) -> str:
    """The message of a failed run: the ``execution_error`` message's exception and node."""
    for message in status.get("messages") or []:
        if isinstance(message, list) and len(message) == 2 and message[0] == "execution_error":
            data = message[1] if isinstance(message[1], dict) else {}
            node = f"node {data.get('node_id', '?')} ({data.get('node_type', '?')})"
            return (
                f"ComfyUI failed at {node}: {data.get('exception_type', 'error')}: {data.get('exception_message', '')}"
            )
    return "ComfyUI reported an error without details"


def output_names(outputs: Any) -> tuple[str, ...]:
    """Every ``subfolder/filename`` listed in a history entry's ``outputs``, by node id."""
    names: list[str] = []
    if not isinstance(outputs, dict):
        return ()
    for node_id in sorted(outputs, key=lambda n: (len(str(n)), str(n))):
        node = outputs[node_id]
        for files in node.values() if isinstance(node, dict) else []:
            for item in files if isinstance(files, list) else []:
                if isinstance(item, dict) and isinstance(item.get("filename"), str):
                    sub = item.get("subfolder") or ""
                    names.append(f"{sub}/{item['filename']}" if sub else item["filename"])
    return tuple(names)


def comfyui_handler(
    url: str, *, client_id: str = "computeadvisor", poll_s: float = POLL_S, unreachable_s: float = UNREACHABLE_S,
    transport: httpx.BaseTransport | None = None,
) -> Handler:  # fmt: skip
    """A handler that runs each job's ``payload.workflow`` on the ComfyUI server at ``url``."""
    http = httpx.Client(base_url=url.rstrip("/"), timeout=10.0, transport=transport, trust_env=False)

    def submit(workflow: dict[str, Any]) -> str:
        try:
            response = http.post("/prompt", json={"prompt": workflow, "client_id": client_id})
        except httpx.TransportError as exc:
            raise JobFailed(f"ComfyUI at {url} unreachable: {exc!r}") from exc
        try:
            body = response.json()
        except ValueError:
            body = response.text
        if response.status_code == 400:
            raise JobFailed(_validation_error(body))
        if response.is_error or not isinstance(body, dict) or not isinstance(body.get("prompt_id"), str):
            raise JobFailed(f"ComfyUI answered {response.status_code} to /prompt: {str(body)[:500]}")
        return str(body["prompt_id"])

    def forget(prompt_id: str) -> None:
        with contextlib.suppress(httpx.HTTPError):  # best effort: a pending prompt leaves ComfyUI's queue
            http.post("/queue", json={"delete": [prompt_id]})

    def run(ctx: JobContext) -> Outcome | None:
        workflow = ctx.job.payload.get("workflow")
        if not isinstance(workflow, dict) or not workflow:
            raise JobFailed("payload.workflow must be a ComfyUI workflow in API format (an object of nodes)")
        prompt_id = submit(workflow)
        log.info("job %s: ComfyUI prompt %s", ctx.job.id, prompt_id)
        ctx.on_stop(lambda: forget(prompt_id))
        answered = time.monotonic()
        while not ctx.wait(poll_s):
            try:
                response = http.get(f"/history/{prompt_id}")
                history = response.json()
            except (httpx.TransportError, ValueError) as exc:
                if time.monotonic() - answered > unreachable_s:
                    message = f"ComfyUI at {url} stopped answering while running prompt {prompt_id}: {exc!r}"
                    raise JobFailed(message) from exc
                continue
            answered = time.monotonic()
            entry = history.get(prompt_id) if isinstance(history, dict) else None
            if not isinstance(entry, dict):
                continue
            status = entry.get("status")
            status = status if isinstance(status, dict) else {}
            if status.get("status_str") == "error":
                raise JobFailed(_execution_error(status))
            if status.get("completed", True):
                return Outcome(outputs=output_names(entry.get("outputs")))
        return None

    return run
