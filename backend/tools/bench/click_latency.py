"""Click latency: prompt to polygon through the real HTTP server, on a cache miss and on a hit.

``python -m backend bench --clicks`` builds SAM 2.1-small (or SAM ViT-B) at its real size with random weights,
serves it with the production app on loopback (uvicorn in a thread), and times ``POST /prompt`` as the plugin
sends it: the first click on a tile (it encodes), then clicks on the same tile (cached embedding: the mask
decoder and the polygons only), hover previews, and a click after ``POST /encode`` warmed the view. The times
include HTTP, the JSON and the polygons. As in the pipeline's bench, SAM runs for real but its output mask (a
random model's is noise, in hundreds of pieces) is swapped for the clicked building of the synthetic truth, so
the polygons cost what a real click's do.
"""

from __future__ import annotations

import statistics
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from ...models.segmenter import Segmenter
from .models import build_segmenter
from .parts import machine_info
from .truth import GSD, OVERLAP, TILE, make_raster


def click_bench(segmenter_kind: str, device: str, clicks: int = 10, tiny: bool = False) -> dict:
    """Every figure of the click benchmark (seconds, wall, as a client sees them); ``tiny``: the tiny models."""
    import httpx
    import uvicorn

    from ...models.loading import EngineConfig
    from ...service.server import ServerConfig, create_app
    from ..bench.timing import sync

    with tempfile.TemporaryDirectory(prefix="think2map-clicks-") as tmp:
        inner, info = build_segmenter(segmenter_kind, device, Path(tmp) if tiny else None)
        raster, truth = make_raster(Path(tmp), 4)  # 2 x 2 tiles of 840 px at 0.5 m
        segmenter = TruthClicks(inner, truth, raster)
        stand_in = Path(tmp) / "random-weights"  # the server resolves its segmenter to this; the loader ignores it
        stand_in.write_text("random weights, built in memory")
        app = create_app(
            ServerConfig(token="bench", engine=EngineConfig(device=device, segmenter=str(stand_in))),  # nosec B106 - a loopback benchmark server
            segmenter_loader=lambda path: segmenter,
        )
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, access_log=False))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("the benchmark's server stopped before it was listening")
            time.sleep(0.05)
        port = server.servers[0].sockets[0].getsockname()[1]
        import rasterio

        with rasterio.open(raster) as ds:
            left, top = ds.bounds.left, ds.bounds.top
        stride = (TILE - OVERLAP) * GSD

        buildings = _building_points(truth)

        def point(tile: int, k: int) -> list[float]:
            """The k-th building of a tile's core (a pixel inside it), in map coordinates."""
            row, col = divmod(tile, 2)
            r, c = buildings[tile][k % len(buildings[tile])]
            return [left + (c + 0.5) * GSD, top - (r + 0.5) * GSD, 1]

        out: dict = {"segmenter": info, "machine": machine_info(device), "clicks_per_tile": clicks}
        try:
            headers = {"Authorization": "Bearer bench"}
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=600) as client:

                def prompt(body: dict) -> tuple[float, dict]:
                    t0 = time.perf_counter()
                    r = client.post("/prompt", json={"raster": str(raster), **body})
                    sync()
                    r.raise_for_status()
                    return time.perf_counter() - t0, r.json()

                prompt({"points": [point(3, 0)]})  # warm-up: first calls pay one-off costs
                miss, answer = prompt({"points": [point(0, 0)]})
                if answer["cached"]:
                    raise RuntimeError("the first click found its window already encoded")
                hits = []
                for k in range(1, clicks + 1):
                    seconds, answer = prompt({"points": [point(0, 0), point(0, k)], "session": "bench"})
                    if not answer["cached"]:
                        raise RuntimeError("a repeated click did not find its window encoded")
                    hits.append(seconds)
                hovers = [prompt({"points": [point(0, k)], "only_cached": True})[0] for k in range(clicks)]
                box = prompt({"box": [left + 100, top - 300, left + 300, top - 100]})[0]
                bounds = [left + 10, top - 2 * stride + 10, left + stride - 10, top - stride - 10]  # tile 2
                client.post("/encode", json={"raster": str(raster), "bounds": bounds}).raise_for_status()
                t0 = time.perf_counter()
                while not _warm(client, raster, point(2, 0)):
                    time.sleep(0.05)
                warmed = time.perf_counter() - t0
                after_warm, answer = prompt({"points": [point(2, 0)]})
                out.update(
                    miss_s=miss,
                    hit_s_median=statistics.median(hits),
                    hit_s_p90=float(np.percentile(hits, 90)),
                    hit_s_max=max(hits),
                    hover_s_median=statistics.median(hovers),
                    box_s=box,
                    warm_up_s=warmed,
                    after_warm_up_s=after_warm,
                    after_warm_up_cached=answer["cached"],
                    cache=client.get("/health").json()["embedding_cache"],
                )
        finally:
            server.should_exit = True
            thread.join(10)
    return out


class TruthClicks(Segmenter):
    """Runs the real SAM for its cost (encode, one mask decode per click), then answers the truth: the building
    under the click's first positive point (or the buildings in its box)."""

    def __init__(self, inner, truth: np.ndarray, raster: Path):
        import rasterio

        from ...geo.raster import RasterSource
        from ...geo.tiling import tile_grid

        self.inner, self.truth = inner, truth
        self.name, self.device, self.cache_id = inner.name, inner.device, inner.cache_id
        from scipy import ndimage

        self.labels, _ = ndimage.label(truth)
        self.windows: dict[str, tuple[int, int, int, int]] = {}
        with rasterio.open(raster) as ds:
            h, w = ds.shape
        with RasterSource(str(raster)) as src:
            for tile in tile_grid(src.full_window(), w, h, TILE, OVERLAP):
                image, _ = src.read(tile.window)
                win = tile.window
                self.windows[_digest(image)] = (win.col_off, win.row_off, win.width, win.height)
        self._by_embedding: dict[int, tuple[int, int, int, int]] = {}
        self._window: tuple[int, int, int, int] | None = None

    def encode(self, images):
        out = self.inner.encode(images)
        for image, embedding in zip(images, out):
            self._by_embedding[id(embedding)] = self.windows[_digest(image)]
        return out

    def set_embedding(self, embedding) -> None:
        self.inner.set_embedding(embedding)
        self._window = self._by_embedding[id(embedding)]

    def set_image(self, image) -> None:
        self.inner.set_image(image)
        self._window = self.windows[_digest(image)]

    def predict(self, instance):
        self.inner.predict(instance)  # the decoder's cost
        c, r, w, h = self._window
        labels = self.labels[r : r + h, c : c + w]
        if instance.box is not None:
            x0, y0, x1, y1 = (int(v) for v in instance.box)
            ids = set(np.unique(labels[y0:y1, x0:x1])) - {0}
        else:
            x, y = instance.points[0]
            ids = {int(labels[int(y), int(x)])} - {0}
        return np.isin(labels, list(ids)) if ids else np.zeros_like(labels, bool), 0.9


def _digest(image: np.ndarray) -> str:
    import hashlib

    return hashlib.blake2b(np.ascontiguousarray(image).tobytes(), digest_size=16).hexdigest()


def _building_points(truth: np.ndarray) -> dict[int, list[tuple[int, int]]]:
    """For each of the 2 x 2 tiles, a pixel inside each building well inside its core (row, col)."""
    from scipy import ndimage

    labels, n = ndimage.label(truth)
    out: dict[int, list[tuple[int, int]]] = {t: [] for t in range(4)}
    for i, sl in enumerate(ndimage.find_objects(labels), start=1):
        ys, xs = np.nonzero(labels[sl] == i)
        r, c = sl[0].start + ys[len(ys) // 2], sl[1].start + xs[len(xs) // 2]
        for t, (r0, c0) in enumerate([(0, 0), (0, TILE - OVERLAP), (TILE - OVERLAP, 0), (TILE - OVERLAP,) * 2]):
            if r0 + 100 <= r < r0 + TILE - 100 and c0 + 100 <= c < c0 + TILE - 100:
                out[t].append((int(r), int(c)))
                break
    return out


def _warm(client, raster: Path, point: list[float]) -> bool:
    r = client.post("/prompt", json={"raster": str(raster), "points": [point], "only_cached": True})
    return r.status_code == 200 and r.json()["cached"]


def format_clicks(report: dict) -> str:
    ms = lambda key: f"{1000 * report[key]:.0f} ms"  # noqa: E731
    return (
        f"click latency, {report['segmenter']['name']} on {report['machine']['device']} (HTTP + SAM + polygons): "
        f"miss {ms('miss_s')}, hit median {ms('hit_s_median')} (p90 {ms('hit_s_p90')}, max {ms('hit_s_max')}), "
        f"hover {ms('hover_s_median')}, box {ms('box_s')}; after /encode: {ms('after_warm_up_s')} "
        f"(cached: {report['after_warm_up_cached']}, warm-up took {report['warm_up_s']:.1f} s)"
    )
