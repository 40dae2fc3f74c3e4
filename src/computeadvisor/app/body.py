"""Reading a request body the way §0.1 says: absent, empty or null is ``{}``; anything else must be an object."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request

from computeadvisor.domain.errors import InvalidInput
from computeadvisor.domain.values import MAX_BODY_DEPTH, nesting_depth

_TOO_DEEP = f"invalid JSON body: arrays and objects nest deeper than {MAX_BODY_DEPTH} levels"


def decode_object(raw: bytes) -> dict[str, Any]:
    """The JSON object in ``raw``; InvalidInput for invalid JSON, nesting past the limit, or a non-object value."""
    if not raw.strip():
        return {}
    try:
        value = msgspec.json.decode(raw)
    except msgspec.DecodeError as exc:
        raise InvalidInput(f"invalid JSON body: {exc}") from None
    except RecursionError:  # msgspec's own limit, about 1000 levels: far past ours
        raise InvalidInput(_TOO_DEEP) from None
    # Only a body with more brackets than the limit can nest past it; counting them runs at C speed.
    if raw.count(b"[") + raw.count(b"{") > MAX_BODY_DEPTH and nesting_depth(value, MAX_BODY_DEPTH) > MAX_BODY_DEPTH:
        raise InvalidInput(_TOO_DEEP)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidInput("request body must be a JSON object")
    return value


async def json_object(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """Read (size-limited by the app) and decode the request body."""
    return decode_object(await request.body())
