"""The placement planner's ranking (§10.5): a candidate's ETA, the deadline and budget, the order, the reason.

Candidates are built by :mod:`computeadvisor.domain.placement`; the run-time model is
:mod:`computeadvisor.domain.runtime_model`. Nothing here does I/O.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Literal

import msgspec

from computeadvisor.domain.runtime_model import Basis, Rate

OBJECTIVES = ("fastest", "cheapest", "balanced")
Objective = Literal["fastest", "cheapest", "balanced"]


class Cost(msgspec.Struct, frozen=True, kw_only=True):
    estimate: float
    currency: str


class Candidate(msgspec.Struct, frozen=True, kw_only=True):
    """One place the job could run, with what the planner predicts there (§10.2); ``rank`` is 0 until ranked."""

    device: str
    target: Literal["cpu", "gpu", "remote"]
    label: str
    feasible: bool = True
    blockers: list[str] = msgspec.field(default_factory=list)
    wait_s: float
    transfer_s: float
    run_s: Rate
    eta_s: Rate = Rate(p50=0.0, p90=0.0)
    cost: Cost
    basis: Basis
    rank: int = 0

    def __post_init__(self) -> None:
        # eta = wait + transfer + run, always; feasible exactly when nothing blocks the place.
        ahead = self.wait_s + self.transfer_s
        eta = Rate(p50=round(ahead + self.run_s.p50, 3), p90=round(ahead + self.run_s.p90, 3))
        msgspec.structs.force_setattr(self, "eta_s", eta)
        msgspec.structs.force_setattr(self, "feasible", not self.blockers)


def with_limits(candidate: Candidate, *, deadline_s: float | None, budget: float | None) -> Candidate:
    """The candidate with ``misses the deadline`` / ``over budget`` added when its p90 ETA or cost exceeds them."""
    if deadline_s is None and budget is None:
        return candidate
    blockers = list(candidate.blockers)
    if deadline_s is not None and candidate.eta_s.p90 > deadline_s:
        blockers.append("misses the deadline")
    if budget is not None and candidate.cost.estimate > budget:
        blockers.append("over budget")
    if blockers == candidate.blockers:
        return candidate
    return msgspec.structs.replace(candidate, blockers=blockers)


def _score(candidate: Candidate, objective: Objective, time_value_per_hour: float) -> tuple[float, ...]:
    if objective == "fastest":
        return (candidate.eta_s.p50, candidate.cost.estimate)
    if objective == "cheapest":
        return (candidate.cost.estimate, candidate.eta_s.p50)
    return (candidate.cost.estimate + candidate.eta_s.p50 / 3600 * time_value_per_hour,)


def rank_order(candidates: Sequence[Candidate], objective: Objective, time_value_per_hour: float = 1.0) -> list[int]:
    """The candidates' indices best first: feasible ones first, each group ordered by the objective, ties kept in
    the candidates' order."""
    return sorted(
        range(len(candidates)),
        key=lambda i: (not candidates[i].feasible, *_score(candidates[i], objective, time_value_per_hour), i),
    )


def rank(candidates: Sequence[Candidate], objective: Objective, time_value_per_hour: float = 1.0) -> list[Candidate]:
    """The candidates by :func:`rank_order`, each a copy with its ``rank`` 1…n."""
    return ranked_in_place([copy.copy(c) for c in candidates], objective, time_value_per_hour)


def ranked_in_place(candidates: list[Candidate], objective: Objective, time_value_per_hour: float) -> list[Candidate]:
    """The candidates by :func:`rank_order` with ``rank`` set on the objects themselves: for candidates the caller
    has just made and no one else holds (a copy with only ``rank`` changed needs no ETA derived again)."""
    order = rank_order(candidates, objective, time_value_per_hour)
    for n, i in enumerate(order, start=1):
        msgspec.structs.force_setattr(candidates[i], "rank", n)
    return [candidates[i] for i in order]


def duration_text(seconds: float) -> str:
    """Seconds as a person reads them: ``~42 s`` under 90 s, ``~1.6 min`` under 90 min, else ``~2.5 h``."""
    if seconds < 90:
        return f"~{seconds:.0f} s"
    if seconds < 5400:
        return f"~{seconds / 60:.1f} min"
    return f"~{seconds / 3600:.1f} h"


def _price(cost: Cost) -> str:
    return f"{cost.estimate:.2f} {cost.currency}" if cost.estimate == 0 else f"{cost.estimate:.4f} {cost.currency}"


def recommendation(ranked: Sequence[Candidate]) -> tuple[str | None, str]:
    """The rank-1 device when it is feasible (else None) and the one-sentence reason (§10.5)."""
    if not ranked:
        return None, "no feasible placement: no place to run the job"
    best = ranked[0]
    if not best.feasible:
        return None, f"no feasible placement: {best.device} " + "; ".join(best.blockers)
    reason = f"{best.device} finishes in {duration_text(best.eta_s.p50)} at {_price(best.cost)}"
    if len(ranked) > 1 and ranked[1].feasible:
        runner_up = ranked[1]
        reason += f"; next best {runner_up.device} {duration_text(runner_up.eta_s.p50)} at {_price(runner_up.cost)}"
    return best.device, reason
