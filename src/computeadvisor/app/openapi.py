"""What the OpenAPI document at ``/schema`` learns beyond what Litestar sees in the handlers.

Handlers read their bodies themselves (``app/body.py``) so that ComfyVN's input rules hold exactly (``null`` is
``{}``, a non-object is a 400 saying so, each field error names the field), so Litestar cannot see the request
types: ``app/request_bodies.py`` describes them. :func:`complete_openapi` adds them, the error responses every
``/api`` route can give, the bearer-token scheme and the rules of the query parameters the handlers check
themselves, when the document is first served (generating it costs ~40 ms, which every app built in tests would
otherwise pay). Which operation needs the token is declared on its handler (``security.TOKEN``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import msgspec
from litestar import Request
from litestar.openapi.plugins import JsonRenderPlugin

from computeadvisor.app.request_bodies import DEVICE, REQUEST_BODIES, SCHEMA_RULES, present_devices
from computeadvisor.wire import ErrorBody

ERROR_STATUSES = {
    "400": "Invalid JSON, a non-object body, or a field of the wrong type, format or range (the detail names it).",
    "401": "A token is configured and the request lacks it (mutations, probes, debug).",
    "404": "Unknown provider or job id.",
    "409": "A scheduler state conflict or a stale lease token.",
    "413": "Body over the server's limit (max_body_bytes, 1 MiB by default).",
    "507": "The disk under the state root is full: the detail names what could not be saved; nothing changed.",
}
BEARER = "bearerToken"
SECURITY_SCHEMES = {
    BEARER: {
        "type": "http",
        "scheme": "bearer",
        "description": "The token the server was started with (--token); only needed when one is configured.",
    }
}
# Query parameters whose rules the handlers check themselves (they take the raw string, to name the field in the
# 400): published with those rules.
_EVENT_TYPE = "(job|provider|policy|device)"
_EVENT_TYPES = rf"^\s*{_EVENT_TYPE}(\s*,\s*{_EVENT_TYPE})*\s*$"
QUERY_RULES: dict[tuple[str, str, str], dict[str, Any]] = {
    ("/api/schedule/state", "get", "limit"): {"schema": {"type": "integer", "minimum": 1, "maximum": 1000}},
    ("/api/schedule/board", "get", "limit"): {"schema": {"type": "integer", "minimum": 1, "maximum": 1000}},
    ("/api/providers/quota", "get", "id"): {"required": True, "schema": {"type": "string", "minLength": 1}},
    ("/api/providers/templates", "get", "id"): {"required": True, "schema": {"type": "string", "minLength": 1}},
    ("/api/events", "get", "after"): {"schema": {"type": "string", "pattern": r"^\s*[0-9]+\s*$"}},
    ("/api/events", "get", "Last-Event-ID"): {"schema": {"type": "string", "pattern": r"^\s*[0-9]+\s*$"}},
    ("/api/events", "get", "types"): {
        "schema": {
            "type": "string",
            "pattern": r"^\s*(job|provider|policy|device)(\s*,\s*(job|provider|policy|device))*\s*$",
        }
    },
    ("/api/events", "get", "queue"): {"schema": {"type": "string", "enum": ["local", "remote"]}},
}
_REF = "#/components/schemas/{name}"


def _request_body(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    """The ``requestBody`` of an operation whose body is the component ``name`` (with ``schema``)."""
    ref: dict[str, Any] = {"$ref": _REF.format(name=name)}
    if schema.get("required") or name in SCHEMA_RULES:
        return {"required": True, "content": {"application/json": {"schema": ref}}}
    # No body, an empty one and null all mean {} (§0.1), which this body accepts.
    return {"required": False, "content": {"application/json": {"schema": {"anyOf": [ref, {"type": "null"}]}}}}


def _with_pattern(node: Any, old: str, new: str) -> Any:
    """``node`` with every ``"pattern": old`` replaced by ``new``."""
    if isinstance(node, dict):
        return {k: new if k == "pattern" and v == old else _with_pattern(v, old, new) for k, v in node.items()}
    if isinstance(node, list):
        return [_with_pattern(v, old, new) for v in node]
    return node


def complete_openapi(document: dict[str, Any], gpu_indices: Iterable[int] = ()) -> None:
    """Add the request bodies, error responses, token scheme and query rules to a generated document, in place.

    ``gpu_indices`` are the GPUs present now: a device id is valid only for one of them (or ``cpu``).
    """
    _, components = msgspec.json.schema_components([*REQUEST_BODIES.values(), ErrorBody], ref_template=_REF)
    components = _with_pattern(components, DEVICE, present_devices(gpu_indices))
    for name, rules in SCHEMA_RULES.items():
        components[name].update(rules)
    document.setdefault("components", {}).setdefault("securitySchemes", {}).update(SECURITY_SCHEMES)
    schemas = document["components"].setdefault("schemas", {})
    for name, component in components.items():
        schemas.setdefault(name, component)
    error = {"application/json": {"schema": {"$ref": _REF.format(name=ErrorBody.__name__)}}}
    for path, item in document.get("paths", {}).items():
        if not path.startswith("/api/"):
            continue
        for method, operation in item.items():
            body = REQUEST_BODIES.get((path, method))
            if body is not None:
                operation["requestBody"] = _request_body(body.__name__, components[body.__name__])
            for parameter in operation.get("parameters", []):
                parameter.update(QUERY_RULES.get((path, method, parameter.get("name", "")), {}))
            responses = operation.setdefault("responses", {})
            for status, description in ERROR_STATUSES.items():
                responses[status] = {"description": description, "content": error}


class CompletedJsonRenderPlugin(JsonRenderPlugin):
    """Serves ``/schema/openapi.json`` completed by :func:`complete_openapi`.

    Args:
        gpu_indices: the GPUs present now (read when the document is first rendered; it is cached after that).
    """

    def __init__(self, gpu_indices: Callable[[], Iterable[int]] = tuple) -> None:
        super().__init__()
        self._gpu_indices = gpu_indices

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        complete_openapi(openapi_schema, self._gpu_indices())  # idempotent; the plugin renders the document once
        return super().render(request, openapi_schema)
