"""Tile grid arithmetic."""

import numpy as np
import pytest

from backend.geo.raster import PixelWindow
from backend.geo.tiling import tile_grid


def _cover(tiles, area):
    cells = set()
    for t in tiles:
        c = t.core
        for y in range(c.row_off, c.row_end):
            for x in range(c.col_off, c.col_end):
                assert (x, y) not in cells, "cores overlap"
                cells.add((x, y))
    return len(cells) == area.width * area.height


def test_grid_with_overlap_shifts_edges_inward_and_cores_partition_the_area():
    area = PixelWindow(0, 0, 200, 130)
    tiles = tile_grid(area, 200, 130, tile_size=64, overlap=16)
    for t in tiles:
        w = t.window
        assert (w.width, w.height) == (64, 64)
        assert 0 <= w.col_off and w.col_end <= 200 and 0 <= w.row_off and w.row_end <= 130
        assert w.col_off <= t.core.col_off and t.core.col_end <= w.col_end
    assert max(t.window.col_end for t in tiles) == 200  # last column shifted inward, not padded
    assert _cover(tiles, area)
    cols = sorted({t.window.col_off for t in tiles})
    assert cols[:3] == [0, 48, 96]


def test_raster_smaller_than_a_tile_is_one_window():
    tiles = tile_grid(PixelWindow(0, 0, 383, 232), 383, 232, tile_size=840, overlap=128)
    assert len(tiles) == 1
    assert tiles[0].window == PixelWindow(0, 0, 383, 232) == tiles[0].core


def test_small_area_in_a_large_raster_gets_context_but_keeps_its_core():
    area = PixelWindow(500, 500, 100, 100)
    [t] = tile_grid(area, 2000, 2000, tile_size=400, overlap=0)
    assert t.core == area
    assert (t.window.width, t.window.height) == (400, 400)
    assert t.window.col_off <= 500 and t.window.col_end >= 600


def test_sub_area_grid_stays_inside_the_area_cores():
    area = PixelWindow(100, 50, 300, 300)
    tiles = tile_grid(area, 1000, 1000, tile_size=128, overlap=32)
    assert _cover(tiles, area)
    assert min(t.core.col_off for t in tiles) == 100 and max(t.core.row_end for t in tiles) == 350


@pytest.mark.parametrize("size,overlap", [(10, 0), (100000, 0), (256, 200), (256, -1)])
def test_out_of_range_settings_are_refused(size, overlap):
    with pytest.raises(ValueError):
        tile_grid(PixelWindow(0, 0, 1000, 1000), 1000, 1000, size, overlap)


def test_the_count_and_the_windows_near_a_box_agree_with_the_grid_itself():
    from backend.geo.tiling import grid_windows_near, tile_count

    rng = np.random.default_rng(3)
    for _ in range(200):
        width, height = (int(v) for v in rng.integers(1, 3000, 2))
        tile = int(rng.integers(64, 900))
        overlap = int(rng.integers(0, tile // 2 + 1))
        grid = tile_grid(PixelWindow(0, 0, width, height), width, height, tile, overlap)
        assert tile_count(PixelWindow(0, 0, width, height), tile, overlap) == len(grid)
        c0, r0 = float(rng.uniform(0, width)), float(rng.uniform(0, height))
        box = (c0, r0, c0 + float(rng.uniform(0.5, 400)), r0 + float(rng.uniform(0.5, 400)))
        meeting = [
            t.window
            for t in grid
            if t.window.col_off < box[2] and t.window.col_end > box[0]
            and t.window.row_off < box[3] and t.window.row_end > box[1]
        ]  # fmt: skip
        assert grid_windows_near(width, height, tile, overlap, box) == meeting


def test_a_raster_too_large_to_tile_is_counted_not_built():
    import time

    from backend.geo.tiling import tile_count

    started = time.perf_counter()
    side = 134_217_728  # a GDAL TMS of the whole world at zoom 19
    assert tile_count(PixelWindow(0, 0, side, side), 840, 128) == 188_508**2
    assert time.perf_counter() - started < 0.01


TMS = """<GDAL_WMS>
  <Service name="TMS"><ServerUrl>http://127.0.0.1:9/${z}/${x}/${y}.png</ServerUrl></Service>
  <DataWindow><UpperLeftX>-20037508.34</UpperLeftX><UpperLeftY>20037508.34</UpperLeftY>
    <LowerRightX>20037508.34</LowerRightX><LowerRightY>-20037508.34</LowerRightY>
    <TileLevel>19</TileLevel><TileCountX>1</TileCountX><TileCountY>1</TileCountY><YOrigin>top</YOrigin></DataWindow>
  <Projection>EPSG:3857</Projection><BlockSizeX>256</BlockSizeX><BlockSizeY>256</BlockSizeY><BandsCount>3</BandsCount>
</GDAL_WMS>"""


def _huge_vrt(folder) -> str:
    """A 1,000,000² px VRT over a 64² px GeoTIFF."""
    import numpy as np
    import rasterio
    from rasterio.transform import from_origin

    with rasterio.open(folder / "small.tif", "w", driver="GTiff", width=64, height=64, count=3, dtype="uint8",
                       crs="EPSG:32631", transform=from_origin(500000, 5000000, 0.5, 0.5)) as dst:  # fmt: skip
        dst.write(np.full((3, 64, 64), 100, np.uint8))
    bands = "".join(
        f'<VRTRasterBand dataType="Byte" band="{b}"><SimpleSource><SourceFilename relativeToVRT="1">small.tif'
        f"</SourceFilename><SourceBand>{b}</SourceBand></SimpleSource></VRTRasterBand>"
        for b in (1, 2, 3)
    )
    return (
        '<VRTDataset rasterXSize="1000000" rasterYSize="1000000"><SRS>EPSG:32631</SRS>'
        f"<GeoTransform>500000, 0.5, 0, 5000000, 0, -0.5</GeoTransform>{bands}</VRTDataset>"
    )


@pytest.mark.parametrize(
    ("name", "side", "tiles", "near"),
    [
        ("world.xml", 134_217_728, 188_508**2, [0, 0, 300, 300]),
        ("huge.vrt", 1_000_000, 1405**2, [500_000, 4_999_700, 500_300, 5_000_000]),
    ],
)
def test_the_server_refuses_a_world_sized_basemap_at_once(name, side, tiles, near, tiny_models, tmp_path):
    """A GDAL TMS raster of 134,217,728² px, a VRT of 1,000,000² px: refused with their size in well under a
    second, nothing built; a warm-up over them builds a few windows only, and /health answers."""
    import resource
    import time

    from fastapi.testclient import TestClient

    from backend.models.loading import EngineConfig
    from backend.service.server import ServerConfig, create_app

    raster = tmp_path / name
    raster.write_text(TMS if name.endswith(".xml") else _huge_vrt(tmp_path))
    engine = EngineConfig(prompter=str(tiny_models["prompter"]), segmenter=str(tiny_models["sam2"]), device="cpu")
    headers = {"Authorization": "Bearer t"}
    with TestClient(create_app(ServerConfig(token="t", engine=engine))) as client:
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.perf_counter()
        answer = client.post("/jobs", json={"raster": str(raster), "query": "roofs"}, headers=headers)
        seconds = time.perf_counter() - started
        body = answer.json()
        assert answer.status_code == 422 and body["code"] == "too_many_tiles", body
        assert body["params"]["tiles"] == tiles and f"{side:,} × {side:,} pixels" in body["detail"]
        assert seconds < 1.0
        warm = client.post("/encode", json={"raster": str(raster), "bounds": near}, headers=headers)
        assert warm.status_code == 202 and 1 <= warm.json()["windows"] <= 9, warm.text  # ~1,000 px: 3 × 3 at most
        assert client.get("/health", headers=headers).status_code == 200
        if name.endswith(".vrt"):  # a click on the little that holds data: the windows near it, not the grid
            started = time.perf_counter()
            click = client.post("/prompt", json={"raster": str(raster), "points": [[500_010, 4_999_990, 1]]},
                                headers=headers)  # fmt: skip
            assert click.status_code == 200 and time.perf_counter() - started < 10, click.text
        grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
        assert grown_mb < 200, grown_mb
