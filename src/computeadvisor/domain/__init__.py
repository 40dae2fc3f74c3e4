"""The pure core of computeadvisor: plain values in, plain values out, no I/O.

>>> from computeadvisor.domain import AdvisorContext, CostInputs, GpuPolicy, advise, preview_cost
>>> advice = advise({"width": 2048, "height": 1152}, AdvisorContext(has_gpu=True),
...                 allow_remote=False, feature_enabled=False, policy=GpuPolicy(), gpus=[])
>>> advice.decision, advice.reason
('gpu', 'local GPU available and queue is light')
>>> preview_cost(CostInputs(queue="remote", provider_id=None, duration_sec=270), None,
...              feature_enabled=True).estimate
0.225
"""

from computeadvisor.domain.advisor import (
    THRESHOLDS,
    Advice,
    AdviseRequest,
    AdvisorContext,
    Thresholds,
    advise,
    derive_context,
    merge_context,
    parse_advise_request,
)
from computeadvisor.domain.costs import (
    CostInputs,
    CostParts,
    CostPreview,
    build_cost_spec,
    cost_parts,
    preview_cost,
    resolve_cost_inputs,
)
from computeadvisor.domain.errors import (
    ComputeAdvisorError,
    Conflict,
    FieldError,
    InvalidInput,
    NotFound,
    StorageError,
)
from computeadvisor.domain.hardware import GpuInfo, SystemSample
from computeadvisor.domain.placement import Places, PlanAnswer, plan
from computeadvisor.domain.plan_request import PlanRequest, parse_plan_request
from computeadvisor.domain.planner import Candidate, Cost, rank, recommendation, with_limits
from computeadvisor.domain.policy import GpuPolicy, pins_cpu, select_gpu
from computeadvisor.domain.providers import ProviderRecord, RegistryStats, masked, validate_provider
from computeadvisor.domain.runtime_model import Basis, PlaceRecord, Rate, RunModel, Window, accuracy, basis
from computeadvisor.domain.waiting import Workload
from computeadvisor.domain.work import WorkSize, work_size

__all__ = [
    "THRESHOLDS",
    "Advice",
    "AdviseRequest",
    "AdvisorContext",
    "Basis",
    "Candidate",
    "ComputeAdvisorError",
    "Conflict",
    "Cost",
    "CostInputs",
    "CostParts",
    "CostPreview",
    "FieldError",
    "GpuInfo",
    "GpuPolicy",
    "InvalidInput",
    "NotFound",
    "PlaceRecord",
    "Places",
    "PlanAnswer",
    "PlanRequest",
    "ProviderRecord",
    "Rate",
    "RegistryStats",
    "RunModel",
    "StorageError",
    "SystemSample",
    "Thresholds",
    "Window",
    "WorkSize",
    "Workload",
    "accuracy",
    "advise",
    "basis",
    "build_cost_spec",
    "cost_parts",
    "derive_context",
    "masked",
    "merge_context",
    "parse_advise_request",
    "parse_plan_request",
    "pins_cpu",
    "plan",
    "preview_cost",
    "rank",
    "recommendation",
    "resolve_cost_inputs",
    "select_gpu",
    "validate_provider",
    "with_limits",
    "work_size",
]
