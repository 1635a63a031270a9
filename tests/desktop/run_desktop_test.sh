#!/usr/bin/env bash
# Desktop end-to-end test: the real QGIS under Xvfb, the plugin installed in a throwaway profile, the real
# backend (.venv) with tiny models and a forced answer. Screenshots and a report go to test-artifacts/.
# Exit status: 0 when every check in drive_dock.py passed, non-zero otherwise (timeout included).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
PY=${PY:-$ROOT/.venv/bin/python}
ARTIFACTS=${ARTIFACTS:-$ROOT/test-artifacts}
LANGUAGE=${DESKTOP_LANGUAGE:-en}  # fr: QGIS (and so the plugin) in French; its screenshots in test-artifacts/fr/
[ "$LANGUAGE" = en ] || ARTIFACTS=$ARTIFACTS/$LANGUAGE
RASTER=${RASTER:-$ROOT/../shared/data/gorinchem_river_0p25m_epsg28992.tif}
TIMEOUT=${DESKTOP_TIMEOUT:-300}
ANSWER='<think>x</think><answer>[{"bbox_2d": [100,100,400,400], "positive_points": [[250,250],[300,300]]}]</answer>'

for tool in qgis xvfb-run import; do
  command -v "$tool" >/dev/null || { echo "desktop test: '$tool' is missing (apt-get install qgis xvfb imagemagick)" >&2; exit 2; }
done
GDAL2TILES=$(command -v gdal2tiles.py || command -v gdal2tiles || true)
[ -n "$GDAL2TILES" ] || { echo "desktop test: gdal2tiles is missing (apt-get install gdal-bin)" >&2; exit 2; }
[ -x "$PY" ] || { echo "desktop test: no backend Python at $PY (run make setup)" >&2; exit 2; }

mkdir -p "$ARTIFACTS"
rm -f "$ARTIFACTS"/desktop.png "$ARTIFACTS"/dock.png "$ARTIFACTS"/reasoning.png "$ARTIFACTS"/click-*.png "$ARTIFACTS"/crash*.png \
  "$ARTIFACTS"/new-project.png "$ARTIFACTS"/dock-no-crs.png "$ARTIFACTS"/dock-setup.png "$ARTIFACTS"/desktop-report.json \
  "$ARTIFACTS"/basemap*.png "$ARTIFACTS"/dock-basemap.png
WORK=$(mktemp -d "${TMPDIR:-/tmp}/think2map-desktop.XXXXXX")
TILES_PID=""
trap '[ -z "$TILES_PID" ] || kill "$TILES_PID" 2>/dev/null; rm -rf "$WORK"' EXIT

if [ ! -f "$RASTER" ]; then
  # A checkout without ../shared/data still gets a real georeferenced raster: a synthetic RGB GeoTIFF.
  echo "desktop test: $RASTER not found; using a synthetic GeoTIFF in EPSG:28992 instead" >&2
  RASTER=$WORK/synthetic_epsg28992.tif
  "$PY" - "$RASTER" <<'PYEOF'
import sys
import numpy as np
import rasterio
from rasterio.transform import from_origin
rng = np.random.default_rng(0)
img = (rng.random((3, 800, 800)) * 60 + np.array([40, 90, 60])[:, None, None]).astype("uint8")
img[:, 250:550, 200:600] = np.array([20, 60, 140])[:, None, None]  # a "lake"
with rasterio.open(sys.argv[1], "w", driver="GTiff", width=800, height=800, count=3, dtype="uint8",
                   crs="EPSG:28992", transform=from_origin(121000, 425000, 0.25, 0.25)) as dst:
    dst.write(img)
PYEOF
fi

# A basemap of the same raster: an XYZ pyramid (zoom 12 to 19) served on loopback by Python's HTTP server.
"$GDAL2TILES" -q --xyz -z 12-19 -w none -r bilinear "$RASTER" "$WORK/tiles" >"$WORK/tiles.log" 2>&1 ||
  { cat "$WORK/tiles.log"; exit 1; }
TILES_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 -m http.server --bind 127.0.0.1 --directory "$WORK/tiles" "$TILES_PORT" >"$WORK/tile-server.log" 2>&1 &
TILES_PID=$!
export THINK2MAP_E2E_XYZ="http://127.0.0.1:$TILES_PORT/{z}/{x}/{y}.png"

# The run's shared tiny models (tests/locations.py): built once, reused while the code that builds them is the same.
TINY=${THINK2MAP_TINY_MODELS:-$ROOT/out/tiny-models}
OMP_NUM_THREADS=1 "$PY" -m backend models tiny --reuse "$TINY" >"$WORK/tiny.log" 2>&1 || { cat "$WORK/tiny.log"; exit 1; }

PROFILE=$WORK/profiles/profiles/default
mkdir -p "$PROFILE/QGIS"
printf '[qgis]\ncheckVersion=false\n' >"$PROFILE/QGIS/QGIS3.ini"
[ "$LANGUAGE" = en ] || printf '[locale]\noverrideFlag=true\nuserLocale=%s\n' "$LANGUAGE" >>"$PROFILE/QGIS/QGIS3.ini"
if [ -n "${DESKTOP_FROM_ZIP:-}" ]; then
  # As a user gets it: the package from `make package`, unpacked by the installer script, no link to the checkout.
  ZIP=$DESKTOP_FROM_ZIP
  if [ "$ZIP" = 1 ]; then
    "$PY" scripts/package.py --out "$WORK/dist" >"$WORK/package.log" 2>&1 || { cat "$WORK/package.log"; exit 1; }
    ZIP=$(ls "$WORK"/dist/think2map-*.zip)
  fi
  python3 scripts/install_qgis_plugin.py --profiles-path "$WORK/profiles" --profile default --zip "$ZIP"
  export THINK2MAP_E2E_INSTALLED_COPY=$PROFILE/python/plugins/think2map
else
  python3 scripts/install_qgis_plugin.py --profiles-path "$WORK/profiles" --profile default ${DESKTOP_COPY:+--copy}
fi

export THINK2MAP_E2E_ARTIFACTS=$ARTIFACTS THINK2MAP_E2E_RASTER=$RASTER THINK2MAP_E2E_PYTHON=$PY
export THINK2MAP_E2E_PROMPTER=$TINY/tiny-think2seg THINK2MAP_E2E_SEGMENTER=$TINY/tiny-sam2
export THINK2MAP_E2E_ANSWER=$ANSWER THINK2MAP_E2E_TIMEOUT=$((TIMEOUT - 30)) THINK2MAP_E2E_LANGUAGE=$LANGUAGE
export OMP_NUM_THREADS=1
export GDAL_PAM_ENABLED=NO  # no statistics file written beside the shared rasters QGIS draws
unset QT_QPA_PLATFORM  # offscreen makes the desktop qgis segfault

echo "desktop test ($LANGUAGE): starting QGIS under Xvfb (profile in $WORK)"
status=0
timeout --kill-after=10 "$TIMEOUT" xvfb-run -a -s "-screen 0 1600x1000x24" \
  qgis --profiles-path "$WORK/profiles" --profile default --nologo --noversioncheck \
  --code "$ROOT/tests/desktop/drive_dock.py" >"$WORK/qgis.log" 2>&1 || status=$?
grep -E '^\[drive_dock' "$WORK/qgis.log" || true
cp "$WORK/qgis.log" "$ARTIFACTS/desktop-qgis.log"
if [ "$status" -ne 0 ]; then
  echo "desktop test FAILED (status $status; 124 = timeout). QGIS output: $ARTIFACTS/desktop-qgis.log" >&2
  tail -40 "$WORK/qgis.log" >&2
  exit 1
fi
grep -q '"status": 0' "$ARTIFACTS/desktop-report.json" || { echo "desktop test: no passing report" >&2; exit 1; }
echo "desktop test passed: $ARTIFACTS/desktop.png, $ARTIFACTS/dock.png, $ARTIFACTS/reasoning.png"
