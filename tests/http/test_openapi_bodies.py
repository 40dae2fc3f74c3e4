"""Every key a request parser reads is in the published OpenAPI document (one description per body).

The handlers parse bodies with the domain's own functions (so ComfyVN's input rules hold exactly), while
``app/openapi.py`` describes them for ``/schema``. This suite runs each parser over bodies that record every key
it reads (``Recording``), then checks each key path against the request schema the running app publishes: a key a
parser learns to read and the schema does not list fails here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import pytest
from litestar.testing import TestClient

from computeadvisor.domain import advisor, costs, studio_gpu
from computeadvisor.domain import job_requests as requests
from computeadvisor.domain import legacy_providers as legacy
from computeadvisor.domain.advisor import AdvisorContext
from computeadvisor.domain.job_spec import parse_enqueue
from computeadvisor.domain.plan_request import parse_plan_request
from computeadvisor.domain.policy import GpuPolicy, apply_policy_update
from computeadvisor.domain.providers import validate_provider
from computeadvisor.domain.values import debug_from_body


class Recording(dict[str, Any]):
    """A JSON object that notes the path of every key read from it (and from the objects inside it)."""

    def __init__(self, data: dict[str, Any], seen: set[str], prefix: str = "") -> None:
        super().__init__(data)
        self._seen = seen
        self._prefix = prefix

    def _path(self, key: object) -> str:
        return f"{self._prefix}{key}"

    def _wrap(self, key: str, value: Any) -> Any:
        return Recording(value, self._seen, f"{self._path(key)}.") if isinstance(value, dict) else value

    def get(self, key: str, default: Any = None) -> Any:
        self._seen.add(self._path(key))
        return self._wrap(key, super().get(key, default))

    def __getitem__(self, key: str) -> Any:
        self._seen.add(self._path(key))
        return self._wrap(key, super().__getitem__(key))

    def __contains__(self, key: object) -> bool:
        self._seen.add(self._path(key))
        return super().__contains__(key)


Read = Callable[[Callable[..., Recording]], object]


def _advise_job(record: Callable[..., Recording]) -> object:
    job = record({}, "job.")
    advice = advisor.advise(
        job,
        AdvisorContext(has_gpu=True, remote_available=True),
        allow_remote=True,
        feature_enabled=True,
        policy=GpuPolicy(),
        gpus=[],
        remote_provider_ids=["p"],
    )
    return advisor.job_echo(job), advice


def _advise_body_as_job(record: Callable[..., Recording]) -> object:
    # Without ``job`` the whole body is the job (§3.1): its top-level keys are job keys too.
    body = record({})
    return advisor.parse_advise_request(body), advisor.job_echo(body), advisor.job_pixels(body)


def _costs(record: Callable[..., Recording], prefix: str) -> object:
    return costs.resolve_cost_inputs(record({"payload": {}}, prefix))


# Per route: the parsers its handler runs, each over recorded bodies.
READERS: dict[tuple[str, str], list[Read]] = {
    ("/api/providers", "post"): [
        lambda r: validate_provider(r({"id": "p", "meta": {}})),
        lambda r: debug_from_body(r({})),
    ],
    ("/api/gpu/policy", "put"): [lambda r: apply_policy_update(GpuPolicy(), r({"mode": "auto"}), [])],
    ("/api/compute/advise", "post"): [
        lambda r: advisor.parse_advise_request(r({"job": {}, "context": {"local_vram_gb": 1.0}})),
        _advise_body_as_job,
        _advise_job,
    ],
    ("/api/compute/costs", "post"): [
        lambda r: costs.build_cost_spec(r({"job": {"queue": "local"}})),
        lambda r: debug_from_body(r({})),
        lambda r: _costs(r, "job."),
        lambda r: _costs(r, ""),  # without ``job`` the top-level keys are the job (§4.1)
    ],
    ("/api/compute/plan", "post"): [
        lambda r: parse_plan_request(r({"job": {}})),
        lambda r: parse_plan_request(r({})),  # without ``job`` the whole body is the job (§10.1)
    ],
    ("/api/schedule/enqueue", "post"): [lambda r: parse_enqueue(r({"payload": {}}))],
    ("/api/schedule/claim", "post"): [lambda r: requests.parse_claim(r({}))],
    ("/api/schedule/heartbeat", "post"): [lambda r: requests.parse_heartbeat(r({"job_id": "a"}))],
    ("/api/schedule/complete", "post"): [lambda r: requests.parse_complete(r({"job_id": "a"}))],
    ("/api/schedule/fail", "post"): [lambda r: requests.parse_fail(r({"job_id": "a"}))],
    ("/api/schedule/requeue", "post"): [lambda r: requests.parse_requeue(r({"job_id": "a"}))],
    ("/api/schedule/cancel", "post"): [lambda r: requests.parse_job_id(r({"job_id": "a"}))],
    ("/api/providers/register", "post"): [lambda r: legacy.register(r({"base_url": "stub://x", "meta": {}}), [])],
    ("/api/providers/create", "post"): [lambda r: legacy.create(r({"template_id": "runpod", "meta": {}}), [])],
    ("/api/providers/activate", "post"): [lambda r: legacy.parse_activate(r({"id": "a"}))],
    ("/api/providers/order", "post"): [lambda r: legacy.reorder([], r({"order": []}))],
    ("/api/providers/health", "post"): [lambda r: legacy.parse_health(r({}))],
    ("/api/providers/import", "post"): [lambda r: legacy.plan_import(r({"providers": []}), [])],
    ("/api/gpu/select", "post"): [lambda r: studio_gpu.parse_select(r({"requirements": {}}))],
    ("/api/gpu/advise", "post"): [
        lambda r: studio_gpu.parse_advise(r({"workload": {"requirements": {}, "estimate": {}}}))
    ],
}
READERS[("/api/gpu/policy", "post")] = READERS[("/api/gpu/policy", "put")]


def keys_read(readers: Iterable[Read]) -> set[str]:
    seen: set[str] = set()
    for read in readers:
        read(lambda data, prefix="": Recording(data, seen, prefix))
    return seen


def _resolve(schema: dict[str, Any], components: dict[str, Any]) -> list[dict[str, Any]]:
    """The object schemas a (possibly referenced, possibly nullable) schema allows."""
    if "$ref" in schema:
        return _resolve(components[schema["$ref"].rsplit("/", 1)[-1]], components)
    options = schema.get("anyOf") or schema.get("oneOf")
    if options:
        return [found for option in options for found in _resolve(option, components)]
    if "type" not in schema:
        return [{"type": "object"}]  # any value at all, objects with any keys included
    return [schema] if schema.get("type") == "object" else []


def documented(path: str, schema: dict[str, Any], components: dict[str, Any]) -> bool:
    """Whether ``a.b.c`` is a property path of ``schema``; an open object (no properties) documents any key."""
    head, _, rest = path.partition(".")
    for option in _resolve(schema, components):
        properties = option.get("properties")
        if properties is None:
            return True  # a free-form object such as ``payload`` or ``meta``
        if head in properties and (not rest or documented(rest, properties[head], components)):
            return True
    return False


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    from computeadvisor.app.asgi import create_app
    from computeadvisor.app.bootstrap import memory_adapters
    from computeadvisor.config import Config

    with TestClient(create_app(Config(), adapters=memory_adapters())) as client:
        published: dict[str, Any] = client.get("/schema/openapi.json").json()
    return published


@pytest.mark.parametrize(("path", "method"), sorted(READERS))
def test_every_key_the_parser_reads_is_published(document: dict[str, Any], path: str, method: str) -> None:
    components = document["components"]["schemas"]
    schema = document["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]
    read = keys_read(READERS[(path, method)])
    assert read, "the recording saw no key: the parsers above are not reading these bodies"
    missing = sorted(key for key in read if not documented(key, schema, components))
    assert missing == [], f"{method.upper()} {path} reads keys its published schema lacks: {missing}"


def test_the_recording_catches_an_undocumented_key(document: dict[str, Any]) -> None:
    components = document["components"]["schemas"]
    schema = document["paths"]["/api/schedule/claim"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    read = keys_read([lambda r: r({}).get("no_such_key")])
    assert [key for key in read if not documented(key, schema, components)] == ["no_such_key"]


# -- the rest of what the document says ---------------------------------------------------------------------


def test_the_bearer_token_is_declared_where_the_service_asks_for_it(document: dict[str, Any]) -> None:
    assert document["components"]["securitySchemes"]["bearerToken"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "The token the server was started with (--token); only needed when one is configured.",
    }
    paths = document["paths"]
    always: list[dict[str, list[str]]] = [{"bearerToken": []}]
    debug_only: list[dict[str, list[str]]] = [{}, {"bearerToken": []}]
    for path, method in [("/api/schedule/enqueue", "post"), ("/api/gpu/policy", "put"), ("/api/providers", "post"),
                         ("/api/providers/{provider_id}", "delete"), ("/api/providers/health", "get")]:  # fmt: skip
        assert paths[path][method]["security"] == always, (path, method)
    for path, method in [("/api/compute/advise", "post"), ("/api/gpu/list", "get"), ("/api/providers", "get")]:
        assert paths[path][method]["security"] == debug_only, (path, method)
    for path, method in [("/api/schedule/state", "get"), ("/api/gpu/policy", "get")]:
        assert "security" not in paths[path][method], (path, method)


def test_the_rules_the_parsers_enforce_are_published(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    assert schemas["PolicyBody"]["required"] == ["mode"]
    assert "Mm][Aa][Nn][Uu][Aa][Ll]" in schemas["PolicyBody"]["properties"]["mode"]["pattern"]
    assert schemas["ProviderBody"]["properties"]["id"]["anyOf"][0]["pattern"].endswith("{0,63}\\s*$")
    state = document["paths"]["/api/schedule/state"]["get"]["parameters"]
    assert [p["schema"] for p in state if p["name"] == "limit"] == [{"type": "integer", "minimum": 1, "maximum": 1000}]
    # No GPU on the in-memory host: cpu is the only device id a policy may name.
    device = schemas["PolicyBody"]["properties"]["manual_device"]["anyOf"][0]["pattern"]
    assert device == r"^\s*(?:[Cc][Pp][Uu])\s*$"


@pytest.mark.parametrize(
    ("path", "allow"),
    [("/api/gpu/policy", "GET, OPTIONS, POST, PUT"), ("/api/providers", "GET, OPTIONS, POST"),
     ("/api/providers/x", "DELETE, OPTIONS"), ("/api/schedule/claim", "OPTIONS, POST")],
)  # fmt: skip
def test_options_lists_every_method_of_a_path(client: TestClient, path: str, allow: str) -> None:  # type: ignore[type-arg]
    response = client.options(path)
    assert response.status_code == 204
    assert response.headers["allow"] == allow
