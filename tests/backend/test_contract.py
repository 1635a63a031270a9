"""contract.py against the backend: the columns it writes, the limits it enforces, its job states,
its defaults and the committed API schema (docs/openapi.json)."""

from __future__ import annotations

import json
import time

import numpy as np
import pyogrio
import pytest
import rasterio
from rasterio.transform import from_origin

import contract
from backend import __version__
from backend.errors import OptionError
from backend.geo.output import OutputTarget, ResultWriter
from backend.geo.raster import PixelWindow
from backend.geo.tiling import tile_grid
from backend.models import store
from backend.pipeline import run
from backend.plan import RunStats, SegmentOptions, SegmentPlan
from backend.service import jobs
from tests.conftest import ROOT
from tests.fakes import FakeOracle

OGR_TYPES = {"string": "object", "integer": "int64", "real": "float64"}  # as pyogrio reports them


@pytest.fixture(scope="module")
def features_and_plan(tmp_path_factory):
    path = tmp_path_factory.mktemp("contract") / "r.tif"
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=200,
        height=200,
        count=3,
        dtype="uint8",
        crs="EPSG:32631",
        transform=from_origin(500000, 5000000, 1, 1),
    ) as ds:
        ds.write(np.full((3, 200, 200), 90, np.uint8))
    truth = np.zeros((200, 200), bool)
    truth[40:90, 50:120] = True
    plan = SegmentPlan(str(path), "squares", SegmentOptions(tile_size=128, overlap=16))
    stats = RunStats.for_plan(plan)
    oracle = FakeOracle(truth)
    return list(run(plan, oracle, oracle, stats)), plan, stats


def test_features_carry_exactly_the_contract_fields(features_and_plan):
    features, _, stats = features_and_plan
    assert features
    for feature in features:
        assert list(feature.properties) == list(contract.FEATURE_FIELDS)
    assert {r.status for r in stats.reports} <= set(contract.TILE_STATUSES)


def test_the_geopackage_columns_have_the_contract_types(features_and_plan, tmp_path):
    features, plan, stats = features_and_plan
    out = tmp_path / "out.gpkg"
    target = OutputTarget(out, "objects")
    target.check()
    writer = ResultWriter(target, plan.crs, plan.georef)
    for feature in features:
        writer.add(feature)
    assert writer.finish(stats.reports) == out
    info = pyogrio.read_info(out, layer="objects")
    assert list(info["fields"]) == list(contract.FEATURE_FIELDS)
    assert [str(t) for t in info["dtypes"]] == [OGR_TYPES[t] for t in contract.FEATURE_FIELDS.values()]


def test_tiling_limits_are_the_contract_ones():
    area = PixelWindow(0, 0, 5000, 5000)
    assert tile_grid(area, 5000, 5000, contract.TILE_SIZE_MAX, contract.max_overlap(contract.TILE_SIZE_MAX))
    for size, overlap in [
        (contract.TILE_SIZE_MAX + 1, 0),
        (contract.TILE_SIZE_MIN - 1, 0),
        (contract.TILE_SIZE_DEFAULT, contract.max_overlap(contract.TILE_SIZE_DEFAULT) + 1),
    ]:
        with pytest.raises(OptionError) as err:
            tile_grid(area, 5000, 5000, size, overlap)
        assert (err.value.code, err.value.params) == contract.tiling_problem(size, overlap)


def test_job_states_and_defaults():
    assert (jobs.QUEUED, jobs.RUNNING, jobs.DONE, jobs.FAILED, jobs.CANCELLED) == contract.JOB_STATES
    assert set(jobs.FINISHED) == set(contract.FINAL_STATES) < set(contract.JOB_STATES)
    assert store.DEFAULT_PROMPTER == contract.DEFAULT_PROMPTER and contract.DEFAULT_PROMPTER in store.KNOWN
    assert store.DEFAULT_SEGMENTER == contract.DEFAULT_SEGMENTER and contract.DEFAULT_SEGMENTER in store.KNOWN
    assert store.KNOWN[contract.DEFAULT_PROMPTER].kind == "prompter"
    assert store.KNOWN[contract.DEFAULT_SEGMENTER].kind == "segmenter"


def test_the_committed_api_schema_says_the_same():
    schema = json.loads((ROOT / "docs" / "openapi.json").read_text(encoding="utf-8"))["components"]["schemas"]
    request = schema["JobRequest"]["properties"]
    assert (request["tile_size"]["minimum"], request["tile_size"]["maximum"], request["tile_size"]["default"]) == (
        contract.TILE_SIZE_MIN,
        contract.TILE_SIZE_MAX,
        contract.TILE_SIZE_DEFAULT,
    )
    assert (request["overlap"]["maximum"], request["overlap"]["default"]) == (
        contract.OVERLAP_MAX,
        contract.OVERLAP_DEFAULT,
    )
    assert request["query"]["maxLength"] == contract.QUERY_MAX_LENGTH
    assert request["min_area_px"]["default"] == contract.MIN_AREA_PX_DEFAULT
    assert tuple(schema["JobStatus"]["properties"]["state"]["enum"]) == contract.JOB_STATES
    assert tuple(schema["TileReportBody"]["properties"]["status"]["enum"]) == contract.TILE_STATUSES


def test_the_version_is_the_one_in_metadata_txt():
    text = (ROOT / "metadata.txt").read_text(encoding="utf-8")
    assert f"\nversion={__version__}\n" in text


def _raised_codes() -> list[tuple[str, str, set[str] | None]]:
    """``(where, code, keyword parameters)`` of every backend error raised with a literal code (None: **spread)."""
    import ast

    found = []
    for path in sorted((ROOT / "backend").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id.endswith("Error")):
                continue
            code_nodes = [k.value for k in node.keywords if k.arg == "code"] or node.args[1:2]
            for code_node in code_nodes:
                branches = [code_node.body, code_node.orelse] if isinstance(code_node, ast.IfExp) else [code_node]
                for branch in branches:
                    if isinstance(branch, ast.Constant) and isinstance(branch.value, str):
                        names = {k.arg for k in node.keywords if k.arg not in (None, "code")}
                        spread = any(k.arg is None for k in node.keywords)
                        found.append(
                            (f"{path.relative_to(ROOT)}:{node.lineno}", branch.value, None if spread else names)
                        )
    return found


def test_every_error_code_is_in_the_contract_with_its_parameters():
    from backend import errors

    raised = _raised_codes()
    assert len(raised) > 40  # the scan sees the raise sites
    for where, code, names in raised:
        assert code in contract.ERROR_CODES, f"{where}: code {code!r} is not in contract.ERROR_CODES"
        if names is not None:
            missing = set(contract.ERROR_CODES[code]) - names
            assert not missing, f"{where}: {code!r} is raised without {sorted(missing)}"
    defaults = {c.code for c in vars(errors).values() if isinstance(c, type) and issubclass(c, errors.UserError)}
    assert defaults <= set(contract.ERROR_CODES)
    # and no code is listed that nothing sends: each appears as a string in the backend or the contract's checks
    sources = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "backend").rglob("*.py"))
    head, _, rest = (ROOT / "contract.py").read_text(encoding="utf-8").partition("# --- errors")
    sources += head + rest.partition("# --- requests")[2]  # all but the list itself
    unused = [c for c in contract.ERROR_CODES if f'"{c}"' not in sources]
    assert not unused, f"listed in contract.ERROR_CODES but never sent: {unused}"


def test_a_failed_job_says_why_as_a_code(tmp_path):
    from backend.errors import MissingWeightsError

    def refuse(prompter_path, segmenter_path):
        raise MissingWeightsError("no weights", "missing_weights", name="sam2.1-s", kind="segmenter", command="x")

    def blow_up(prompter_path, segmenter_path):
        raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")

    path = tmp_path / "r.tif"
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=64,
        height=64,
        count=3,
        dtype="uint8",
        crs="EPSG:32631",
        transform=from_origin(500000, 4000000, 1, 1),
    ) as dst:
        dst.write(np.full((3, 64, 64), 100, np.uint8))
    for loader, code, params in ((refuse, "missing_weights", {"name", "kind"}), (blow_up, "out_of_memory", set())):
        queue = jobs.JobQueue(jobs.EngineConfig(), loader=loader)
        queue.start()
        try:
            job = jobs.Job(SegmentPlan(str(path), "x", SegmentOptions(tile_size=64, overlap=0)), {}, ("p", "s"))
            queue.submit(job)
            deadline = time.monotonic() + 30
            while job.status()["state"] not in contract.FINAL_STATES:
                assert time.monotonic() < deadline
                time.sleep(0.02)
            status = job.status()
            assert status["state"] == "failed" and status["error_code"] == code
            assert params <= set(status["error_params"]) and status["error"]
        finally:
            queue.stop()


REQUEST_TYPES = [
    (contract.JobSpec, "JobRequest"),
    (contract.PromptSpec, "PromptRequestBody"),
    (contract.EncodeSpec, "EncodeRequestBody"),
]


def _plain(value):
    return [_plain(v) for v in value] if isinstance(value, (list, tuple)) else value


@pytest.mark.parametrize(("spec", "body"), REQUEST_TYPES)
def test_each_http_body_has_its_request_types_fields_and_defaults(spec, body):
    import dataclasses

    from backend.service import schemas

    model = getattr(schemas, body)
    spec_fields = {f.name: f for f in dataclasses.fields(spec)}
    assert set(model.model_fields) == set(spec_fields)
    for name, field in model.model_fields.items():
        ours = spec_fields[name]
        if ours.default is dataclasses.MISSING:
            assert field.is_required(), name
        else:
            assert _plain(field.get_default(call_default_factory=True)) == _plain(ours.default), name


SOUND = {
    contract.JobSpec: dict(raster="/r.tif", query="roofs", bands=(4, 3, 2), tile_size=512, overlap=64),
    contract.PromptSpec: dict(raster="/r.tif", points=((1.0, 2.0, 1),), bands=(2,), pixel_coords=True),
    contract.EncodeSpec: dict(raster="/r.tif", bounds=(0.0, 0.0, 10.0, 10.0), tile_size=256, overlap=0),
}
UNSOUND = [  # (type, changes, the code the contract names) - each also refused by the server's body
    (contract.JobSpec, dict(tile_size=32), "bad_tile_size"),
    (contract.JobSpec, dict(overlap=400), "bad_overlap"),
    (contract.JobSpec, dict(query=" "), "empty_query"),
    (contract.JobSpec, dict(query="x" * 2001), "query_too_long"),
    (contract.JobSpec, dict(bands=(1, 2)), "bad_bands"),
    (contract.JobSpec, dict(bounds=(1.0, 0.0, 0.0, 1.0)), "bad_bounds"),
    (contract.JobSpec, dict(strategy="some"), "bad_strategy"),
    (contract.JobSpec, dict(max_tiles=0), "bad_max_tiles"),
    (contract.JobSpec, dict(min_area_px=-1.0), "bad_min_area"),
    (contract.JobSpec, dict(raster="x" * 5000), "bad_request"),
    (contract.PromptSpec, dict(points=((1.0, 2.0, 2),)), "bad_prompt"),
    (contract.PromptSpec, dict(points=((1.0, 2.0, 1),) * 65), "too_many_points"),
    (contract.EncodeSpec, dict(bounds=(0.0, 0.0, 10.0)), "bad_bounds"),
]


@pytest.mark.parametrize("spec", list(SOUND))
def test_a_sound_request_passes_both_sides_and_survives_json(spec):
    from backend.service import schemas

    model = {contract.JobSpec: schemas.JobRequest, contract.PromptSpec: schemas.PromptRequestBody}.get(
        spec, schemas.EncodeRequestBody
    )
    request = spec(**SOUND[spec])
    assert request.problem() is None
    assert spec.from_json(request.to_json()) == request
    assert spec.from_json(json.loads(json.dumps(model.model_validate(request.to_json()).model_dump()))) == request


@pytest.mark.parametrize(("spec", "change", "code"), UNSOUND)
def test_an_unsound_request_is_named_by_the_contract_and_refused_by_the_server(spec, change, code, features_and_plan):
    from fastapi.testclient import TestClient

    from backend.service.server import ServerConfig, create_app

    raster = features_and_plan[1].raster
    request = spec(**(SOUND[spec] | {"raster": raster, "bands": None} | change))
    assert request.problem() is not None and request.problem()[0] == code
    assert code in contract.ERROR_CODES
    route = {contract.JobSpec: "/jobs", contract.PromptSpec: "/prompt"}.get(spec, "/encode")
    client = TestClient(create_app(ServerConfig(token="t")))  # no lifespan: nothing runs, requests are checked
    answer = client.post(route, json=request.to_json(), headers={"Authorization": "Bearer t"})
    assert answer.status_code == 422, answer.text
    assert answer.json()["code"] in (code, "invalid_request"), answer.json()


def test_a_field_the_request_type_lacks_is_refused():
    with pytest.raises(ValueError, match="tile_sise"):
        contract.JobSpec.from_json({"raster": "/r.tif", "query": "roofs", "tile_sise": 512})


def test_every_source_a_feature_names_is_in_the_contract(features_and_plan):
    from backend.models.finder import Sam3Finder
    from backend.models.prompter import Prompter
    from backend.prompt import segment_prompt
    from tests.fakes import FakeBoxSegmenter

    features, plan, _ = features_and_plan
    box = (500050.0, 4999900.0, 500080.0, 4999950.0)  # inside the 200 x 200 m raster
    with plan.source as source:
        click = segment_prompt(source, contract.PromptSpec(raster=plan.raster, box=box), FakeBoxSegmenter())
    made = {f.properties["source"] for f in features} | {f.properties["source"] for f in click.features}
    assert made == {"query", "click"}
    assert made | {Prompter.source, Sam3Finder.source} == set(contract.SOURCES)
