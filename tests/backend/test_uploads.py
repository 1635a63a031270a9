"""A team server takes an analyst's own imagery (``POST /rasters``): the REAL server, bound to another loopback
address with a data root that does not hold the file, two tokens, and the tiny models. An upload is searched and
clicked by its token only, is gone after its job, and nothing of a refused or cut-off upload stays."""

from __future__ import annotations

import http.client
import socket
import time

import numpy as np
import pytest
import rasterio

from tests.backend.server_harness import start_server, tiny_model_args, wait_for

from .test_server_exposure import small_tif

pytestmark = pytest.mark.live  # the real server, started as a subprocess

RIVER = "gorinchem_river_0p25m_epsg28992.tif"
SECOND_TOKEN = "second-analyst-token-0123456789"
MAX_MB = 2


@pytest.fixture(scope="module")
def team(tiny_models, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("team")
    (tmp / "data").mkdir()
    (tmp / "tokens").write_text(f"# one token an analyst\n{SECOND_TOKEN}\n")
    args = [*tiny_model_args(tiny_models), "--host", "127.0.0.2", "--data-root", str(tmp / "data")]
    args += ["--tokens-file", str(tmp / "tokens"), "--uploads-mb", str(MAX_MB), "--uploads-dir", str(tmp / "up")]
    live = start_server(args, tmp / "logs")
    live.folder = tmp / "up" / f"think2map-uploads-{live.line['pid']}"
    yield live
    live.stop()


def upload(client, path, **params):
    data = path.read_bytes() if hasattr(path, "read_bytes") else path
    return client.post("/rasters", content=data, params=params, headers={"Content-Type": "image/tiff"})


def files_in(folder) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if p.is_file())


def test_a_local_file_is_uploaded_searched_and_gone_after_its_job(team, shared_data):
    river = shared_data / RIVER
    with team.client() as client:
        refused = client.post("/jobs", json={"raster": str(river), "query": "the river"})
        assert refused.status_code == 422 and refused.json()["code"] == "raster_not_found"  # not in its data root
        r = upload(client, river)
        assert r.status_code == 201, r.text
        made = r.json()
        with rasterio.open(river) as ds:
            assert (made["width"], made["height"], made["bands"]) == (ds.width, ds.height, ds.count)
        assert made["raster"] == f"upload:{made['id']}" and made["bytes"] == river.stat().st_size
        assert files_in(team.folder) == [f"{made['id']}.tif"] and client.get("/health").json()["uploads"]["count"] == 1
        job = client.post("/jobs", json={"raster": made["raster"], "query": "the river"})
        assert job.status_code == 201, job.text
        status = wait_for(client, job.json()["id"])
        assert status["state"] == "done" and status["features"] > 0, status
        features = client.get(f"/jobs/{job.json()['id']}/features").json()["features"]
        with rasterio.open(river) as ds:  # polygons in the file's CRS, over it
            left, bottom, right, top = ds.bounds
        for feature in features:
            xs = [x for ring in feature["geometry"]["coordinates"] for x, _ in ring]
            assert left - 1 <= min(xs) and max(xs) <= right + 1
        # gone after its job: from the folder, from the count, and for the next request
        assert files_in(team.folder) == [] and client.get("/health").json()["uploads"]["count"] == 0
        again = client.post("/jobs", json={"raster": made["raster"], "query": "the river"})
        assert again.status_code == 422 and again.json()["code"] == "raster_not_found"


def test_another_token_can_neither_see_nor_use_an_upload(team, tmp_path):
    tif = small_tif(tmp_path / "mine.tif")
    with team.client() as mine, team.client(SECOND_TOKEN) as theirs:
        made = upload(mine, tif, keep="true").json()
        unknown = "upload:" + "0" * 32
        answers = {}
        for who, client, raster in (("theirs", theirs, made["raster"]), ("unknown", mine, unknown)):
            job = client.post("/jobs", json={"raster": raster, "query": "roofs"})
            prompt = client.post("/prompt", json={"raster": raster, "points": [[500010, 4999990, 1]]})
            gone = client.delete(f"/rasters/{raster.split(':')[1]}")
            answers[who] = [(r.status_code, r.json()["code"], r.json()["detail"].replace(raster, "<r>")) for r in
                            (job, prompt, gone)]  # fmt: skip
        assert answers["theirs"] == answers["unknown"]  # nothing tells whether it exists
        assert {a[:2] for a in answers["theirs"]} == {(422, "raster_not_found")}
        # ... nor its path, named directly
        (path,) = [p for p in team.folder.rglob("*.tif")]
        for client in (theirs, mine):  # not even by its owner: only as upload:<id>
            direct = client.post("/jobs", json={"raster": str(path), "query": "x"})
            assert direct.status_code == 422 and direct.json()["code"] == "raster_not_found"
        # its owner clicks on it (a kept upload outlives its prompts), then deletes it
        prompt = mine.post("/prompt", json={"raster": made["raster"], "points": [[500010, 4999990, 1]]})
        assert prompt.status_code == 200, prompt.text
        assert mine.delete(f"/rasters/{made['id']}").json() == {"id": made["id"], "deleted": True}
        assert files_in(team.folder) == []


def test_what_is_not_a_plain_geotiff_is_refused_and_nothing_stays(team, tmp_path):
    small_tif(tmp_path / "inside.tif")
    vrt = '<VRTDataset rasterXSize="4" rasterYSize="4"><VRTRasterBand dataType="Byte" band="1"><SimpleSource>'
    vrt += f"<SourceFilename>{tmp_path / 'inside.tif'}</SourceFilename></SimpleSource></VRTRasterBand></VRTDataset>"
    png = tmp_path / "x.png"
    with rasterio.open(png, "w", driver="PNG", width=8, height=8, count=1, dtype="uint8") as ds:
        ds.write(np.zeros((1, 8, 8), np.uint8))
    with team.client() as client:
        for body in (vrt.encode(), png.read_bytes(), b"II*\x00" + b"\x00" * 100, b""):
            r = upload(client, body)
            assert r.status_code == 422 and r.json()["code"] == "bad_upload", r.text
    assert files_in(team.folder) == []


def raw_upload(team, head_length: int, body: bytes, close_early: bool) -> bytes:
    """An upload by hand: its Content-Length, then ``body``; cut off by closing when ``close_early``."""
    with socket.create_connection((team.line["host"], team.line["port"]), timeout=10) as s:
        head = (
            f"POST /rasters HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {team.token}\r\n"
            f"Content-Type: image/tiff\r\nContent-Length: {head_length}\r\n\r\n"
        )
        s.sendall(head.encode() + body)
        if close_early:
            s.shutdown(socket.SHUT_WR)
        try:
            answer = http.client.HTTPResponse(s)
            answer.begin()
            return f"{answer.status} ".encode() + answer.read()
        except (OSError, http.client.HTTPException):
            return b""


def test_an_upload_over_the_cap_is_refused_before_it_is_read_and_a_cut_one_leaves_nothing(team, shared_data):
    answer = raw_upload(team, MAX_MB * 2**20 + 1, b"", close_early=False)
    assert answer.startswith(b"413 ") and b'"upload_too_large"' in answer and b'"max_mb":2' in answer
    half = (shared_data / RIVER).read_bytes()[:50_000]
    raw_upload(team, 147_923, half, close_early=True)  # the client goes away mid-file
    deadline = time.monotonic() + 10
    while files_in(team.folder) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert files_in(team.folder) == []
    with team.client() as client:
        assert client.get("/health").json()["uploads"]["count"] == 0


def test_a_server_without_uploads_says_so_in_one_sentence(tiny_models, tmp_path):
    (tmp_path / "data").mkdir()
    live = start_server([*tiny_model_args(tiny_models), "--host", "127.0.0.2", "--data-root", str(tmp_path / "data")],
                        tmp_path / "logs")  # fmt: skip
    try:
        with live.client() as client:
            r = upload(client, small_tif(tmp_path / "a.tif"))
            assert r.status_code == 403 and r.json()["code"] == "uploads_off"
            assert r.json()["detail"].count(". ") == 0 and "--uploads-mb" in r.json()["detail"]
            assert client.get("/health").json()["uploads"]["enabled"] is False
    finally:
        live.stop()
