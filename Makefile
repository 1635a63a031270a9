# Think2Map: `make demo` sets up and runs a query; `make test` runs the tests. See README.md.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
RASTER ?= ../shared/data/gorinchem_river_0p25m_epsg28992.tif
QUERY ?= the river
OUT ?= out/demo.gpkg
QGIS_PYTHON ?= /usr/bin/python3
QVENV := .venv-qgis
QPY := $(QVENV)/bin/python
QGIS_PROFILES ?= $(HOME)/.local/share/QGIS/QGIS3
QGIS_PROFILE ?= default
LRELEASE ?= lrelease
I18N_QM := $(patsubst %.ts,%.qm,$(wildcard i18n/*.ts))
VERSION := $(shell sed -n 's/^version=//p' metadata.txt)
PLUGIN_ZIP := dist/think2map-$(VERSION).zip
# One tiny-model folder for the whole run (tests/locations.py): built once by `make tiny`, read by every tier.
TINY_MODELS ?= $(CURDIR)/out/tiny-models
export THINK2MAP_TINY_MODELS := $(TINY_MODELS)
# The tiers (pyproject.toml's markers): `make test-fast` runs the tests that carry none of them.
FAST := not live and not install and not sweep and not bench
PYTEST := OMP_NUM_THREADS=1 $(PY) -m pytest -q -ra --durations=15
QPYTEST := QT_QPA_PLATFORM=offscreen OMP_NUM_THREADS=1 $(QPY) -m pytest -q -ra --durations=15

.PHONY: system setup demo tiny test test-fast test-backend test-plugin test-desktop test-qgis-3.44 test-qgis-3.40 package i18n qgis lint lock openapi bench-gpu bench-tiny bench-web gpu-wheels clean

$(VENV)/.installed: backend/requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r backend/requirements.txt -r requirements-dev.txt
	touch $@

setup: $(VENV)/.installed  ## build the backend environment in .venv

system:  ## install the Debian packages (QGIS, lrelease, Xvfb) if any is missing; uses sudo when not root
	scripts/system-packages

$(QVENV)/.installed: requirements-qgis.txt
	@$(QGIS_PYTHON) -c "import qgis.core" || { echo "$(QGIS_PYTHON) cannot import qgis: install QGIS (apt-get install qgis python3-qgis) or set QGIS_PYTHON"; exit 1; }
	$(QGIS_PYTHON) -m venv --system-site-packages $(QVENV)
	$(QPY) -m pip install --quiet --disable-pip-version-check -r requirements-qgis.txt
	touch $@

demo: setup  ## segment RASTER for QUERY with the default models (or explain how to get them)
	PY=$(PY) scripts/demo "$(RASTER)" "$(QUERY)" "$(OUT)"

tiny: setup  ## build the run's tiny random models once (out/tiny-models), reused while their code is unchanged
	OMP_NUM_THREADS=1 $(PY) -m backend models tiny --reuse "$(TINY_MODELS)" >/dev/null

test-fast: setup $(QVENV)/.installed lint tiny  ## before each commit: lint, then every test without a tier marker (~3 min)
	scripts/run-tiers backend '$(PYTEST) tests -m "$(FAST)"' plugin '$(QPYTEST) tests/plugin -m "$(FAST)"'

# The plugin tier (less the installer's) and the desktop test inside a root with another QGIS (scripts/qgis-root),
# on the root's Python; the backend stays this checkout's .venv. Artifacts in test-artifacts/qgis-VERSION/.
in_qgis_root = scripts/qgis-root $(1) 'QT_QPA_PLATFORM=offscreen OMP_NUM_THREADS=1 PYTHONDONTWRITEBYTECODE=1 \
	  python3 -m pytest -q -ra -p no:cacheprovider -m "not install" tests/plugin && \
	  DESKTOP_FROM_ZIP=$(CURDIR)/$(PLUGIN_ZIP) ARTIFACTS=$(CURDIR)/test-artifacts/qgis-$(1) tests/desktop/run_desktop_test.sh'

# Every test, in five processes side by side (their logs in test-artifacts/tiers/): the backend tier less its sweeps
# and its bench suite, the sweeps (bad-input list, API fuzzing) with the bench suite, the plugin tier, the desktop test, which installs the zip built here, and
# the plugin tier and the desktop test again on QGIS 3.44 (its root built first when missing).
test: system setup $(QVENV)/.installed lint tiny package  ## lint, then every test of every tier (what CI runs)
	scripts/run-tiers backend 'THINK2MAP_PLUGIN_ZIP=$(CURDIR)/$(PLUGIN_ZIP) $(PYTEST) tests -m "not sweep and not bench"' \
	  sweep '$(PYTEST) tests -m "sweep or bench"' plugin '$(QPYTEST) tests/plugin' \
	  desktop 'DESKTOP_FROM_ZIP=$(CURDIR)/$(PLUGIN_ZIP) tests/desktop/run_desktop_test.sh && \
	    DESKTOP_LANGUAGE=fr DESKTOP_FROM_ZIP=$(CURDIR)/$(PLUGIN_ZIP) tests/desktop/run_desktop_test.sh' \
	  qgis-3.44 '$(MAKE) --no-print-directory in-qgis-root-3.44'

test-qgis-3.44: setup tiny package  ## the plugin tier and the desktop test on QGIS 3.44 (a Debian sid root, built once)
	$(call in_qgis_root,3.44)

test-qgis-3.40: setup tiny package  ## the plugin tier and the desktop test on QGIS 3.40 (a Debian trixie root, built once)
	$(call in_qgis_root,3.40)

in-qgis-root-%:  # what test-qgis-VERSION runs, without its prerequisites (a tier of `make test`)
	$(call in_qgis_root,$*)

test-backend: setup tiny  ## backend tier: logic, tiny models, real rasters, the real server (every marker)
	$(PYTEST) tests

test-plugin: setup $(QVENV)/.installed tiny  ## plugin tests: pytest-qgis on QGIS's Python, headless, real backend in .venv
	$(QPYTEST) tests/plugin

test-desktop: setup i18n tiny  ## the real QGIS under Xvfb drives the dock (English, then French), installed from the plugin zip; screenshots in test-artifacts/
	DESKTOP_FROM_ZIP=1 tests/desktop/run_desktop_test.sh
	DESKTOP_LANGUAGE=fr DESKTOP_FROM_ZIP=1 tests/desktop/run_desktop_test.sh

package: setup i18n  ## build and check dist/think2map-VERSION.zip for the Plugin Manager (plugins.qgis.org)
	$(PY) scripts/package.py --out dist

i18n: $(I18N_QM)  ## compile the translations (i18n/*.ts -> .qm, needs lrelease from qttools5-dev-tools)

i18n/%.qm: i18n/%.ts
	QT_SELECT=qt5 $(LRELEASE) -silent $< -qm $@

qgis: system setup $(QVENV)/.installed i18n  ## install the plugin into QGIS profile QGIS_PROFILE (enabled) and start QGIS
	python3 scripts/install_qgis_plugin.py --profiles-path "$(QGIS_PROFILES)" --profile "$(QGIS_PROFILE)"
	qgis --profiles-path "$(QGIS_PROFILES)" --profile "$(QGIS_PROFILE)"

lint: setup  ## ruff (lint and format), mypy, and the Qt6 gate (flake8-qgis's QGIS and Qt6 rules; PyQt6 names)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy
	$(PY) -m flake8 plugin __init__.py tests/plugin tests/desktop
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q -p no:cacheprovider tests/test_qt6_gate.py

bench-gpu: setup  ## on a machine with a GPU: every GPU figure in one run (out/bench-gpu/, ~7 min); see docs/benchmarks.md
	PYTHON=$(PY) scripts/gpu-bench

bench-tiny: setup  ## the same suite with tiny models on the CPU (under 2 min): what CI checks
	SUITE=tiny PYTHON=$(PY) scripts/gpu-bench

bench-web: setup $(QVENV)/.installed tiny  ## web layers: a 1600 × 1000 px view's export from a loopback tile server, first and second click (~20 s)
	QT_QPA_PLATFORM=offscreen $(QPY) scripts/bench_web.py --json out/bench-web.json

gpu-wheels: setup  ## gather into .whl/ the wheels the device machine lacks for bench-gpu (it has no network)
	$(PY) scripts/gpu_wheels.py

openapi: setup  ## regenerate docs/openapi.json (the API contract) from the server's code
	$(PY) -m backend serve --openapi docs/openapi.json

lock:  ## re-pin backend/requirements.txt: resolve backend/requirements.in in a scratch venv and freeze it
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet --disable-pip-version-check -r backend/requirements.in
	{ head -n 2 backend/requirements.txt; .lock-venv/bin/python -m pip freeze --exclude-editable; } > backend/requirements.lock.tmp
	mv backend/requirements.lock.tmp backend/requirements.txt && rm -rf .lock-venv

clean:
	rm -rf out dist test-artifacts .qgis-settings i18n/*.qm
