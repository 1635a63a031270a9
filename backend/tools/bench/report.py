"""The benchmark's figures as a text table."""

from __future__ import annotations

STAGES = ("read", "prompter_prep", "prefill", "decode", "encode", "decode_masks", "polygons", "merge", "wall")


def _figure(value: float) -> str:
    """A table cell: whole numbers from 1000 up, four significant figures below."""
    return f"{value:.0f}" if abs(value) >= 1000 else f"{value:.4g}"


def format_table(report: dict) -> str:
    """The runs as a text table: seconds per tile by stage, throughput and memory."""
    head = (
        f"{'run':<18}" + "".join(f"{s:>14}" for s in STAGES) + f"{'CPU s':>9}{'tiles/s':>9}{'km2/h':>9}"
        f"{'1st poly':>9}{'cpu%':>6}{'wait%':>6}{'host MB':>9}{'GPU MB':>8}"
    )
    lines = [
        "seconds per tile by stage (summed over the run, divided by its tiles; stages may overlap; "
        "CPU s: process CPU time per tile, all threads; cpu%: read + polygons + merge work as a share of the "
        "wall time; wait%: the GPU-driving thread waiting on that work):",
        head,
    ]
    for r in report["runs"]:
        p = r["per_tile_s"]
        gpu = f"{r['peak_gpu_mb']:.0f}" if r["peak_gpu_mb"] is not None else "-"
        first = f"{r['first_polygon_s']:.2f}" if r["first_polygon_s"] is not None else "-"
        lines.append(
            f"{r['name']:<18}"
            + "".join(f"{p[s]:>14.4f}" for s in STAGES)
            + f"{r['cpu_s_per_tile']:>9.3f}"
            + f"{_figure(r['tiles_per_s']):>9}{_figure(r['km2_per_h']):>9}{first:>9}"
            + f"{100 * r['cpu_side_share']:>6.1f}"
            + f"{100 * r['cpu_wait_share']:>6.1f}"
            + f"{r['peak_host_mb']:>9.0f}{gpu:>8}"
        )
    g = report["geometry"]
    lines.append(
        f"geometry path (mask -> polygons -> merge) on the full truth: {g['cpu_s_per_tile']:.4f} CPU s per "
        f"840x840 tile ({g['buildings_per_tile']:.1f} building pieces per tile)"
    )
    if "sam_encode_s_per_tile" in report:
        enc = ", ".join(f"{k} {v:.3f} s" for k, v in report["sam_encode_s_per_tile"].items())
        lines.append(f"SAM encoder per 840x840 tile ({report['models']['segmenter']['name']}): {enc}")
    for k, v in report["speedups"].items():
        lines.append(f"speed-up {k}: {v:.2f}x")
    if "warmup_s" in report:
        lines.append(
            "first generate of each batch size (one-off costs, not in the runs above): "
            + ", ".join(f"b{k} {v:.1f} s" for k, v in report["warmup_s"].items())
        )
    return "\n".join(lines)
