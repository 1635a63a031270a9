"""Where the tests find their inputs, in one place for the conftests, the scripts and the desktop test."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The real georeferenced rasters (../shared/data beside the checkout unless told otherwise).
SHARED_DATA = Path(os.environ.get("THINK2MAP_TEST_DATA", ROOT.parent / "shared" / "data"))
# One tiny-model folder for a whole run: `make test` builds it once (`models tiny --reuse`), every tier and script
# reads it from here, and a folder built by other code is rebuilt (backend/models/tiny.py, ensure_tiny_models).
TINY_MODELS = Path(os.environ.get("THINK2MAP_TINY_MODELS", ROOT / "out" / "tiny-models"))
