"""The ComfyVN Studio's view of the provider registry (§16.1) and its writes (§16.4-§16.6, §16.8), as pure functions.

A record stays exactly ``{id, kind, base, meta}`` (§2.1); the Studio's extra fields live in five reserved ``meta``
keys. Every function here takes records and a request body and returns records to store (or a view to show), so
the registry adapters and the v1 routes are untouched by the Studio's surface.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import msgspec
from msgspec import UNSET, UnsetType

from computeadvisor.domain.errors import FieldError, InvalidInput
from computeadvisor.domain.provider_templates import ProviderTemplate, find_template, template_defaults
from computeadvisor.domain.providers import (
    MASK,
    ProviderRecord,
    is_active,
    is_config_secret,
    is_secret_key,
    masked,
    validate_provider,
    view_priority,
)
from computeadvisor.domain.values import as_integer, id_text

RESERVED = ("name", "service", "active", "priority", "config")
PRIORITY_STEP = 10


class LastHealth(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """The §2.8 health memory as the Studio reads it: ``ts`` epoch ms; ``error`` when the probe failed."""

    ok: bool | None
    ts: int | None
    error: str | UnsetType = UNSET


NEVER_CHECKED = LastHealth(ok=None, ts=None)


class LegacyView(msgspec.Struct, frozen=True, kw_only=True):
    """One record as every §16 answer shows it (§16.1)."""

    id: str
    kind: str
    base_url: str
    name: str
    service: str
    active: bool
    priority: int
    config: dict[str, Any]
    meta: dict[str, Any]
    last_health: LastHealth = NEVER_CHECKED


# -- reading the reserved keys ---------------------------------------------------------------------------------


def _text(meta: Mapping[str, Any], key: str) -> str | None:
    value = meta.get(key)
    return value if isinstance(value, str) and value else None


def view_name(record: ProviderRecord) -> str:
    return _text(record.meta, "name") or record.id


def view_service(record: ProviderRecord) -> str:
    return _text(record.meta, "service") or record.kind


def stored_config(record: ProviderRecord) -> dict[str, Any]:
    config = record.meta.get("config")
    return dict(config) if isinstance(config, dict) else {}


def legacy_view(record: ProviderRecord, health: LastHealth = NEVER_CHECKED) -> LegacyView:
    """The record as the Studio sees it, secrets masked (§2.6 in ``meta``, the wider rule in ``config``)."""
    shown = masked(record).meta
    config = shown.get("config")
    return LegacyView(
        id=record.id,
        kind=record.kind,
        base_url=record.base,
        name=view_name(record),
        service=view_service(record),
        active=is_active(record),
        priority=view_priority(record),
        config=dict(config) if isinstance(config, dict) else {},
        meta={key: value for key, value in shown.items() if key not in RESERVED},
        last_health=health,
    )


def without_secrets(value: Any, secret: Any = is_secret_key) -> Any:
    """``value`` with every secret key left out, at any depth (an export without secrets, §16.8)."""
    if isinstance(value, dict):
        return {k: without_secrets(v, secret) for k, v in value.items() if not secret(str(k))}
    if isinstance(value, list):
        return [without_secrets(v, secret) for v in value]
    return value


def export_view(record: ProviderRecord, health: LastHealth, *, secrets: bool) -> dict[str, Any]:
    """The view of an export (§16.8): real values with ``secrets``, else every secret key left out."""
    meta = {key: value for key, value in record.meta.items() if key not in RESERVED}
    config = stored_config(record)
    if not secrets:
        meta = without_secrets(meta)
        config = without_secrets(config, is_config_secret)
    view = msgspec.to_builtins(legacy_view(record, health))
    return {**view, "meta": meta, "config": config}


# -- slugs and field rules ---------------------------------------------------------------------------------------


SLUG_LENGTH = 64


def slug(text: str) -> str:
    """Lower-case ASCII letters, digits, ``-`` and ``_``; whitespace becomes ``-``; the rest is dropped (§16.4).

    The result is always a valid id (§2.1): leading underscores go as the dashes do, and it is cut to 64 characters.
    """
    kept = "".join(
        "-" if c.isspace() else c for c in text.lower() if c.isspace() or (c.isascii() and (c.isalnum() or c in "-_"))
    )
    return kept.lstrip("-_")[:SLUG_LENGTH].rstrip("-") or "provider"


def _string(body: Mapping[str, Any], field: str) -> str | None:
    value = body.get(field)
    if value is None:
        return None
    if not isinstance(value, str):
        raise FieldError(field, "must be a string")
    return value


def _object(body: Mapping[str, Any], field: str) -> dict[str, Any] | None:
    value = body.get(field)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise FieldError(field, "must be an object")
    return dict(value)


def _boolean(body: Mapping[str, Any], field: str) -> bool | None:
    value = body.get(field)
    if value is None:
        return None
    if not isinstance(value, bool):
        raise FieldError(field, "must be true or false")
    return value


def _priority(body: Mapping[str, Any]) -> int | None:
    value = body.get("priority")
    if value is None:
        return None
    number = as_integer(value)
    if number is None or abs(number) >= 2**63:
        raise FieldError("priority", "must be an integer or an integer string")
    return number


def _base_url(body: Mapping[str, Any]) -> Any:
    """The first non-empty of ``base_url``, ``endpoint``, ``base`` (blank counts as empty)."""
    for key in ("base_url", "endpoint", "base"):
        value = body.get(key)
        if value is not None and not (isinstance(value, str) and not value.strip()):
            return value
    return None


def _given_id(body: Mapping[str, Any]) -> str | None:
    value = body.get("id")
    if value is None or value == "":
        return None
    text = id_text(value)
    if text is None:
        raise FieldError("id", "must be a string or an integer")
    return text


def next_priority(records: Iterable[ProviderRecord]) -> int:
    """The priority of a new record without one: the largest stored (none counts 0) plus 10 (§16.4)."""
    return max((view_priority(r, 0) for r in records), default=0) + PRIORITY_STEP


# -- building the stored record ---------------------------------------------------------------------------------


def _restore_config(given: dict[str, Any], stored: dict[str, Any]) -> dict[str, Any]:
    """A config secret sent back as ``***`` keeps the stored value; with nothing stored it is dropped (§16.1)."""
    out: dict[str, Any] = {}
    for key, value in given.items():
        if value == MASK and is_config_secret(str(key)):
            if key in stored:
                out[key] = stored[key]
            continue
        out[key] = value
    return out


def priced(meta: dict[str, Any]) -> dict[str, Any]:
    """``meta`` with ``cost_per_minute`` from a finite ``cost.hourly_usd`` >= 0 when it has none (§16.2)."""
    cost = meta.get("cost")
    hourly = cost.get("hourly_usd") if isinstance(cost, dict) else None
    if "cost_per_minute" in meta or isinstance(hourly, bool) or not isinstance(hourly, int | float):
        return meta
    if not math.isfinite(hourly) or hourly < 0:
        return meta
    return {**meta, "cost_per_minute": hourly / 60}


def _template_of(record_id: str, service: str | None, kind: str) -> ProviderTemplate | None:
    return find_template(record_id) or find_template(service or kind)


def _build(
    *, record_id: str, kind: str, base: Any, name: str | None, service: str | None, active: bool,
    priority: int | None, config: dict[str, Any], extra: dict[str, Any] | None, defaults: ProviderTemplate | None,
) -> ProviderRecord:  # fmt: skip
    """The record a §16 write stores: ``extra`` is the non-reserved meta, over the ``defaults`` template's."""
    meta = template_defaults(defaults) if defaults is not None else {}
    meta.update({k: v for k, v in (extra or {}).items() if k not in RESERVED})
    if name:
        meta["name"] = name
    if service:
        meta["service"] = service
    if not active:
        meta["active"] = False
    if priority is not None:
        meta["priority"] = priority
    if config:
        meta["config"] = config
    body = {"id": record_id, "kind": kind, "base_url": base, "meta": priced(meta)}
    return validate_provider(body)


def register(body: Mapping[str, Any], records: Sequence[ProviderRecord], *, slug_id: bool = True) -> ProviderRecord:
    """The record a ``POST /api/providers/register`` stores (§16.4): a new one, or the one its id names, updated.

    A given id is checked as §2.1 says; without one, the slug of ``name`` (else of ``provider``) names the record.
    Omitted fields keep what is stored (**changed**: ComfyVN reset them). With ``slug_id`` False (an import) an
    entry without an id is refused instead.
    """
    name, kind, service = _string(body, "name"), _string(body, "kind"), _string(body, "service")
    given = _given_id(body)
    if given is None and slug_id:
        given = slug(name or _string(body, "provider") or "")
    if given is None:
        raise FieldError("id", "is required")
    base = _base_url(body)
    if base is None:
        raise InvalidInput("base_url is required")
    active, priority = _boolean(body, "active"), _priority(body)
    meta, config = _object(body, "meta"), _object(body, "config")
    stored = next((r for r in records if r.id == given.strip()), None)
    if stored is None:
        kind = kind or "remote"
        defaults = _template_of(given, service, kind)
        return _build(record_id=given, kind=kind, base=base, name=name, service=service,
                      active=True if active is None else active,
                      priority=next_priority(records) if priority is None else priority,
                      config=_restore_config(config or {}, {}), extra=meta, defaults=defaults)  # fmt: skip
    kept = stored.meta
    service = service or _text(kept, "service")
    kind = kind or stored.kind
    extra = meta if meta is not None else {k: v for k, v in kept.items() if k not in RESERVED}
    kept_priority = kept.get("priority") if isinstance(kept.get("priority"), int) else None
    return _build(
        record_id=stored.id, kind=kind, base=base, name=name or _text(kept, "name"), service=service,
        active=is_active(stored) if active is None else active,
        priority=kept_priority if priority is None else priority,
        config=stored_config(stored) if config is None else _restore_config(config, stored_config(stored)),
        extra=extra, defaults=_template_of(stored.id, service, kind) if meta is not None else None,
    )  # fmt: skip


def create(body: Mapping[str, Any], records: Sequence[ProviderRecord]) -> ProviderRecord:
    """The record a ``POST /api/providers/create`` stores from a template (§16.5); the id must be free."""
    wanted = body.get("template_id")
    if not wanted:
        raise InvalidInput("template_id is required")
    template = find_template(wanted if isinstance(wanted, str) else str(wanted))
    if template is None:
        raise InvalidInput(f"template '{wanted}' not found")
    name = _string(body, "name") or template.name
    taken = {r.id for r in records}
    given = _given_id(body)
    if given is not None:
        record_id = slug(given)
        if record_id in taken:
            raise InvalidInput(f"provider '{record_id}' already exists")
    else:
        base_id = slug(name)
        record_id = next(c for c in (base_id, *(f"{base_id}-{n}" for n in range(2, len(taken) + 3))) if c not in taken)
    active, priority = _boolean(body, "active"), _priority(body)
    return _build(
        record_id=record_id, kind=template.kind, base=_base_url(body) or template.base_url, name=name,
        service=template.service, active=True if active is None else active,
        priority=template.priority if priority is None else priority,
        config=_restore_config(_object(body, "config") or {}, {}), extra=_object(body, "meta"), defaults=template,
    )  # fmt: skip


def set_active(record: ProviderRecord, active: bool) -> ProviderRecord:
    """The record activated (the key removed) or deactivated (``meta.active: false``)."""
    meta = {k: v for k, v in record.meta.items() if k != "active"}
    if not active:
        meta["active"] = False
    return msgspec.structs.replace(record, meta=meta)


def parse_activate(body: Mapping[str, Any]) -> tuple[str, bool]:
    """``{id, active}`` of an activate (§16.6)."""
    provider_id = body.get("id")
    if not provider_id:
        raise InvalidInput("id is required")
    text = id_text(provider_id)
    if text is None:
        raise FieldError("id", "must be a string")
    active = _boolean(body, "active")
    return text, True if active is None else active


def parse_health(body: Mapping[str, Any]) -> str | None:
    """The provider id of a Studio health request, or None to probe every active provider (§16.7)."""
    return _given_id(body)


def reorder(records: Sequence[ProviderRecord], body: Mapping[str, Any]) -> list[ProviderRecord]:
    """The records whose priority an ``order`` sets (§16.6): each listed stored id gets its (last) index."""
    order = body.get("order")
    if not isinstance(order, list):
        raise InvalidInput("order must be a list of provider ids")
    if not all(isinstance(item, str) for item in order):
        raise FieldError("order", "must hold provider ids (strings) only")
    index = {provider_id: n for n, provider_id in enumerate(order)}
    return [
        msgspec.structs.replace(r, meta={**r.meta, "priority": index[r.id]})
        for r in records
        if r.id in index and r.meta.get("priority") != index[r.id]
    ]


# -- import (§16.8) ---------------------------------------------------------------------------------------------


class ImportSkip(msgspec.Struct, frozen=True, kw_only=True):
    """An entry an import left out, and why."""

    index: int
    id: str | None
    detail: str


class ImportPlan(msgspec.Struct, frozen=True, kw_only=True):
    """One import as one registry write: what to delete, what to store, and what to report."""

    deletes: list[str]
    upserts: list[ProviderRecord]
    imported: list[str]
    skipped: list[ImportSkip]


def plan_import(body: Mapping[str, Any], records: Sequence[ProviderRecord]) -> ImportPlan:
    """The write an import makes (§16.8): each usable entry is a register with its id as given (no slug)."""
    entries = body.get("providers")
    if entries is None:
        raise InvalidInput("import payload must contain a list of providers")
    if not isinstance(entries, list):
        raise InvalidInput("payload.providers must be a list")
    replace = _boolean(body, "replace") or False
    overwrite = _boolean(body, "overwrite")
    overwrite = True if overwrite is None else overwrite
    current = {} if replace else {r.id: r for r in records}
    imported: list[str] = []
    skipped: list[ImportSkip] = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict) or entry.get("id") in (None, "") or _base_url(entry) is None:
            continue  # not a provider entry at all: skipped silently
        shown = id_text(entry["id"])
        if not overwrite and shown is not None and shown.strip() in current:
            skipped.append(ImportSkip(index=index, id=shown, detail=f"provider '{shown.strip()}' already exists"))
            continue
        try:
            record = register({k: v for k, v in entry.items() if k != "last_health"}, list(current.values()),
                              slug_id=False)  # fmt: skip
        except InvalidInput as exc:
            skipped.append(ImportSkip(index=index, id=shown, detail=exc.detail))
            continue
        current[record.id] = record
        if record.id in imported:
            imported.remove(record.id)
        imported.append(record.id)
    return ImportPlan(
        deletes=[r.id for r in records] if replace else [],
        upserts=[current[i] for i in imported],
        imported=imported,
        skipped=skipped,
    )
