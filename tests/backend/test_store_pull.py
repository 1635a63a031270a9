"""Downloads from the Hugging Face hub report progress. The hub is unreachable here, so a fake
``snapshot_download`` (named as such) writes the files the way the real one does, in steps."""

import time

import huggingface_hub

from backend.models import store


def test_a_hub_download_reports_growing_progress_and_finds_the_weights(tmp_path, monkeypatch):
    spec = store.lookup("sam2.1-t")

    def fake_snapshot_download(repo_id, local_dir, allow_patterns):
        assert repo_id == spec.repo and allow_patterns == [spec.filename]
        part = local_dir / ".cache" / "huggingface" / "download" / (spec.filename + ".incomplete")
        part.parent.mkdir(parents=True)
        with open(part, "wb") as f:
            for _ in range(6):
                f.write(b"\0" * 400_000)
                f.flush()
                time.sleep(0.15)
        part.rename(local_dir / spec.filename)
        return str(local_dir)

    monkeypatch.setattr(huggingface_hub, "snapshot_download", fake_snapshot_download)
    monkeypatch.setattr(store, "_watch_folder", _fast(store._watch_folder))
    seen = []
    path = store.pull("sam2.1-t", tmp_path, lambda done, total: seen.append((done, total)))
    assert path == tmp_path / "sam2.1-t" / spec.filename
    assert len(seen) >= 3, seen
    dones = [d for d, _ in seen]
    assert dones == sorted(dones) and 0 < dones[-1] <= 2_400_000
    assert all(total == spec.approx_mb * 10**6 for _, total in seen)


def _fast(watch):
    return lambda folder, total, progress: watch(folder, total, progress, every_s=0.1)
