"""Schemathesis fuzzes the REAL server from the OpenAPI schema it serves: no request, valid or not, may get a
5xx, responses must match the schema, and invalid input must be refused. Downloads (POST /models/{name}/pull)
are left out: they would reach for the network."""

from __future__ import annotations

import json

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.backend.server_harness import start_server, tiny_model_args
from tests.conftest import ROOT

pytestmark = pytest.mark.sweep  # schemathesis against the real server

COMMITTED = json.loads((ROOT / "docs" / "openapi.json").read_text())
CASES = []  # (method, path, mode); negative only where a value can be wrong (a string path part cannot)
for _path, _item in sorted(COMMITTED["paths"].items()):
    for _method, _op in _item.items():
        if (_method, _path) == ("post", "/models/{name}/pull"):
            continue
        CASES.append((_method.upper(), _path, GenerationMode.POSITIVE))
        if _op.get("requestBody") or any(p["in"] == "query" for p in _op.get("parameters", [])):
            CASES.append((_method.upper(), _path, GenerationMode.NEGATIVE))


@schemathesis.serializer("image/tiff")
def _tiff_body(ctx, value) -> bytes:
    """An upload's body as it is generated (bytes for a binary string): what a client streams to POST /rasters."""
    return value if isinstance(value, bytes) else json.dumps(value).encode()


@pytest.fixture(scope="module")
def live(tiny_models, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("fuzz")
    args = [*tiny_model_args(tiny_models), "--uploads-mb", "1", "--uploads-dir", str(tmp / "uploads")]
    server = start_server(args, tmp)  # uploads on: the fuzzer's bodies reach the checks of an upload
    yield server
    server.stop()


@pytest.fixture(scope="module")
def api_schema(live):
    headers = {"Authorization": f"Bearer {live.token}"}
    schema = schemathesis.openapi.from_url(f"{live.url}/openapi.json", headers=headers, timeout=30)
    schema.config.update(base_url=live.url, headers=headers, request_timeout=30)
    return schema


@pytest.mark.parametrize("method,path,mode", CASES, ids=[f"{m} {p} {g.value}" for m, p, g in CASES])
def test_no_request_gets_a_server_error(api_schema, live, method, path, mode):
    operation = api_schema[path][method]
    headers = {"Authorization": f"Bearer {live.token}"}

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True, database=None)
    def check(case):
        # a request can match the schema and still name a missing file: the contract answers 422 for that
        response = case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])
        assert response.status_code < 500, response.text

    check()
    assert live.proc.poll() is None
