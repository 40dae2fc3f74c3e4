"""A stand-in ComfyUI server with ComfyUI's documented request and answer shapes (only what the executor uses).

Read from comfyanonymous/ComfyUI ``server.py`` and ``execution.py`` (commit 005f3ba): ``POST /prompt`` answers
``{"prompt_id", "number", "node_errors"}`` or 400 ``{"error": {type, message, details, extra_info}, "node_errors"}``;
``GET /history/{prompt_id}`` answers ``{}`` until the prompt ran, then ``{prompt_id: {"prompt", "outputs",
"status": {"status_str", "completed", "messages"}, "meta"}}``; ``POST /queue`` ``{"delete": [ids]}`` answers 200.

What a workflow does here is decided by its nodes: a ``CheckpointLoaderSimple`` whose ``ckpt_name`` is
``missing.safetensors`` fails validation; a ``KSampler`` whose ``seed`` is 13 fails while running (out of memory);
anything else runs for ``polls_to_finish`` history polls and writes one image per ``SaveImage`` node. With
``vanish_after_polls`` the server goes away after that many history polls, as a ComfyUI that crashes mid-job.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class ComfyUiDouble:
    """Serves on 127.0.0.1:<port> in a thread; ``prompts`` holds every accepted ``/prompt`` body."""

    def __init__(self, polls_to_finish: int = 2, vanish_after_polls: int | None = None) -> None:
        self.polls_to_finish = polls_to_finish
        self.vanish_after_polls = vanish_after_polls
        self.prompts: list[dict[str, Any]] = []
        self.deleted: list[str] = []
        self._polls: dict[str, int] = {}
        self._number = 0
        self._lock = threading.Lock()
        double = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                del format, args

            def _answer(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                if self.path == "/prompt":
                    self._answer(*double.post_prompt(body))
                elif self.path == "/queue":
                    double.deleted.extend(body.get("delete", []))
                    self._answer(200, {})
                else:
                    self._answer(404, {})

            def do_GET(self) -> None:
                if self.path.startswith("/history/"):
                    self._answer(200, double.history(self.path.removeprefix("/history/")))
                else:
                    self._answer(404, {})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> ComfyUiDouble:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.vanish()

    def vanish(self) -> None:
        """Stop answering and close the port (a ComfyUI that went away)."""
        self.server.shutdown()
        self.server.server_close()

    def post_prompt(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        prompt = body.get("prompt")
        if not isinstance(prompt, dict):
            return 400, {"error": "no prompt", "node_errors": []}
        for node_id, node in prompt.items():
            if (
                node.get("class_type") == "CheckpointLoaderSimple"
                and node["inputs"].get("ckpt_name") == "missing.safetensors"
            ):
                reason = {"type": "value_not_in_list", "message": "Value not in list",
                          "details": "ckpt_name: 'missing.safetensors' not in ['sd15.safetensors']",
                          "extra_info": {"input_name": "ckpt_name"}}  # fmt: skip
                error = {"type": "prompt_outputs_failed_validation", "message": "Prompt outputs failed validation",
                         "details": "Value not in list: ckpt_name", "extra_info": {}}  # fmt: skip
                node_errors = {
                    node_id: {"errors": [reason], "dependent_outputs": ["9"], "class_type": node["class_type"]}
                }
                return 400, {"error": error, "node_errors": node_errors}
        with self._lock:
            self._number += 1
            prompt_id = str(uuid.uuid4())
            self._polls[prompt_id] = 0
            self.prompts.append({**body, "prompt_id": prompt_id, "number": self._number})
        return 200, {"prompt_id": prompt_id, "number": self._number, "node_errors": {}}

    def history(self, prompt_id: str) -> dict[str, Any]:
        with self._lock:
            if prompt_id not in self._polls:
                return {}
            self._polls[prompt_id] += 1
            if self._polls[prompt_id] == self.vanish_after_polls:  # gone while the prompt runs
                threading.Thread(target=self.vanish, daemon=True).start()
            if self._polls[prompt_id] < self.polls_to_finish:
                return {}
            sent = next(p for p in self.prompts if p["prompt_id"] == prompt_id)
        prompt = sent["prompt"]
        started = ["execution_start", {"prompt_id": prompt_id, "timestamp": int(time.time() * 1000)}]
        queued = [sent["number"], prompt_id, prompt, {"client_id": sent.get("client_id")}, []]
        entry: dict[str, Any] = {"prompt": queued, "meta": {}}
        for node_id, node in prompt.items():
            if node.get("class_type") == "KSampler" and node["inputs"].get("seed") == 13:
                failure = {"prompt_id": prompt_id, "node_id": node_id, "node_type": "KSampler", "executed": [],
                           "exception_message": "Allocation on device", "exception_type": "torch.OutOfMemoryError",
                           "traceback": [], "current_inputs": {}, "current_outputs": {}}  # fmt: skip
                entry.update(outputs={}, status={"status_str": "error", "completed": False,
                                                 "messages": [started, ["execution_error", failure]]})  # fmt: skip
                return {prompt_id: entry}
        images = {
            node_id: {"images": [{"filename": f"{node['inputs'].get('filename_prefix', 'ComfyUI')}_00001_.png",
                                  "subfolder": "", "type": "output"}]}
            for node_id, node in prompt.items() if node.get("class_type") == "SaveImage"
        }  # fmt: skip
        done = ["execution_success", {"prompt_id": prompt_id, "timestamp": int(time.time() * 1000)}]
        entry.update(outputs=images, status={"status_str": "success", "completed": True, "messages": [started, done]})
        return {prompt_id: entry}


def workflow(*, ckpt: str = "sd15.safetensors", seed: int = 1, prefix: str = "shot") -> dict[str, Any]:
    """A small text-to-image workflow in ComfyUI's API format."""
    return {
        "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": ckpt}},
        "3": {"class_type": "KSampler", "inputs": {"seed": seed, "steps": 20, "cfg": 7.0, "model": ["4", 0]}},
        "8": {"class_type": "VAEDecode", "inputs": {"samples": ["3", 0], "vae": ["4", 2]}},
        "9": {"class_type": "SaveImage", "inputs": {"filename_prefix": prefix, "images": ["8", 0]}},
    }
