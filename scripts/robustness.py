#!/usr/bin/env python3
"""Every bad input we know of, through the command line and the HTTP server, as a user would send it.

    .venv/bin/python scripts/robustness.py                      # print the table; exit 1 if any rule is broken
    .venv/bin/python scripts/robustness.py --write docs/robustness.md

The rules: no traceback, no 5xx answer, no file destroyed (every file is hashed before and after), and the exit
code says what kind of problem it was: 2 bad input, 3 a model missing or unusable, 0 for inputs that are
unusual but fine. Real subprocesses, the real server on loopback, tiny random models for the runs that need
models (their answers are forced, see ``--force-answer``), and the rasters of ../shared/data when present.
Its length is the list of inputs itself.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np
import rasterio
import rasterio.windows
from rasterio.control import GroundControlPoint
from rasterio.transform import from_origin

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.backend.server_harness import FORCED_ANSWER, start_server, wait_for  # noqa: E402
from tests.locations import SHARED_DATA as DATA  # noqa: E402

GEO = {"crs": "EPSG:32631", "transform": from_origin(500000, 5000000, 0.5, 0.5)}


@dataclass
class Case:
    name: str
    cli: list | None  # arguments after `segment`, or None: server only
    body: dict | None  # the POST /jobs body, or None: CLI only
    expect_cli: int = 2
    expect_http: int = 422
    models: bool = False  # needs the tiny models (a run that gets past the checks)
    expect_state: str = "done"  # how an accepted job (201) must end
    results: dict = field(default_factory=dict)


def tif(path: Path, data: np.ndarray, **profile) -> Path:
    count, h, w = data.shape
    driver = profile.pop("driver", "GTiff")
    with rasterio.open(path, "w", driver=driver, width=w, height=h, count=count, dtype=data.dtype, **profile) as ds:
        ds.write(data)
    return path


def build_inputs(tmp: Path) -> dict[str, Path]:
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 255, (3, 300, 300), dtype=np.uint8)
    (tmp / "folder").mkdir()
    (tmp / "notes.tif").write_text("this is not an image")
    (tmp / "broken.pt").write_bytes(os.urandom(4096))
    blocker = tmp / "a-file"
    blocker.write_text("x")
    parcels = tmp / "work.gpkg"
    import geopandas as gpd
    import shapely

    gpd.GeoDataFrame(
        {"name": ["a"]}, geometry=[shapely.box(500000, 4999900, 500010, 4999910)], crs="EPSG:32631"
    ).to_file(parcels, layer="parcels")
    exists = tmp / "exists.geojson"
    exists.write_text('{"type": "FeatureCollection", "features": []}')
    gcps = [GroundControlPoint(r, c, 500000 + c * 0.5, 5000000 - r * 0.5) for r in (0, 300) for c in (0, 300)]
    nan = rng.random((3, 300, 300)).astype(np.float32)
    nan[:, :100] = np.nan
    world = tmp / "world.xml"  # a GDAL TMS basemap of the whole world at zoom 19: 134,217,728² px
    world.write_text(
        '<GDAL_WMS><Service name="TMS"><ServerUrl>http://127.0.0.1:9/${z}/${x}/${y}.png</ServerUrl></Service>'
        "<DataWindow><UpperLeftX>-20037508.34</UpperLeftX><UpperLeftY>20037508.34</UpperLeftY>"
        "<LowerRightX>20037508.34</LowerRightX><LowerRightY>-20037508.34</LowerRightY><TileLevel>19</TileLevel>"
        "<TileCountX>1</TileCountX><TileCountY>1</TileCountY><YOrigin>top</YOrigin></DataWindow>"
        "<Projection>EPSG:3857</Projection><BlockSizeX>256</BlockSizeX><BlockSizeY>256</BlockSizeY>"
        "<BandsCount>3</BandsCount></GDAL_WMS>"
    )
    huge_vrt = tmp / "huge.vrt"  # 1,000,000² px over a 300² px file
    huge_vrt.write_text(
        '<VRTDataset rasterXSize="1000000" rasterYSize="1000000"><SRS>EPSG:32631</SRS>'
        "<GeoTransform>500000, 0.5, 0, 5000000, 0, -0.5</GeoTransform>"
        + "".join(
            f'<VRTRasterBand dataType="Byte" band="{b}"><SimpleSource><SourceFilename relativeToVRT="1">ok.tif'
            f"</SourceFilename><SourceBand>{b}</SourceBand></SimpleSource></VRTRasterBand>"
            for b in (1, 2, 3)
        )
        + "</VRTDataset>"
    )
    sparse = tmp / "sparse.tif"  # 30,000² px of nodata but for one 10×10 px patch: a coarse overview misses it
    sparse_profile = dict(driver="GTiff", width=30_000, height=30_000, count=3, dtype="uint8", nodata=0, tiled=True,
                          blockxsize=512, blockysize=512, compress="deflate", SPARSE_OK=True, **GEO)  # fmt: skip
    with rasterio.open(sparse, "w", **sparse_profile) as dst:
        dst.write(np.full((3, 10, 10), 200, np.uint8), window=rasterio.windows.Window(17_003, 21_007, 10, 10))
    truncated = tmp / "truncated.tif"  # the first 100 kB: the header reads, most blocks do not
    if (DATA / "gorinchem_river_0p25m_epsg28992.tif").is_file():
        truncated.write_bytes((DATA / "gorinchem_river_0p25m_epsg28992.tif").read_bytes()[:100_000])
    return {
        "world": world,
        "huge_vrt": huge_vrt,
        "sparse": sparse,
        "truncated": truncated,
        "ok": tif(tmp / "ok.tif", rgb, **GEO),
        "nocrs": tif(tmp / "nocrs.tif", rgb, transform=from_origin(0, 300, 1, 1)),
        "png": tif(tmp / "photo.png", rgb, driver="PNG"),
        "crs_only": tif(tmp / "crs_only.tif", rgb, crs="EPSG:32631"),
        "gcps": tif(tmp / "gcps.tif", rgb, crs="EPSG:32631", gcps=gcps),
        "empty8": tif(tmp / "empty8.tif", np.zeros((3, 64, 64), np.uint8), nodata=0, **GEO),
        "empty16": tif(tmp / "empty16.tif", np.zeros((1, 64, 64), np.uint16), nodata=0, **GEO),
        "pan16": tif(tmp / "pan16.tif", rng.integers(0, 4000, (1, 300, 300), dtype=np.uint16), **GEO),
        "rgbn": tif(tmp / "rgbn.tif", rng.integers(0, 255, (4, 300, 300), dtype=np.uint8), **GEO),
        "float_nan": tif(tmp / "float_nan.tif", nan, **GEO),
        "complex": tif(tmp / "complex.tif", np.ones((1, 32, 32), np.complex64), **GEO),
        "gpkg_raster": tif(tmp / "ortho.gpkg", rgb, driver="GPKG", **GEO),
        "folder": tmp / "folder",
        "notes": tmp / "notes.tif",
        "broken": tmp / "broken.pt",
        "blocker": blocker,
        "parcels": parcels,
        "exists": exists,
        "geojson": DATA / "atlanta_buildings.geojson",
        "big": DATA / "gorinchem_river_0p25m_epsg28992.tif",
    }


def cases(p: dict[str, Path], out: Path) -> list[Case]:
    ok, o = str(p["ok"]), str(out / "o.gpkg")
    body = {"raster": ok, "query": "roofs"}
    return [
        Case("missing file", [out / "nope.tif", "roofs", "-o", o], {**body, "raster": str(out / "nope.tif")}),
        Case("a folder as the raster", [p["folder"], "roofs", "-o", o], {**body, "raster": str(p["folder"])}),
        Case("a text file named .tif", [p["notes"], "roofs", "-o", o], {**body, "raster": str(p["notes"])}),
        Case("a vector file as the raster", [p["geojson"], "roofs", "-o", o], {**body, "raster": str(p["geojson"])}),
        Case("GeoTIFF without CRS", [p["nocrs"], "roofs", "-o", o], {**body, "raster": str(p["nocrs"])}),
        Case("PNG without georeference", [p["png"], "roofs", "-o", o], {**body, "raster": str(p["png"])}),
        Case("CRS but no geotransform", [p["crs_only"], "roofs", "-o", o], {**body, "raster": str(p["crs_only"])}),
        Case(
            "only ground control points (runs)",
            [p["gcps"], "roofs", "-o", out / "gcps.gpkg"],
            {**body, "raster": str(p["gcps"])},
            0,
            201,
            True,
        ),
        Case("8-bit, every pixel nodata", [p["empty8"], "roofs", "-o", o], {**body, "raster": str(p["empty8"])}),
        Case("16-bit, every pixel nodata", [p["empty16"], "roofs", "-o", o], {**body, "raster": str(p["empty16"])}),
        Case(
            "16-bit single band (runs)",
            [p["pan16"], "roofs", "-o", out / "pan.gpkg"],
            {**body, "raster": str(p["pan16"])},
            0,
            201,
            True,
        ),
        Case(
            "4 bands (runs)",
            [p["rgbn"], "roofs", "-o", out / "rgbn.gpkg"],
            {**body, "raster": str(p["rgbn"])},
            0,
            201,
            True,
        ),
        Case(
            "float with NaN (runs)",
            [p["float_nan"], "roofs", "-o", out / "nan.gpkg"],
            {**body, "raster": str(p["float_nan"])},
            0,
            201,
            True,
        ),
        Case("complex numbers", [p["complex"], "roofs", "-o", o], {**body, "raster": str(p["complex"])}),
        Case("empty query", [ok, "", "-o", o], {**body, "query": ""}),
        Case("blank query", [ok, "   ", "-o", o], {**body, "query": "   "}),
        Case("2,001-character query", [ok, "x" * 2001, "-o", o], {**body, "query": "x" * 2001}),
        Case("tile size 10", [ok, "roofs", "-o", o, "--tile-size", "10"], {**body, "tile_size": 10}),
        Case("tile size 5000", [ok, "roofs", "-o", o, "--tile-size", "5000"], {**body, "tile_size": 5000}),
        Case("overlap over half a tile", [ok, "roofs", "-o", o, "--overlap", "500"], {**body, "overlap": 500}),
        Case("negative overlap", [ok, "roofs", "-o", o, "--overlap", "-1"], {**body, "overlap": -1}),
        Case("band 0", [ok, "roofs", "-o", o, "--bands", "0"], {**body, "bands": [0]}),
        Case("band 5 of 3", [ok, "roofs", "-o", o, "--bands", "5"], {**body, "bands": [5]}),
        Case("two bands", [ok, "roofs", "-o", o, "--bands", "1,2"], {**body, "bands": [1, 2]}),
        Case(
            "area outside the raster",
            [ok, "roofs", "-o", o, "--area", "0", "0", "1", "1"],
            {**body, "bounds": [0, 0, 1, 1]},
        ),
        Case(
            "area with min > max",
            [ok, "roofs", "-o", o, "--area", "10", "10", "0", "0"],
            {**body, "bounds": [10, 10, 0, 0]},
        ),
        Case("tile limit 0", [ok, "roofs", "-o", o, "--max-tiles", "0"], {**body, "max_tiles": 0}),
        Case(
            "too many tiles for the limit",
            [p["big"], "roofs", "-o", o, "--tile-size", "64", "--overlap", "32"],
            {**body, "raster": str(p["big"]), "tile_size": 64, "overlap": 32},
        ),
        Case("negative minimum area", [ok, "roofs", "-o", o, "--min-area", "-5"], {**body, "min_area_px": -5}),
        Case(
            "overview zoom under 1",
            [ok, "roofs", "-o", o, "--strategy", "overview", "--overview-zoom", "0.5"],
            {**body, "strategy": "overview", "overview_zoom": 0.5},
        ),
        Case("negative tile sample step", [ok, "roofs", "-o", o, "--sample-step", "-1"], {**body, "sample_step": -1}),
        Case(
            "unknown prompter name",
            [ok, "roofs", "-o", o, "--prompter", "gpt-9"],
            {**body, "prompter": "gpt-9"},
            3,
            422,
        ),
        Case(
            "prompter path that does not exist",
            [ok, "roofs", "-o", o, "--prompter", "/no/such/model"],
            {**body, "prompter": "/no/such/model"},
            3,
            422,
        ),
        Case(
            "a prompter given as segmenter",
            [ok, "roofs", "-o", o, "--segmenter", "think2seg-rs-3b"],
            {**body, "segmenter": "think2seg-rs-3b"},
            3,
            422,
        ),
        # The server checks the raster and finds the file, then loads models on its worker: the job fails.
        Case(
            "a broken checkpoint",
            [ok, "roofs", "-o", o, "--segmenter", p["broken"]],
            {**body, "segmenter": str(p["broken"])},
            3,
            201,
            expect_state="failed",
        ),
        Case(
            "default models not downloaded",
            [ok, "roofs", "-o", o, "--prompter", "think2seg-rs-3b", "--segmenter", "sam2.1-s"],
            {**body, "prompter": "think2seg-rs-3b"},
            3,
            409,
        ),
        Case("output .shp", [ok, "roofs", "-o", out / "o.shp"], None),
        Case("output in a folder that cannot exist", [ok, "roofs", "-o", p["blocker"] / "o.gpkg"], None),
        Case(
            "output onto the input raster (GeoPackage)",
            [p["gpkg_raster"], "roofs", "-o", p["gpkg_raster"], "--overwrite"],
            None,
        ),
        Case("output exists, no --overwrite", [ok, "roofs", "-o", p["exists"]], None),
        Case("output GeoPackage with other layers (runs)", [ok, "roofs", "-o", p["parcels"]], None, 0, 0, True),
        Case("device tpu", [ok, "roofs", "-o", out / "dev.gpkg", "--device", "tpu"], None),
        Case("device cuda on a machine without GPU", [ok, "roofs", "-o", out / "dev.gpkg", "--device", "cuda"], None),
        # Issue 27's findings that a job or a command line can send (the others: docs/robustness.md lists their tests).
        Case("minimum area NaN", [ok, "roofs", "-o", o, "--min-area", "nan"], None),
        Case("object size 0", [ok, "roofs", "-o", o, "--object-size", "0"], {**body, "object_size_px": 0}),
        Case("object size infinite", [ok, "roofs", "-o", o, "--object-size", "inf"], None),
        Case(
            "a basemap of the whole world (GDAL TMS)",
            [p["world"], "roofs", "-o", o],
            {**body, "raster": str(p["world"])},
        ),
        Case("a 1,000,000² px VRT", [p["huge_vrt"], "roofs", "-o", o], {**body, "raster": str(p["huge_vrt"])}),
        Case(
            "a 10×10 px patch in 30,000² px of nodata (runs)",
            [p["sparse"], "roofs", "-o", out / "sparse.gpkg", "--max-tiles", "4000"],
            {**body, "raster": str(p["sparse"]), "max_tiles": 4000},
            0,
            201,
            True,
        ),
        Case("a truncated GeoTIFF", [p["truncated"], "roofs", "-o", o], {**body, "raster": str(p["truncated"])}),
        Case(
            "find mode with a long question",
            [
                ok,
                "which roofs were built before the new bridge over the river, and which after it?",
                "-o",
                o,
                "--mode",
                "find",
            ],
            {
                **body,
                "query": "which roofs were built before the new bridge over the river, and which after it?",
                "mode": "find",
            },
        ),  # fmt: skip
        Case("a layer name GeoPackage cannot hold", [ok, "roofs", "-o", o, "--layer", "../../x"], None),
        Case(
            "output onto the input raster named GPKG:path:table",
            [f"GPKG:{p['gpkg_raster']}:ortho", "roofs", "-o", p["gpkg_raster"], "--overwrite"],
            None,
        ),
        Case("malformed JSON", None, {"__raw__": b'{"raster": '}),
        Case("wrong types", None, {"raster": 5, "query": ["x"], "tile_size": "big"}),
        Case("body over 1 MB", None, {"raster": "x" * (2 << 20), "query": "roofs"}, expect_http=413),
    ]


def hashes(folder: Path) -> dict[str, str]:
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.rglob("*") if p.is_file()}


def run_cli(case: Case, tiny: dict, env: dict) -> dict:
    args = [*case.cli]
    if case.models:
        args += ["--prompter", tiny["prompter"], "--segmenter", tiny["sam2"], "--force-answer", FORCED_ANSWER]
    proc = subprocess.run(
        [sys.executable, "-m", "backend", "segment", *map(str, args), "-q"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    lines = [line for line in proc.stderr.splitlines() if line.startswith("error:")] or proc.stderr.splitlines()
    return {"code": proc.returncode, "traceback": "Traceback" in proc.stderr, "message": (lines or [""])[-1][:200]}


def run_http(case: Case, client: httpx.Client, tiny: dict) -> dict:
    body = dict(case.body)
    if case.models:
        body.update(prompter=str(tiny["prompter"]), segmenter=str(tiny["sam2"]))
    if "__raw__" in body:
        r = client.post("/jobs", content=body["__raw__"], headers={"Content-Type": "application/json"})
    else:
        r = client.post("/jobs", json=body)
    result = {"status": r.status_code, "code": None, "message": ""}
    try:
        answer = r.json()
        result["code"], result["message"] = answer.get("code"), str(answer.get("detail", ""))[:200]
    except ValueError:
        result["message"] = r.text[:200]
    if r.status_code == 201:
        status = wait_for(client, answer["id"], timeout=300)
        result["message"] = f"job {status['state']}, {status['features']} polygon(s)"
        result["state"] = status["state"]
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--write", help="write the table into this markdown file (between its markers)")
    args = parser.parse_args(argv)
    from backend.models.tiny import ensure_tiny_models
    from tests.locations import TINY_MODELS

    with tempfile.TemporaryDirectory(prefix="think2map-robustness-") as tmp:
        tmp = Path(tmp)
        inputs_dir, out_dir = tmp / "inputs", tmp / "out"
        inputs_dir.mkdir()
        out_dir.mkdir()
        p = build_inputs(inputs_dir)
        tiny = {k: str(v) for k, v in ensure_tiny_models(TINY_MODELS).items()}
        env = {
            **os.environ,
            "OMP_NUM_THREADS": "1",
            "THINK2MAP_MODELS": str(tmp / "models"),
            "HF_HOME": str(tmp / "hf"),
            "HF_HUB_OFFLINE": "1",
        }
        before = {**hashes(inputs_dir), **(hashes(DATA) if DATA.is_dir() else {})}
        all_cases = cases(p, out_dir)
        started = time.monotonic()
        for case in all_cases:
            if case.cli is not None:
                case.results["cli"] = run_cli(case, tiny, env)
        server = start_server(
            [
                "--prompter",
                tiny["prompter"],
                "--segmenter",
                tiny["sam2"],
                "--device",
                "cpu",
                "--force-answer",
                FORCED_ANSWER,
            ],
            tmp / "server",
        )
        try:
            with server.client() as client:
                for case in all_cases:
                    if case.body is not None:
                        case.results["http"] = run_http(case, client, tiny)
            server_traceback = "Traceback" in server.stderr()
        finally:
            server.stop()
        after = {**hashes(inputs_dir), **(hashes(DATA) if DATA.is_dir() else {})}
        destroyed = sorted(path for path, digest in before.items() if after.get(path) != digest)
    # The GeoPackage with other layers gets Think2Map's layers added: changed on purpose, its layers kept.
    destroyed = [d for d in destroyed if not d.endswith("work.gpkg")]
    broken = check(all_cases, destroyed, server_traceback)
    table = render(all_cases, destroyed, server_traceback, time.monotonic() - started).replace(str(tmp), "…")
    print(table)
    if args.write:
        path = Path(args.write)
        text = path.read_text(encoding="utf-8")
        start, end = "<!-- robustness:start -->", "<!-- robustness:end -->"
        head, _, rest = text.partition(start)
        _, _, tail = rest.partition(end)
        path.write_text(f"{head}{start}\n{table}\n{end}{tail}", encoding="utf-8")
    for line in broken:
        print("BROKEN:", line, file=sys.stderr)
    return 1 if broken else 0


def check(all_cases: list[Case], destroyed: list[str], server_traceback: bool) -> list[str]:
    broken = [f"file changed: {d}" for d in destroyed]
    if server_traceback:
        broken.append("the server logged a traceback")
    for case in all_cases:
        cli, http = case.results.get("cli"), case.results.get("http")
        if cli and (cli["traceback"] or cli["code"] != case.expect_cli):
            broken.append(f"{case.name}: CLI exit {cli['code']} (expected {case.expect_cli}) {cli['message']}")
        state_ok = http is None or http["status"] != 201 or http.get("state") == case.expect_state
        if http and (http["status"] >= 500 or http["status"] != case.expect_http or not state_ok):
            broken.append(f"{case.name}: HTTP {http['status']} (expected {case.expect_http}) {http['message']}")
    return broken


def render(all_cases: list[Case], destroyed: list[str], server_traceback: bool, seconds: float) -> str:
    rows = ["| input | CLI exit | HTTP | code | message |", "|---|---|---|---|---|"]
    for case in all_cases:
        cli, http = case.results.get("cli"), case.results.get("http")
        message = (http or {}).get("message") or (cli or {}).get("message", "")
        rows.append(
            f"| {case.name} | {cli['code'] if cli else '–'} | {http['status'] if http else '–'} | "
            f"{(http or {}).get('code') or ''} | {message.replace('|', '/')[:160]} |"
        )
    tracebacks = sum(bool(c.results.get("cli", {}).get("traceback")) for c in all_cases) + server_traceback
    errors_5xx = sum(c.results.get("http", {}).get("status", 0) >= 500 for c in all_cases)
    summary = (
        f"\n{len(all_cases)} inputs in {seconds:.0f} s: {tracebacks} tracebacks, {errors_5xx} answers 5xx, "
        f"{len(destroyed)} files destroyed or changed."
    )
    return "\n".join(rows) + "\n" + summary


if __name__ == "__main__":
    sys.exit(main())
