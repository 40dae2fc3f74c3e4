"""Reading loosely typed JSON values the way the API reference (§0.1, §0.4) defines it."""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from computeadvisor.domain.errors import FieldError

_NUMERIC = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_INTEGER = re.compile(r"[+-]?[0-9]+")  # ASCII digits only: int() would also take "٣"
_ON_WORDS = frozenset({"1", "true", "yes", "on", "debug"})
MAX_BODY_DEPTH = 100
"""How deeply arrays and objects may nest in a request body (§0.1); ComfyUI workflows nest about five levels."""


def nesting_depth(value: Any, limit: int) -> int:
    """How deeply lists and dicts nest in ``value`` (a scalar is 0, ``{}`` is 1), counted no further than
    ``limit + 1``. Iterative, so data nested deeper than Python's recursion limit is measured safely."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        if deepest > limit:
            return deepest
        stack.extend((child, depth + 1) for child in children)
    return deepest


def is_on(value: Any) -> bool:
    """Debug truthiness (§0.4): true, a non-zero number, or one of 1/true/yes/on/debug as a string."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value != 0 and not (isinstance(value, float) and math.isnan(value))
    if isinstance(value, str):
        return value.strip().lower() in _ON_WORDS
    return False


def plainly_truthy(value: Any) -> bool:
    """Plain truthiness (§0.1): false for null, false, 0, 0.0, "", [] and {}; true otherwise."""
    return bool(value)


def debug_from_body(body: Mapping[str, Any]) -> bool:
    """Body ``debug``, or ``verbose`` when ``debug`` is plainly falsy (§0.4)."""
    value = body.get("debug")
    if not plainly_truthy(value):
        value = body.get("verbose")
    return is_on(value)


def as_number(value: Any) -> float | None:
    """A finite number from a JSON number or numeric string; None for anything else (never raises)."""
    if type(value) is float:  # the common case first: every rate and size decoded from JSON
        return value if math.isfinite(value) else None
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        try:
            return float(value)
        except OverflowError:  # an integer beyond float range is not a usable number
            return None
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str):
        text = value.strip()
        if _NUMERIC.fullmatch(text):
            number = float(text)
            return number if math.isfinite(number) else None
    return None


def non_negative_number(value: Any, field: str) -> float:
    """A finite number >= 0 from a JSON number or numeric string; FieldError naming ``field`` otherwise."""
    number = as_number(value)
    if number is None:
        raise FieldError(field, "must be a finite number or numeric string")
    if number < 0:
        raise FieldError(field, "must be >= 0")
    return number


def whole_number(value: Any) -> int | None:
    """A JSON integer: an int, or a float with no fractional part (``5.0``: JSON Schema counts it as an integer
    too); None for booleans, fractions, non-finite numbers and anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def id_text(value: Any) -> str | None:
    """An id given as a string, or as a JSON integer (in decimal); None for any other type."""
    if isinstance(value, str):
        return value
    number = whole_number(value)
    return None if number is None else str(number)


def as_integer(value: Any) -> int | None:
    """An integer from a JSON integer (``whole_number``) or a string of sign and digits; None otherwise."""
    number = whole_number(value)
    if number is not None:
        return number
    if isinstance(value, str):
        text = value.strip()
        if _INTEGER.fullmatch(text):
            return int(text)
    return None


def as_int_loose(value: Any) -> int | None:
    """An integer from a JSON integer, a float truncated toward zero, or a string of sign and digits."""
    if isinstance(value, float):
        return int(value) if math.isfinite(value) else None
    return as_integer(value)


def utc_timestamp(now: datetime) -> str:
    """ISO-8601 UTC ending in ``Z``, microseconds omitted when zero (the contract's time format, §0.7)."""
    return now.astimezone(UTC).isoformat()[:-6] + "Z"  # "+00:00" -> "Z"


@functools.lru_cache(maxsize=1024)
def iso_utc(ts: float) -> str:
    """Epoch seconds in the contract's time format (see ``utc_timestamp``). Cached: a job's record formats the
    same few timestamps each time it is read."""
    return utc_timestamp(datetime.fromtimestamp(ts, UTC))
