"""Reading a request body the way §0.1 says: absent, empty or null is ``{}``; anything else must be an object."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request

from computeadvisor.domain.errors import InvalidInput


def decode_object(raw: bytes) -> dict[str, Any]:
    """The JSON object in ``raw``; InvalidInput for invalid JSON or a non-object value."""
    if not raw.strip():
        return {}
    try:
        value = msgspec.json.decode(raw)
    except msgspec.DecodeError as exc:
        raise InvalidInput(f"invalid JSON body: {exc}") from None
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidInput("request body must be a JSON object")
    return value


async def json_object(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """Read (size-limited by the app) and decode the request body."""
    return decode_object(await request.body())
