"""The parts of the benchmark outside one pipeline run: the geometry path alone, the SAM encoder alone, the
prompter's warm-up, and a description of the machine."""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ...devices import is_cuda
from .timing import now
from .truth import OVERLAP, TILE


def geometry_bench(raster: Path, truth: np.ndarray, repeats: int = 1) -> dict:
    """The geometry path alone on every tile's full truth mask: mask -> polygons -> merge -> map coordinates.

    Reports thread CPU seconds per 840×840 tile (what a CPU core spends), and wall seconds.
    """
    from affine import Affine

    from ...geo.geometry import finish_geometry, grid_neighbours, tile_pieces
    from ...geo.raster import PixelWindow
    from ...geo.seams import SeamMerger
    from ...geo.tiling import tile_grid

    h, w = truth.shape
    tiles = tile_grid(PixelWindow(0, 0, w, h), w, h, TILE, OVERLAP)
    neighbours = grid_neighbours(tiles)
    cpu = {"polygons": 0.0, "merge": 0.0}
    first = tiles[0].window  # warm-up: the first call pays one-off costs (imports, GDAL drivers)
    tile_pieces(
        tiles[0],
        [truth[first.row_off : first.row_end, first.col_off : first.col_end]],
        [0.9],
        None,
        neighbours[0],
        min_hole_px=16,
    )
    wall0 = time.perf_counter()
    cpu0 = time.thread_time()
    pieces_n = objects_n = 0
    for _ in range(repeats):
        merger = SeamMerger()
        for t in tiles:
            win = t.window
            mask = truth[win.row_off : win.row_end, win.col_off : win.col_end]
            c0 = time.thread_time()
            pieces = tile_pieces(t, [mask], [0.9], None, neighbours[t.index], min_hole_px=16)
            c1 = time.thread_time()
            objs = merger.add_tile(t.index, pieces)
            done = [finish_geometry(o.geometry, Affine.identity(), 1.0, 16) for o in objs]
            cpu["polygons"] += c1 - c0
            cpu["merge"] += time.thread_time() - c1
            pieces_n += len(pieces)
            objects_n += len(done)
        for o in merger.flush():
            finish_geometry(o.geometry, Affine.identity(), 1.0, 16)
    n = len(tiles) * repeats
    total_cpu = time.thread_time() - cpu0
    return {
        "tiles": n,
        "buildings_per_tile": pieces_n / n,
        "cpu_s_per_tile": total_cpu / n,
        "polygons_cpu_s_per_tile": cpu["polygons"] / n,
        "merge_cpu_s_per_tile": (total_cpu - cpu["polygons"]) / n,
        "wall_s_per_tile": (time.perf_counter() - wall0) / n,
    }


def encode_bench(segmenter, device: str, images: list[np.ndarray], batch_sizes: Sequence[int]) -> dict:
    """SAM image-encoder seconds per 840×840 tile, one at a time (``set_image``) and batched (``encode``)."""
    out = {}
    segmenter.set_image(images[0])  # warm-up (allocations, lazy inits)
    t0, c0 = now(), time.process_time()
    for image in images:
        segmenter.set_image(image)
    out["set_image"] = (now() - t0) / len(images)
    out["set_image_cpu"] = (time.process_time() - c0) / len(images)
    for b in batch_sizes:
        if b <= 1 or not hasattr(segmenter, "encode"):
            continue
        t0, c0 = now(), time.process_time()
        for i in range(0, len(images), b):
            segmenter.encode(images[i : i + b])
        out[f"batch_{b}"] = (now() - t0) / len(images)
        out[f"batch_{b}_cpu"] = (time.process_time() - c0) / len(images)
    return out


def warm_up(prompter, mask: np.ndarray, batch_sizes: Sequence[int], tokens: int, static_cache: bool) -> dict:
    """One full-length generate per batch size before anything is timed; returns its seconds per batch size.

    The first generate of a shape pays one-off costs that a backend kept warm pays once (the CUDA allocator
    growing its pool, kernel selection, and with a static cache the compilation), so they are reported apart.
    """
    image = mask[:TILE, :TILE, None].repeat(3, 2).astype(np.uint8) * 255
    extra = {"cache_implementation": "static"} if static_cache else {}
    out = {}
    for b in sorted(set(batch_sizes)):
        t0 = now()
        prompter.generate_from_inputs(
            prompter.prepare_inputs([image] * b, "buildings"), max_new_tokens=tokens, min_new_tokens=tokens, **extra
        )
        out[str(b)] = now() - t0
    return out


def machine_info(device: str) -> dict:
    import torch

    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info = {
        "cpu": cpu,
        "nproc": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "device": device,
    }
    try:
        import transformers

        info["transformers"] = transformers.__version__
    except ImportError:
        pass
    if is_cuda(device):
        info["gpu"] = torch.cuda.get_device_name(device)
        info["cuda"] = torch.version.cuda
        info["driver"] = _driver_version()
    return info


def _driver_version() -> str | None:
    """The NVIDIA driver's version, as nvidia-smi says it (None without one)."""
    import shutil
    import subprocess  # nosec B404 - nvidia-smi with fixed arguments

    smi = shutil.which("nvidia-smi")
    if smi is None:
        return None
    try:
        out = subprocess.run(  # nosec B603 - fixed arguments
            [smi, "--query-gpu=driver_version", "--format=csv,noheader"], capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip().splitlines()[0] if out.returncode == 0 and out.stdout.strip() else None
