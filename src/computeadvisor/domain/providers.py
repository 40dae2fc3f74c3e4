"""Provider records: validation (§2.1, §2.3), secret masking (§2.6), stats and seeds (§2.7)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

import msgspec

from computeadvisor.domain.errors import FieldError, InvalidInput
from computeadvisor.domain.values import id_text, nesting_depth, non_negative_number, plainly_truthy, whole_number

STORAGE_PATH = "config/compute_providers.json"
MASK = "***"
RATE_KEYS = (
    "cost_per_minute",
    "egress_cost_per_gb",
    "ingress_cost_per_gb",
    "vram_cost_per_gb_minute",
    "default_vram_gb",
)
PLANNER_KEYS = ("seconds_per_unit", "startup_s", "vram_gb")
"""Planner facts about a provider (§10.3), numbers >= 0 like the rates: declared seconds per work unit, cold-start
seconds, GPU memory in GiB. ``bandwidth_mbps`` (> 0) and ``concurrency`` (an integer >= 1) have rules of their own."""
META_MAX_DEPTH = 32  # levels of objects and arrays in ``meta`` (§2.1)
META_MAX_BYTES = 64 * 1024  # ``meta`` as compact JSON
UNSHOWABLE_META = "meta could not be shown: it nests deeper than 32 levels; save the provider again or delete it"
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
_SCHEMES = frozenset({"http", "https", "stub", "memory"})
_SECRET_PARTS = ("api_key", "apikey", "token", "secret", "password", "passwd")


class ProviderRecord(msgspec.Struct, frozen=True, kw_only=True):
    """One stored provider: exactly ``{id, kind, base, meta}``."""

    id: str
    kind: str = "custom"
    base: str = ""
    meta: dict[str, Any] = msgspec.field(default_factory=dict)


class RegistryStats(msgspec.Struct, frozen=True, kw_only=True):
    """The debug stats object of §2.1."""

    total: int
    by_kind: dict[str, int]
    storage_path: str = STORAGE_PATH
    persisted: bool


def validate_provider(body: Mapping[str, Any]) -> ProviderRecord:
    """Build a record from a POST body or a seed, in the validation order of §2.3."""
    raw_id = body.get("id")
    if not plainly_truthy(raw_id):
        raise InvalidInput("missing provider id")
    id_given = id_text(raw_id)
    if id_given is None:
        raise FieldError("id", "must be a string or an integer")
    provider_id = id_given.strip()
    if not provider_id:
        raise InvalidInput("provider id missing")
    if not _ID.fullmatch(provider_id):
        raise FieldError("id", "must match [A-Za-z0-9][A-Za-z0-9._:-]{0,63}")

    kind = body.get("kind")
    if kind is not None and not isinstance(kind, str):
        raise FieldError("kind", "must be a string")
    kind = (kind or "").strip() or "custom"

    base = _validate_base(body)

    meta = body.get("meta")
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise FieldError("meta", "must be an object")
    if nesting_depth(meta, META_MAX_DEPTH) > META_MAX_DEPTH:
        raise FieldError("meta", f"must not nest deeper than {META_MAX_DEPTH} levels")
    if len(msgspec.json.encode(meta)) > META_MAX_BYTES:
        raise FieldError("meta", f"must be at most {META_MAX_BYTES // 1024} KiB as JSON")
    _check_meta_numbers(meta)
    return ProviderRecord(id=provider_id, kind=kind, base=base, meta=dict(meta))


def _check_meta_numbers(meta: Mapping[str, Any]) -> None:
    """The rate keys and planner facts of ``meta``, when present; FieldError naming ``meta.<key>``."""
    for key in (*RATE_KEYS, *PLANNER_KEYS):
        if meta.get(key) is not None:
            non_negative_number(meta[key], f"meta.{key}")
    bandwidth = meta.get("bandwidth_mbps")
    if bandwidth is not None and non_negative_number(bandwidth, "meta.bandwidth_mbps") <= 0:
        raise FieldError("meta.bandwidth_mbps", "must be > 0 (megabits per second)")
    concurrency = meta.get("concurrency")
    if concurrency is not None and ((count := whole_number(concurrency)) is None or count < 1):
        raise FieldError("meta.concurrency", "must be an integer >= 1 (jobs the provider runs at once)")


def _validate_base(body: Mapping[str, Any]) -> str:
    for field in ("base", "base_url", "endpoint"):
        value = body.get(field)
        if value is None or value == "":
            continue
        if not isinstance(value, str):
            raise FieldError(field, "must be a string")
        base = value.strip()
        if not base:
            continue
        try:
            parts = urlsplit(base)
        except ValueError as exc:
            raise FieldError(field, f"is not a valid URL ({exc})") from None
        scheme = parts.scheme.lower()
        if scheme not in _SCHEMES:
            raise FieldError(field, "must be a URL with scheme http, https, stub or memory")
        if scheme in ("http", "https") and not parts.hostname:
            raise FieldError(field, "an http(s) URL needs a host")
        return base
    return ""


def record_from_stored(entry: Any) -> ProviderRecord | None:
    """Leniently load a stored entry (§2.5): anything with a non-empty id, so an existing file loses nothing."""
    if not isinstance(entry, dict):
        return None
    raw_id = entry.get("id")
    if isinstance(raw_id, bool) or not isinstance(raw_id, str | int):
        return None
    provider_id = str(raw_id).strip()
    if not provider_id:
        return None
    kind = entry.get("kind")
    base = entry.get("base")
    meta = entry.get("meta")
    return ProviderRecord(
        id=provider_id,
        kind=kind if isinstance(kind, str) and kind else "custom",
        base=base if isinstance(base, str) else "",
        meta=meta if isinstance(meta, dict) else {},
    )


def is_secret_key(name: str) -> bool:
    """Whether a meta key holds a secret (§2.6); ``author`` is not one, ``auth_header`` is."""
    lowered = name.lower()
    return (
        any(part in lowered for part in _SECRET_PARTS)
        or lowered in ("auth", "authorization")
        or lowered.startswith("auth_")
    )


def is_config_secret(name: str) -> bool:
    """Whether a key of ``meta.config`` holds a secret (§16.1): §2.6's rule, widened as ComfyVN did to every name
    containing ``key`` or ``credential`` and to ``service_account_json`` (``access_key``, ``ssh_key_path``)."""
    lowered = name.lower()
    return is_secret_key(name) or "key" in lowered or "credential" in lowered or lowered == "service_account_json"


CONFIG_KEY = "config"
"""The ``meta`` key where the Studio keeps a provider's credentials and settings (§16.1)."""


class _TooDeep(Exception):
    """A meta nests past ``META_MAX_DEPTH``: walking on could exhaust the stack."""


def _mask(value: Any, depth: int = 1, secret: Callable[[str], bool] = is_secret_key) -> Any:
    """``value`` with secrets masked; ``depth`` is the level of ``value`` itself (the meta object is level 1)."""
    if isinstance(value, dict):
        if depth > META_MAX_DEPTH:
            raise _TooDeep
        out = {}
        for k, v in value.items():
            # meta.config follows the wider rule of §16.1, all the way down.
            inner = is_config_secret if secret is is_config_secret or (depth == 1 and k == CONFIG_KEY) else secret
            out[k] = MASK if secret(str(k)) else _mask(v, depth + 1, inner)
        return out
    if isinstance(value, list):
        if depth > META_MAX_DEPTH:
            raise _TooDeep
        return [_mask(v, depth + 1, secret) for v in value]
    return value


def masked(record: ProviderRecord) -> ProviderRecord:
    """The record with every secret meta value, at any depth, shown as ``***``.

    A ``meta`` nested deeper than the limit (stored by an older version or a hand edit) cannot be walked safely:
    it is shown as ``{"error": UNSHOWABLE_META}`` instead, so one record never breaks a listing.
    """
    try:
        meta = _mask(record.meta)
    except _TooDeep:
        meta = {"error": UNSHOWABLE_META}
    return msgspec.structs.replace(record, meta=meta)


def _restore(
    new: dict[str, Any], old: dict[str, Any], secret: Callable[[str], bool] = is_secret_key, depth: int = 1
) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for key, value in new.items():
        previous = old.get(key)
        inner = is_config_secret if secret is is_config_secret or (depth == 1 and key == CONFIG_KEY) else secret
        if value == MASK and secret(str(key)) and key in old:
            merged[key] = previous
        elif isinstance(value, dict) and isinstance(previous, dict):
            merged[key] = _restore(value, previous, inner, depth + 1)
        else:
            merged[key] = value
    return merged


def keep_stored_secrets(new: ProviderRecord, old: ProviderRecord | None) -> ProviderRecord:
    """A secret sent back as exactly ``***`` keeps the stored value (§2.6 round trips)."""
    if old is None:
        return new
    return msgspec.structs.replace(new, meta=_restore(new.meta, old.meta))


def registry_stats(records: Iterable[ProviderRecord], *, persisted: bool) -> RegistryStats:
    """Count records by lower-cased kind (an empty kind counts as ``custom``)."""
    by_kind: dict[str, int] = {}
    total = 0
    for record in records:
        kind = (record.kind or "custom").lower()
        by_kind[kind] = by_kind.get(kind, 0) + 1
        total += 1
    return RegistryStats(total=total, by_kind=by_kind, persisted=persisted)


def seeds_from_documents(documents: Iterable[tuple[str, Any]]) -> tuple[list[ProviderRecord], list[str]]:
    """Seeds from ``(name, parsed document)`` pairs in precedence order; returns (seeds, warnings) (§2.7)."""
    seeds: dict[str, ProviderRecord] = {}
    warnings: list[str] = []
    for name, document in documents:
        if not isinstance(document, dict):
            continue
        features = document.get("features")
        if isinstance(features, dict) and features and not plainly_truthy(features.get("enable_compute", True)):
            continue
        entries = document.get("providers")
        if not isinstance(entries, list):
            continue
        for index, entry in enumerate(entries):
            if not isinstance(entry, dict):
                warnings.append(f"{name}: providers[{index}] is not an object; skipped")
                continue
            try:
                record = validate_provider(entry)
            except InvalidInput as exc:
                warnings.append(f"{name}: providers[{index}] is invalid ({exc.detail}); skipped")
                continue
            seeds.setdefault(record.id, record)
    return list(seeds.values()), warnings


DEFAULT_PRIORITY = 999
"""The preference of a record without ``meta.priority`` (§16.1): after every one that has one."""


def is_active(record: ProviderRecord) -> bool:
    """False only when ``meta.active`` is JSON ``false`` (§16.1)."""
    return record.meta.get("active") is not False


def view_priority(record: ProviderRecord, default: int = DEFAULT_PRIORITY) -> int:
    """``meta.priority`` when it is a JSON integer, else ``default`` (§16.1)."""
    value = record.meta.get("priority")
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def preference_order(records: Iterable[ProviderRecord]) -> list[ProviderRecord]:
    """The registry order stably sorted by ``meta.priority`` (§16.1); records without one keep their place last."""
    return sorted(records, key=view_priority)


def remote_candidates(records: Iterable[ProviderRecord], unhealthy: frozenset[str] = frozenset()) -> list[str]:
    """Ids that count toward ``remote_available`` (§3.2), in preference order (§16.1): kind not ``local``, active,
    last health not failed."""
    return [
        r.id for r in preference_order(records) if r.kind.lower() != "local" and is_active(r) and r.id not in unhealthy
    ]
