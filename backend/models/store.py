"""Known models by short name, where their weights are found, and downloads on request only.

Weights are looked for in this order: an explicit path, the models folder (``--models-dir`` or
``THINK2MAP_MODELS``), then the Hugging Face cache, offline. Nothing is downloaded unless ``pull`` is asked.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import contract

from ..errors import DownloadError, MissingWeightsError, ModelError
from .remote_spec import RemoteSpec, is_remote

PULL_HINT = "python -m backend models pull {name}"
_PROMPTER_FILES = ("*.json", "*.safetensors", "*.txt", "*.jinja")


@dataclass(frozen=True)
class ModelSpec:
    name: str
    kind: str  # "prompter" or "segmenter"
    description: str
    approx_mb: int
    repo: str | None = None  # Hugging Face repository
    filename: str | None = None  # a single checkpoint file; None means the whole repository (prompters)
    url: str | None = None  # a direct download, where the weights are not on the Hugging Face Hub
    gated: bool = False  # the Hub asks for an accepted licence and a token before it serves the files

    @property
    def source(self) -> str:
        return f"https://huggingface.co/{self.repo}" if self.repo else str(self.url)


def _sam2(size: str, label: str, mb: int) -> ModelSpec:
    short = {"tiny": "t", "small": "s", "base_plus": "b+", "large": "l"}[size]
    return ModelSpec(
        f"sam2.1-{short}",
        "segmenter",
        f"SAM 2.1 Hiera {label}",
        mb,
        repo=f"facebook/sam2.1-hiera-{size.replace('_', '-')}",
        filename=f"sam2.1_hiera_{size}.pt",
    )


def _sam(vit: str, digest: str, mb: int) -> ModelSpec:
    filename = f"sam_vit_{vit}_{digest}.pth"
    return ModelSpec(
        f"sam-vit-{vit}",
        "segmenter",
        f"Segment Anything ViT-{vit.upper()}",
        mb,
        filename=filename,
        url=f"https://dl.fbaipublicfiles.com/segment_anything/{filename}",
    )


KNOWN: dict[str, ModelSpec] = {
    s.name: s
    for s in [
        ModelSpec(
            "think2seg-rs-3b",
            "prompter",
            "Think2Seg-RS 3B (Qwen2.5-VL-3B fine-tuned)",
            7500,
            repo="RicardoString/Think2Seg-RS-3B",
        ),
        ModelSpec(
            "think2seg-rs-7b",
            "prompter",
            "Think2Seg-RS 7B (Qwen2.5-VL-7B fine-tuned)",
            16600,
            repo="RicardoString/Think2Seg-RS-7B",
        ),
        ModelSpec(
            "qwen2.5-vl-3b", "prompter", "Qwen2.5-VL-3B-Instruct, zero-shot", 7500, repo="Qwen/Qwen2.5-VL-3B-Instruct"
        ),
        ModelSpec(
            "qwen2.5-vl-7b", "prompter", "Qwen2.5-VL-7B-Instruct, zero-shot", 16600, repo="Qwen/Qwen2.5-VL-7B-Instruct"
        ),
        _sam2("tiny", "tiny", 156),
        _sam2("small", "small (what Think2Seg-RS was trained with)", 184),
        _sam2("base_plus", "base+", 324),
        _sam2("large", "large", 898),
        ModelSpec(
            "sam3",
            "finder",
            "SAM 3, every instance of a short phrase (gated: SAM License, access on request)",
            3450,
            repo="facebook/sam3",
            gated=True,
        ),
        _sam("b", "01ec64", 375),
        _sam("l", "0b3195", 1250),
        _sam("h", "4b8939", 2560),
    ]
}
DEFAULT_PROMPTER = contract.DEFAULT_PROMPTER
DEFAULT_SEGMENTER = contract.DEFAULT_SEGMENTER


def models_dir(explicit: str | Path | None = None) -> Path:
    """The models folder: an explicit one, else ``THINK2MAP_MODELS``, else the user's data folder."""
    if explicit:
        return Path(explicit).expanduser()
    if os.environ.get("THINK2MAP_MODELS"):
        return Path(os.environ["THINK2MAP_MODELS"]).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "think2map" / "models"


def _complete(spec: ModelSpec, folder: Path) -> Path | None:
    """The path to load from, if ``folder`` holds the model's weights."""
    if spec.filename:
        f = folder / spec.filename
        return f if f.is_file() and f.stat().st_size > 0 else None
    if (folder / "config.json").is_file() and any(folder.glob("*.safetensors")):
        return folder
    return None


def _from_hf_cache(spec: ModelSpec) -> Path | None:
    if not spec.repo:
        return None
    try:
        from huggingface_hub import snapshot_download, try_to_load_from_cache
    except ImportError:
        return None
    if spec.filename:
        hit = try_to_load_from_cache(spec.repo, spec.filename)
        return Path(hit) if isinstance(hit, str) else None
    try:
        folder = Path(snapshot_download(spec.repo, allow_patterns=list(_PROMPTER_FILES), local_files_only=True))  # nosec B615 - offline lookup of what pull fetched
    except Exception:  # not in the cache: huggingface_hub raises several kinds here
        return None
    return _complete(spec, folder)


def lookup(name: str) -> ModelSpec:
    """The known model called ``name``, or a ModelError listing the known names."""
    if name in KNOWN:
        return KNOWN[name]
    prompters = ", ".join(n for n, s in KNOWN.items() if s.kind == "prompter")
    segmenters = ", ".join(n for n, s in KNOWN.items() if s.kind == "segmenter")
    raise ModelError(
        f"Unknown model '{name}'. Known prompters: {prompters}. Known segmenters: {segmenters}. "
        "A local file or folder path also works.",
        "unknown_model",
        name=name,
    )


def resolve(
    name_or_path: str | Path, kind: str, folder: str | Path | None = None, hf_cache: bool = True, paths: bool = True
) -> Path:
    """Where to load a model from: a local path as given, or a known name found on this machine.

    A shared server's rules: ``hf_cache=False`` looks for known names in the models folder only, and
    ``paths=False`` takes known names only.
    """
    text = str(name_or_path)
    if is_remote(text):
        if kind != "prompter" or not paths:
            raise ModelError(f"'{text}' cannot be used here: only as the prompter of a local engine", "bad_model")
        return RemoteSpec.parse(text)  # type: ignore[return-value] - stands where the weights folder would
    path = Path(text).expanduser()
    if paths and path.exists():
        return path
    if text not in KNOWN and (os.sep in text or path.suffix in (".pt", ".pth", ".safetensors")):
        raise ModelError(f"No such model file or folder: {text}", "model_not_found", name=text)
    spec = lookup(text)
    if spec.kind != kind:
        raise ModelError(f"'{text}' is a {spec.kind}, not a {kind}.", "wrong_model_kind", name=text, kind=kind)
    found = _complete(spec, models_dir(folder) / spec.name) or (_from_hf_cache(spec) if hf_cache else None)
    if found is None:
        gated = (
            f" It is gated: request access at {spec.source} (the SAM License) and log in (`hf auth login` or "
            "HF_TOKEN) first."
            if spec.gated
            else ""
        )
        raise MissingWeightsError(
            f"The {kind} '{spec.name}' ({spec.description}, about {spec.approx_mb} MB) is not on this machine. "
            f"Download it with: {PULL_HINT.format(name=spec.name)}   (or give a local path instead).{gated}",
            "missing_weights",
            name=spec.name,
            kind=kind,
            command=PULL_HINT.format(name=spec.name),
        )
    return found


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def list_models(folder: str | Path | None = None) -> list[dict]:
    """Every known model: whether it is present, where, and its size on disk."""
    rows = []
    for spec in KNOWN.values():
        try:
            path = resolve(spec.name, spec.kind, folder)
        except MissingWeightsError:
            path = None
        rows.append(
            {
                "name": spec.name,
                "kind": spec.kind,
                "description": spec.description,
                "source": spec.source,
                "present": path is not None,
                "path": str(path) if path else None,
                "size_mb": round(_size(path) / 1e6, 1) if path else None,
                "approx_mb": spec.approx_mb,
            }
        )
    return rows


Progress = Callable[[int, int | None], None]


def pull(name: str, folder: str | Path | None = None, progress: Progress | None = None) -> Path:
    """Download a known model into the models folder. Only ever called on the user's request."""
    spec = lookup(name)
    target = models_dir(folder) / spec.name
    target.mkdir(parents=True, exist_ok=True)
    try:
        if spec.repo:
            from huggingface_hub import snapshot_download

            with _watch_folder(target, spec.approx_mb * 10**6, progress):
                snapshot_download(  # nosec B615 - the user's explicit pull of a listed repository
                    spec.repo,
                    local_dir=target,
                    allow_patterns=[spec.filename] if spec.filename else list(_PROMPTER_FILES),
                )
        else:
            _download(spec.url, target / spec.filename, progress)
    except Exception as exc:
        if not any(target.iterdir()):
            target.rmdir()
        reason = (str(exc).strip().splitlines() or [""])[0][:300]
        if spec.gated and ("gated" in str(exc).lower() or "401" in str(exc) or "403" in str(exc)):
            raise DownloadError(
                f"'{spec.name}' is gated: request access at {spec.source} (its licence: the SAM License), then log "
                f"in with `hf auth login` or set HF_TOKEN, and pull again ({type(exc).__name__}: {reason})."
            ) from None
        raise DownloadError(
            f"Could not download '{spec.name}' from {spec.source} ({type(exc).__name__}: {reason}). "
            f"Check the internet connection (and HTTPS_PROXY if you use a proxy), or put the files in {target} "
            "by hand."
        ) from None
    found = _complete(spec, target)
    if found is None:
        raise DownloadError(f"The download of '{spec.name}' finished but {target} does not hold its weights.")
    return found


@contextlib.contextmanager
def _watch_folder(folder: Path, approx_total: int, progress: Progress | None, every_s: float = 1.0):
    """Report the bytes under ``folder`` every ``every_s`` seconds while a download that reports no progress of
    its own (huggingface_hub's) fills it; the total is the model's approximate size."""
    if progress is None:
        yield
        return
    stop = threading.Event()

    def watch() -> None:
        while not stop.wait(every_s):
            try:
                done = _size(folder)
            except OSError:  # a file renamed or removed while being counted: count again next time
                continue
            progress(done, max(approx_total, done))

    watcher = threading.Thread(target=watch, name="pull-progress", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        stop.set()
        watcher.join()


def _download(url: str, dest: Path, progress: Progress | None) -> None:
    part = dest.with_name(dest.name + ".part")
    with urllib.request.urlopen(url, timeout=30) as response, open(part, "wb") as out:  # nosec B310 - https URLs from the built-in model list only
        total = int(response.headers.get("Content-Length") or 0) or None
        done = 0
        while chunk := response.read(1 << 20):
            out.write(chunk)
            done += len(chunk)
            if progress:
                progress(done, total)
    shutil.move(part, dest)
