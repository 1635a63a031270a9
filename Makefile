# Think2Map: `make demo` sets up and runs a query; `make test` runs the tests. See README.md.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
RASTER ?= ../shared/data/gorinchem_river_0p25m_epsg28992.tif
QUERY ?= the river
OUT ?= out/demo.gpkg

.PHONY: setup demo test lint lock clean

$(VENV)/.installed: backend/requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r backend/requirements.txt -r requirements-dev.txt
	touch $@

setup: $(VENV)/.installed  ## build the backend environment in .venv

demo: setup  ## segment RASTER for QUERY with the default models (or explain how to get them)
	PY=$(PY) scripts/demo "$(RASTER)" "$(QUERY)" "$(OUT)"

test: setup  ## lint, then every test tier
	$(PY) -m ruff check .
	OMP_NUM_THREADS=1 $(PY) -m pytest tests -q -ra

lint: setup
	$(PY) -m ruff check .

lock: setup  ## re-pin backend/requirements.txt from the current environment
	{ head -n 2 backend/requirements.txt; $(PY) -m pip freeze --exclude-editable | grep -v -i -E '^(ruff|pytest|iniconfig|pluggy)=='; } > backend/requirements.lock.tmp
	mv backend/requirements.lock.tmp backend/requirements.txt

clean:
	rm -rf out test-artifacts .qgis-settings
