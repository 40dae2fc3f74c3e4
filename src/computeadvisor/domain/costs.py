"""The cost preview (§4): building the spec, resolving fields, the formulas, rounding, hints and notes.

The same :func:`cost_parts` prices a preview and a finished job, so the two can never disagree.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import msgspec

from computeadvisor.domain.errors import FieldError, InvalidInput
from computeadvisor.domain.providers import ProviderRecord
from computeadvisor.domain.values import as_number, id_text, non_negative_number

GIB = 1024**3
REMOTE_DEFAULT_RATE = 0.05
ADVISORY_NOTE = "Advisory estimate only; no billing occurs through ComfyVN."
FLAG_OFF_NOTE = "Remote execution disabled by feature flag; treat estimate as informational."
EMPTY_META_NOTE = "Provider metadata missing; using neutral defaults."

_COPIED_TOP_LEVEL = (
    "queue", "target", "provider_id", "duration_sec", "duration_seconds", "duration_min", "duration_minutes",
    "expected_duration_sec", "expected_duration_min", "eta_sec", "eta_minutes", "bytes_tx", "bytes_rx", "vram_gb",
)  # fmt: skip
_REMOVED = ("job", "debug", "verbose", "allow_remote", "prefer_remote", "context")
SECONDS_KEYS = ("duration_sec", "duration_seconds", "eta_sec", "expected_duration_sec")
MINUTES_KEYS = ("duration_min", "duration_minutes", "eta_minutes", "expected_duration_min")
BYTES_TX_KEYS = ("bytes_tx", "upload_bytes", "input_bytes")
BYTES_RX_KEYS = ("bytes_rx", "download_bytes", "output_bytes")
VRAM_KEYS = ("vram_gb", "required_vram_gb", "min_vram_gb")
MAX_MINUTES = 1e306
"""The largest duration in minutes (its seconds are still a finite number)."""
NUMBER_KEYS = (*SECONDS_KEYS, *MINUTES_KEYS, *BYTES_TX_KEYS, *BYTES_RX_KEYS, *VRAM_KEYS)
"""Every numeric key of a job the preview reads (§4.2), in the job or its ``payload``; the API schema lists them."""


class CostInputs(msgspec.Struct, frozen=True, kw_only=True):
    """A job as the cost function sees it; ``vram_gb`` None means the job stated none."""

    queue: str = "local"
    provider_id: str | None = "local"
    duration_sec: float = 0.0
    bytes_tx: int = 0
    bytes_rx: int = 0
    vram_gb: float | None = None

    def __post_init__(self) -> None:
        if self.duration_sec < 0 or self.bytes_tx < 0 or self.bytes_rx < 0 or (self.vram_gb or 0) < 0:
            raise ValueError("cost inputs must be non-negative")


class CostParts(msgspec.Struct, frozen=True, kw_only=True):
    """The unrounded quantities of §4.4."""

    minutes: float
    base_rate: float
    base_cost: float
    gb_tx: float
    gb_rx: float
    egress_rate: float
    ingress_rate: float
    transfer_cost: float
    vram_gb: float
    vram_rate: float
    vram_cost: float
    total: float
    currency: str


class CostBreakdown(msgspec.Struct, frozen=True, kw_only=True):
    duration_minutes: float
    base_rate_per_minute: float
    base_cost: float
    gb_tx: float
    gb_rx: float
    egress_rate_per_gb: float
    ingress_rate_per_gb: float
    transfer_cost: float
    vram_gb: float
    vram_rate_per_gb_minute: float
    vram_cost: float


class CostProvider(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    id: str | None
    kind: str | None
    base: str | None
    label: str | None
    queue: str
    pricing_url: Any = msgspec.UNSET
    notes: Any = msgspec.UNSET


class PreviewInputs(msgspec.Struct, frozen=True, kw_only=True):
    queue: str
    provider_id: str | None
    duration_sec: float
    bytes_tx: int
    bytes_rx: int
    vram_gb: float


class CostPreview(msgspec.Struct, frozen=True, kw_only=True):
    """The ``estimate`` object of a costs response (§4.5)."""

    provider: CostProvider
    estimate: float
    currency: str
    breakdown: CostBreakdown
    hints: list[str]
    notes: list[str]
    inputs: PreviewInputs


def build_cost_spec(body: Mapping[str, Any]) -> dict[str, Any]:
    """The job spec of a costs request (§4.1); InvalidInput ``missing job payload`` when empty."""
    job = body.get("job")
    spec = dict(job) if isinstance(job, dict) else dict(body)
    payload = body.get("payload")
    if isinstance(payload, dict) and "payload" not in spec:
        spec["payload"] = payload
    for key in _COPIED_TOP_LEVEL:
        if body.get(key) is not None and key not in spec:
            spec[key] = body[key]
    for key in _REMOVED:
        spec.pop(key, None)
    if not spec:
        raise InvalidInput("missing job payload")
    return spec


def _lookup(spec: Mapping[str, Any], aliases: tuple[str, ...]) -> tuple[str, Any] | None:
    payload = spec.get("payload")
    for alias in aliases:
        if spec.get(alias) is not None:
            return alias, spec[alias]
        if isinstance(payload, dict) and payload.get(alias) is not None:
            return alias, payload[alias]
    return None


def _named_number(spec: Mapping[str, Any], aliases: tuple[str, ...]) -> tuple[str, float] | None:
    """(the alias that supplied it, its number >= 0), or None when no alias is set; FieldError naming the alias."""
    found = _lookup(spec, aliases)
    return None if found is None else (found[0], non_negative_number(found[1], found[0]))


def _number_field(spec: Mapping[str, Any], aliases: tuple[str, ...]) -> float | None:
    found = _named_number(spec, aliases)
    return None if found is None else found[1]


def resolve_cost_inputs(spec: Mapping[str, Any]) -> CostInputs:
    """Resolve queue, provider, duration, bytes and VRAM through their aliases (§4.2)."""
    queue = "local"
    found = _lookup(spec, ("queue", "target"))
    if found is not None:
        if not isinstance(found[1], str):
            raise FieldError(found[0], "must be a string")
        queue = found[1].strip().lower() or "local"

    provider_id: str | None = None
    found = _lookup(spec, ("provider_id",))
    if found is not None:
        value = found[1]
        text = id_text(value)
        if text is None:
            raise FieldError("provider_id", "must be a string")
        provider_id = text.strip() or None
    if provider_id is None and queue == "local":
        provider_id = "local"

    seconds = _number_field(spec, SECONDS_KEYS)
    if seconds is None:
        alias, minutes = _named_number(spec, MINUTES_KEYS) or ("", 0.0)
        if minutes > MAX_MINUTES:
            raise FieldError(alias, f"must be at most {MAX_MINUTES:g} minutes")
        seconds = minutes * 60
    tx = _number_field(spec, BYTES_TX_KEYS)
    rx = _number_field(spec, BYTES_RX_KEYS)
    return CostInputs(
        queue=queue,
        provider_id=provider_id,
        duration_sec=seconds,
        bytes_tx=int(tx or 0),
        bytes_rx=int(rx or 0),
        vram_gb=_number_field(spec, VRAM_KEYS),
    )


def _rate(meta: Mapping[str, Any], key: str) -> float | None:
    return as_number(meta.get(key))


_TOO_LARGE = "too large: the cost it gives is not a finite number"


def _overflowing_field(base: float, tx: float, rx: float, vram_per_minute: float, vram: float) -> str:
    """The job field whose product overflowed; when only the sum did, the field of its largest part."""
    products = (("duration_sec", base), ("bytes_tx", tx), ("bytes_rx", rx), ("vram_gb", vram_per_minute))
    for field, value in (*products, ("duration_sec", vram)):
        if not math.isfinite(value):
            return field
    return max((("duration_sec", base + vram), ("bytes_tx", tx), ("bytes_rx", rx)), key=lambda part: part[1])[0]


class PriceSheet(msgspec.Struct, frozen=True, kw_only=True):
    """A provider's rates as the cost formulas read them (§4.4); None where ``meta`` states none."""

    cost_per_minute: float | None = None
    egress_cost_per_gb: float | None = None
    ingress_cost_per_gb: float | None = None
    vram_cost_per_gb_minute: float | None = None
    default_vram_gb: float | None = None
    currency: str = "USD"


NEUTRAL_PRICES = PriceSheet()


def price_sheet(provider: ProviderRecord | None) -> PriceSheet:
    """The rates of ``provider``'s ``meta`` (a value that is not a finite number reads as absent)."""
    if provider is None:
        return NEUTRAL_PRICES
    meta = provider.meta
    currency = meta.get("currency")
    return PriceSheet(
        cost_per_minute=_rate(meta, "cost_per_minute"),
        egress_cost_per_gb=_rate(meta, "egress_cost_per_gb"),
        ingress_cost_per_gb=_rate(meta, "ingress_cost_per_gb"),
        vram_cost_per_gb_minute=_rate(meta, "vram_cost_per_gb_minute"),
        default_vram_gb=_rate(meta, "default_vram_gb"),
        currency=str(currency).upper() if currency not in (None, "") else "USD",
    )


def cost_parts(inputs: CostInputs, provider: ProviderRecord | None) -> CostParts:
    """The unrounded cost of a job on a provider (§4.4); ``provider`` None means neutral defaults.

    Raises:
        FieldError: the cost is not a finite number (naming the job field whose size made it overflow).
    """
    return priced(inputs, price_sheet(provider))


def priced(inputs: CostInputs, prices: PriceSheet) -> CostParts:
    """The unrounded cost of a job at ``prices`` (§4.4); FieldError as :func:`cost_parts`."""
    minutes = inputs.duration_sec / 60
    base_rate = prices.cost_per_minute
    if base_rate is None:
        base_rate = REMOTE_DEFAULT_RATE if inputs.queue == "remote" else 0.0
    gb_tx = inputs.bytes_tx / GIB
    gb_rx = inputs.bytes_rx / GIB
    egress_rate = prices.egress_cost_per_gb or 0.0
    ingress_rate = prices.ingress_cost_per_gb
    if ingress_rate is None:
        ingress_rate = egress_rate
    vram_gb = inputs.vram_gb
    if vram_gb is None:
        vram_gb = prices.default_vram_gb or 0.0
    vram_rate = prices.vram_cost_per_gb_minute or 0.0
    base_cost = max(0.0, minutes * base_rate)
    tx_cost, rx_cost = gb_tx * egress_rate, gb_rx * ingress_rate
    transfer_cost = max(0.0, tx_cost + rx_cost)
    vram_cost = max(0.0, minutes * vram_gb * vram_rate)
    total = base_cost + transfer_cost + vram_cost
    if not math.isfinite(total):
        raise FieldError(_overflowing_field(base_cost, tx_cost, rx_cost, vram_gb * vram_rate, vram_cost), _TOO_LARGE)
    return CostParts(
        minutes=minutes,
        base_rate=base_rate,
        base_cost=base_cost,
        gb_tx=gb_tx,
        gb_rx=gb_rx,
        egress_rate=egress_rate,
        ingress_rate=ingress_rate,
        transfer_cost=transfer_cost,
        vram_gb=vram_gb,
        vram_rate=vram_rate,
        vram_cost=vram_cost,
        total=total,
        currency=prices.currency,
    )


def _meta_label(meta: Mapping[str, Any]) -> str | None:
    for key in ("label", "name", "title"):
        if meta.get(key):
            return str(meta[key])
    return None


def provider_label(provider: ProviderRecord) -> str:
    """How answers name a provider (§4.3): ``meta.label``, ``name`` or ``title``, else its id."""
    return _meta_label(provider.meta) or provider.id


def _hints(parts: CostParts, inputs: CostInputs, provider: ProviderRecord | None) -> list[str]:
    cur = parts.currency
    label = provider_label(provider) if provider else (inputs.provider_id or "unspecified")
    shown_kind = provider.kind if provider is not None and provider.kind else inputs.queue
    hints = [f"Provider {label} ({shown_kind}) - estimates in {cur}."]
    if parts.minutes > 0 and parts.base_rate > 0:
        hints.append(f"Base: {parts.minutes:.2f} min @ {parts.base_rate:.3f} {cur}/min ~= {parts.base_cost:.2f} {cur}")
    elif parts.minutes <= 0:
        hints.append("Base: duration not supplied; treating as zero-minute workload.")
    else:
        hints.append("Base: provider metadata missing rate; defaulted to zero cost.")
    if parts.transfer_cost > 0 or parts.gb_tx > 0 or parts.gb_rx > 0:
        hints.append(
            f"Transfer: {parts.gb_tx:.3f} GB out / {parts.gb_rx:.3f} GB in ~= {parts.transfer_cost:.2f} {cur}"
            f" (egress {parts.egress_rate:.3f})."
        )
    if parts.vram_cost > 0:
        hints.append(
            f"VRAM surcharge: {parts.vram_gb:.2f} GB @ {parts.vram_rate:.3f} per GB-min ~= {parts.vram_cost:.2f} {cur}."
        )
    elif parts.vram_gb > 0 and parts.vram_rate == 0:
        hints.append("VRAM surcharge: provider does not bill for VRAM usage.")
    if parts.total == 0:
        hints.append("Total cost rounded to 0; ensure provider metadata is populated for accurate previews.")
    return hints


def _notes(inputs: CostInputs, provider: ProviderRecord | None, *, feature_enabled: bool) -> list[str]:
    notes = [ADVISORY_NOTE]
    if provider is None and inputs.provider_id:
        notes.append(f"Provider '{inputs.provider_id}' not found in registry; using defaults.")
    elif provider is not None and not provider.meta:
        notes.append(EMPTY_META_NOTE)
    if not feature_enabled and inputs.queue == "remote":
        notes.append(FLAG_OFF_NOTE)
    return notes


def _provider_view(inputs: CostInputs, provider: ProviderRecord | None) -> CostProvider:
    if provider is None:
        return CostProvider(id=inputs.provider_id, kind=None, base=None, label=inputs.provider_id, queue=inputs.queue)
    return CostProvider(
        id=provider.id,
        kind=provider.kind,
        base=provider.base,
        label=provider_label(provider),
        queue=inputs.queue,
        pricing_url=provider.meta.get("pricing_url"),
        notes=provider.meta.get("notes"),
    )


def preview_cost(inputs: CostInputs, provider: ProviderRecord | None, *, feature_enabled: bool) -> CostPreview:
    """Price a job without billing it (§4.4-§4.7): rounded breakdown, hints and notes."""
    parts = cost_parts(inputs, provider)
    return CostPreview(
        provider=_provider_view(inputs, provider),
        estimate=round(parts.total, 4),
        currency=parts.currency,
        breakdown=CostBreakdown(
            duration_minutes=round(parts.minutes, 3),
            base_rate_per_minute=round(parts.base_rate, 4),
            base_cost=round(parts.base_cost, 4),
            gb_tx=round(parts.gb_tx, 6),
            gb_rx=round(parts.gb_rx, 6),
            egress_rate_per_gb=round(parts.egress_rate, 4),
            ingress_rate_per_gb=round(parts.ingress_rate, 4),
            transfer_cost=round(parts.transfer_cost, 4),
            vram_gb=round(parts.vram_gb, 3),
            vram_rate_per_gb_minute=round(parts.vram_rate, 4),
            vram_cost=round(parts.vram_cost, 4),
        ),
        hints=_hints(parts, inputs, provider),
        notes=_notes(inputs, provider, feature_enabled=feature_enabled),
        inputs=PreviewInputs(
            queue=inputs.queue,
            provider_id=inputs.provider_id,
            duration_sec=float(inputs.duration_sec),
            bytes_tx=inputs.bytes_tx,
            bytes_rx=inputs.bytes_rx,
            vram_gb=float(inputs.vram_gb or 0.0),
        ),
    )
