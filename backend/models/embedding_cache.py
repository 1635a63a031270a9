"""An LRU cache of SAM image embeddings, so a second query (or a click) on the same area skips the encoder.

Keys name exactly what the encoder saw: the raster file (path, modification time, size), the window, the
bands, and the segmenter instance. Values are the segmenters' opaque embedding objects, which report their
size in ``nbytes``; the cache holds at most ``max_bytes`` of them and drops the least recently used first.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Hashable, Sequence
from typing import Any

DEFAULT_MB = 1024
ENV_MB = "THINK2MAP_EMBEDDING_CACHE_MB"


def segmenter_identity(segmenter: Any) -> Hashable:
    """A key for one loaded segmenter: its ``cache_id`` (unique per loaded model) or, failing that, its id."""
    return getattr(segmenter, "cache_id", None) or (type(segmenter).__name__, id(segmenter))


def embedding_key(raster: tuple, window: Sequence[int], bands: Sequence[int], segmenter: Any) -> tuple:
    """The cache key of one tile's embedding (``raster``: the raster's identity, ``geo.raster.raster_identity``)."""
    return (raster, tuple(int(v) for v in window), tuple(int(b) for b in bands), segmenter_identity(segmenter))


class EmbeddingCache:
    """A thread-safe LRU bounded by the total ``nbytes`` of its values. ``max_bytes=0`` disables it."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max(0, int(max_bytes))
        self._items: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._lock = threading.Lock()
        self.bytes = 0
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: Hashable) -> Any | None:
        """The value, marked most recently used, or None (counted as a miss)."""
        with self._lock:
            item = self._items.get(key)
            if item is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return item[0]

    def put(self, key: Hashable, value: Any) -> None:
        """Store ``value`` (its size is ``value.nbytes``); values larger than the whole budget are not kept."""
        size = int(getattr(value, "nbytes", 0))
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self.bytes -= old[1]
            if size > self.max_bytes:
                return
            self._items[key] = (value, size)
            self.bytes += size
            while self.bytes > self.max_bytes:
                _, (_, dropped) = self._items.popitem(last=False)
                self.bytes -= dropped

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.bytes = 0


_shared: EmbeddingCache | None = None


def shared_cache() -> EmbeddingCache:
    """The process-wide cache used by the pipeline; its budget is ``$THINK2MAP_EMBEDDING_CACHE_MB`` (1024 MB)."""
    global _shared
    if _shared is None:
        try:
            mb = float(os.environ.get(ENV_MB, DEFAULT_MB))
        except ValueError:
            mb = DEFAULT_MB
        _shared = EmbeddingCache(int(mb * 2**20))
    return _shared
