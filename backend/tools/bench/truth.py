"""A known truth for the benchmark and the tests' fakes: synthetic buildings, and the answers a perfect
prompter would write for them in Think2Seg-RS's 840×840 frame."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from ...models.prompts import MODEL_IMAGE_SIZE

TILE, OVERLAP, GSD = 840, 128, 0.5
BUILDINGS_PER_KM2 = 215  # as in the Atlanta footprints of the test data (43 in 0.2 km²)


def answer_text(labels: np.ndarray, think: str, keep: set[int] | None = None) -> str:
    """The answer for a labelled window (0: background): a box and two inner points per object, in the 840×840
    frame, written as the real model writes it. ``keep`` limits it to those labels."""
    from scipy import ndimage

    h, w = labels.shape
    sx, sy = MODEL_IMAGE_SIZE / w, MODEL_IMAGE_SIZE / h
    items = []
    for i, sl in enumerate(ndimage.find_objects(labels), start=1):
        if sl is None or (keep is not None and i not in keep):
            continue
        ys, xs = np.nonzero(labels[sl] == i)
        pts = [
            [round((sl[1].start + xs[k] + 0.5) * sx), round((sl[0].start + ys[k] + 0.5) * sy)]
            for k in (len(ys) // 3, 2 * len(ys) // 3)
        ]
        box = [round(sl[1].start * sx), round(sl[0].start * sy), round(sl[1].stop * sx), round(sl[0].stop * sy)]
        items.append({"bbox_2d": box, "positive_points": pts})
    return f"<think>{think.format(n=len(items))}</think>\n<answer>```json{json.dumps(items)}```</answer>"


def seen_answer(window_truth: np.ndarray, shape: tuple[int, int], think: str, visible_px: int = 4) -> str:
    """The answer for a window seen downsampled to ``shape`` (an overview): objects as they look there, those
    under ``visible_px`` of its pixels unseen, in the 840×840 frame."""
    from scipy import ndimage

    zoom = (shape[0] / window_truth.shape[0], shape[1] / window_truth.shape[1])
    labels, _ = ndimage.label(ndimage.zoom(window_truth.astype(np.float32), zoom, order=1) > 0.5)
    keep = {
        i
        for i, sl in enumerate(ndimage.find_objects(labels), start=1)
        if sl is not None and max(sl[0].stop - sl[0].start, sl[1].stop - sl[1].start) >= visible_px
    }
    return answer_text(labels, think, keep)


def watch_reads(source, windows: dict[str, tuple[int, int, int, int]], key) -> None:
    """Record the window of every full-resolution image read from ``source`` (a RasterSource) under ``key(image)``:
    a truth-answering segmenter then knows where a tile is that no prompt preceded (the overview's refinement)."""
    read = source.read

    def reading(window, out_shape=None):
        image, valid = read(window, out_shape)
        if out_shape is None:
            windows[key(image)] = (window.col_off, window.row_off, window.width, window.height)
        return image, valid

    source.read = reading


class Truth:
    """The synthetic raster's building footprints, and the answers a perfect prompter would write."""

    def __init__(self, mask: np.ndarray, instances_per_tile: int):
        from scipy import ndimage

        self.mask = mask
        self.labels, _ = ndimage.label(mask)
        self.instances = instances_per_tile
        self.windows: dict[str, tuple[int, int, int, int]] = {}

    def window_truth(self, window: tuple[int, int, int, int]) -> np.ndarray:
        c, r, w, h = window
        return self.mask[r : r + h, c : c + w]

    def answer(self, window: tuple[int, int, int, int], shape: tuple[int, int] | None = None) -> str:
        """The largest ``instances`` objects of the window, as Think2Seg-RS writes them (840×840 frame); for an
        image read at another ``shape`` (an overview), what can be seen there."""
        c, r, w, h = window
        if shape is not None and shape != (h, w):
            return seen_answer(self.mask[r : r + h, c : c + w], shape, "overview: {n} objects large enough to see")
        labels = self.labels[r : r + h, c : c + w]
        ids, counts = np.unique(labels[labels > 0], return_counts=True)
        keep = set(ids[np.argsort(-counts)][: self.instances].tolist())
        return answer_text(labels, "{n} buildings", keep)


def bench_geotiff(path: Path, size: int, count: int, dtype: str = "uint8"):
    """A square ``size``² GeoTIFF opened for writing: 0.5 m in UTM 16N, tiled 512 and deflated, as the benches
    write their rasters."""
    import rasterio
    from rasterio.transform import from_origin

    return rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=size,
        height=size,
        count=count,
        dtype=dtype,
        crs="EPSG:32616",
        transform=from_origin(740000, 3740000, GSD, GSD),
        tiled=True,
        blockxsize=512,
        blockysize=512,
        compress="deflate",
    )


def _grid(tiles: int) -> tuple[int, int]:
    cols = math.ceil(math.sqrt(tiles))
    while tiles % cols:
        cols += 1
    return tiles // cols, cols


def make_raster(folder: Path, tiles: int, seed: int = 0) -> tuple[Path, np.ndarray]:
    """A uint16 0.5 m GeoTIFF laid out as exactly ``tiles`` 840-pixel tiles, with rotated building footprints."""
    import rasterio
    import shapely
    from rasterio.features import rasterize
    from rasterio.transform import from_origin
    from scipy import ndimage

    rows, cols = _grid(tiles)
    h, w = TILE + (rows - 1) * (TILE - OVERLAP), TILE + (cols - 1) * (TILE - OVERLAP)
    rng = np.random.default_rng(seed)
    n = max(1, round(BUILDINGS_PER_KM2 * h * w * GSD * GSD / 1e6))
    shapes = []
    for _ in range(n):
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        bw, bh = rng.uniform(16, 44, size=2)  # 8-22 m sides
        rect = shapely.box(-bw / 2, -bh / 2, bw / 2, bh / 2)
        if rng.random() < 0.3:  # some L-shaped houses
            rect = rect.difference(shapely.box(0, 0, bw / 2, bh / 2))
        angle = rng.uniform(0, 90)
        shapes.append(shapely.affinity.translate(shapely.affinity.rotate(rect, angle, origin=(0, 0)), cx, cy))
    truth = rasterize(((g, 1) for g in shapes), out_shape=(h, w), dtype="uint8").astype(bool)
    ground = ndimage.gaussian_filter(rng.normal(0, 1, (h, w)).astype(np.float32), 3) * 2000 + 12000
    image = np.where(truth, 30000, ground) + rng.normal(0, 300, (h, w))
    path = Path(folder) / f"bench_{rows}x{cols}_0p5m.tif"
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=w,
        height=h,
        count=1,
        dtype="uint16",
        crs="EPSG:32616",
        transform=from_origin(740000, 3740000, GSD, GSD),
        tiled=True,
        blockxsize=256,
        blockysize=256,
    ) as ds:
        ds.write(np.clip(image, 0, 65535).astype(np.uint16), 1)
    return path, truth
