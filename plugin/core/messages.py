"""The plugin's own sentences for the problems the backend reports by code (``contract.ERROR_CODES``), translated.

The backend sends ``{"detail", "code", "params"}``; the dock and Processing show :func:`message_for` instead of
the backend's English ``detail`` (kept for the Details button and the log), naming their own controls rather
than the command line's flags. A sentence may differ by where it is shown: ``DOCK`` or ``PROCESSING``.
"""

from __future__ import annotations

from .i18n import tr

DOCK, PROCESSING = "dock", "processing"


def message_for(code: str | None, params: dict | None = None, fallback: str = "", where: str = DOCK) -> str:
    """The sentence for ``code`` with its ``params``; ``fallback`` (or a generic sentence) for an unknown code."""
    code, params = _normalised(code or "", dict(params or {}))
    entry = _templates().get(code)
    if entry is None:
        return fallback or tr("The backend reported a problem it did not name ({code}).").format(code=code or "?")
    template = (entry.get(where) or entry[DOCK]) if isinstance(entry, dict) else entry
    try:
        return template.format(**params)
    except (KeyError, IndexError, ValueError):
        return fallback or template


def known_codes() -> set[str]:
    """The codes this module words (tests hold them against the contract)."""
    return set(_templates())


def _normalised(code: str, params: dict) -> tuple[str, dict]:
    """Codes the plugin says more precisely than the backend's generic ones, and parameters put in words."""
    if code == "invalid_request" and params.get("field") == "query" and params.get("type") == "string_too_long":
        limit = (params.get("ctx") or {}).get("max_length", "?")
        return "query_too_long", {"length": tr("more than {max}").format(max=limit), "max": limit}
    if "kind" in params:
        params["kind"] = {"prompter": tr("prompter"), "segmenter": tr("segmenter")}.get(params["kind"], params["kind"])
    if "max_bytes" in params:
        params["max_kb"] = int(params["max_bytes"]) // 1024
    return code, params


def _templates() -> dict[str, str | dict[str, str]]:
    # Built on each call so that tr() sees the translator installed when the plugin loaded.
    protocol = tr("The backend does not understand this request: update the plugin and the backend to one version.")
    return {
        # requests and options
        "bad_request": tr("The backend refused the request."),
        "invalid_request": tr("The backend refused the value of '{field}'."),
        "request_too_large": tr("The request is larger than the backend accepts ({max_kb} KB)."),
        "unauthorized": tr("The backend refused the token: check the token in Think2Map settings."),
        "not_found": protocol,
        "method_not_allowed": protocol,
        "http_error": tr("The backend answered with an error."),
        "bad_option": tr("An option is out of the backend's range."),
        "bad_tile_size": {
            DOCK: tr(
                "The tile size must be between {min} and {max} pixels (it is {value}): change it in Advanced options."
            ),
            PROCESSING: tr("The tile size must be between {min} and {max} pixels (it is {value})."),
        },
        "bad_overlap": {
            DOCK: tr(
                "The overlap must be at most half the tile size: {max} pixels for tiles of {tile_size} (it is "
                "{value}). Lower it in Advanced options, or raise the tile size."
            ),
            PROCESSING: tr(
                "The overlap must be at most half the tile size: {max} pixels for tiles of {tile_size} (it is "
                "{value}). Lower the Tile overlap, or raise the Tile size."
            ),
        },
        "bad_max_tiles": tr("The tile limit must be at least 1."),
        "bad_min_area": tr("The minimum area must be 0 pixels or more."),
        "bad_strategy": tr(
            "This strategy setting cannot be used: choose every tile, the overview first or automatic, and keep the "
            "overview's zoom and the tile sample in their ranges."
        ),
        "empty_query": {
            DOCK: tr("Type what to look for, for example: the river."),
            PROCESSING: tr("Type what to look for in the Query parameter, for example: the river."),
        },
        "query_too_long": tr("The query is {length} characters long; keep it to {max} at most."),
        "not_a_phrase": tr(
            "Finding every instance takes a short phrase naming what to find, of {max} words at most, not a question "
            "or a sentence; choose Reasoning or Automatic for this query."
        ),
        "queue_full": tr("The backend has {queued} jobs waiting, its limit of {limit}; try again when some are done."),
        "busy": tr("The backend is busy with another click; try again in a moment."),
        "shutting_down": tr("The backend is shutting down and takes no new work; restart it and try again."),
        "job_not_found": tr("The backend no longer knows this job: it was restarted or has forgotten old jobs."),
        # rasters and areas
        "raster_not_found": tr(
            "The backend cannot find the raster {path} (a shared server reads only its own data folders)."
        ),
        "not_a_raster": tr("{path} is not an image the backend can read."),
        "bad_raster": tr("The backend cannot use the raster {path} or the area asked for."),
        "bad_crs": tr(
            "The coordinate reference system of {path} is not one the backend understands: assign a standard one "
            "(Raster ▸ Projections ▸ Assign Projection)."
        ),
        "no_crs": {
            DOCK: tr(
                "{path} has no coordinate reference system: assign one (Raster ▸ Projections ▸ Assign Projection), "
                "or tick Pixel coordinates in Advanced options."
            ),
            PROCESSING: tr(
                "{path} has no coordinate reference system: assign one (Raster ▸ Projections ▸ Assign Projection), "
                "or set the Pixel coordinates parameter."
            ),
        },
        "no_geotransform": {
            DOCK: tr(
                "{path} is not georeferenced: nothing says where its pixels lie. Georeference it (Layer ▸ "
                "Georeferencer), or tick Pixel coordinates in Advanced options."
            ),
            PROCESSING: tr(
                "{path} is not georeferenced: nothing says where its pixels lie. Georeference it (Layer ▸ "
                "Georeferencer), or set the Pixel coordinates parameter."
            ),
        },
        "bad_bands": {
            DOCK: tr(
                "The raster's bands cannot be used: give one band or three (red, green, blue) in Advanced options."
            ),
            PROCESSING: tr("The raster's bands cannot be read as one grey band or three colour bands."),
        },
        "no_such_band": {
            DOCK: tr("The raster has {bands} band(s), so there is no band {band}: change Bands in Advanced options."),
            PROCESSING: tr("The raster has {bands} band(s), so there is no band {band}."),
        },
        "bad_bounds": tr("The area to search is not a valid rectangle."),
        "area_outside": {
            DOCK: tr("The area does not overlap the raster: pan or zoom to it, or draw a rectangle over it."),
            PROCESSING: tr("The area to search does not overlap the raster."),
        },
        "no_valid_pixels": tr("Every pixel of {path} in this area is nodata: there is nothing to search."),
        "raster_changed": tr("The raster {path} changed or vanished while it was searched; run the query again."),
        "too_many_tiles": {
            DOCK: tr(
                "This area needs {tiles} tiles, more than the limit of {limit}: choose a smaller area (Current map "
                "extent, or a rectangle drawn on the map), a larger tile size, or raise the tile limit in Advanced "
                "options."
            ),
            PROCESSING: tr(
                "This area needs {tiles} tiles, more than the limit of {limit}: choose a smaller Area to search, a "
                "larger Tile size, or raise the Tile limit parameter."
            ),
        },
        # models and devices
        "unknown_model": tr(
            "The backend does not know the model '{name}': choose one from the list, or give a local folder or "
            "checkpoint."
        ),
        "model_not_found": tr("There is no model file or folder at {name}."),
        "wrong_model_kind": tr("'{name}' is not a {kind}: choose a {kind} there."),
        "missing_weights": {
            DOCK: tr("The {kind} '{name}' is not downloaded yet: click Download beside the models, or choose another."),
            PROCESSING: tr(
                "The {kind} '{name}' is not downloaded yet: download it from the Think2Map panel, or run "
                "'python -m backend models pull {name}' in the backend's environment."
            ),
        },
        "bad_model": tr("A model could not be loaded: its files are incomplete or of a kind Think2Map does not know."),
        "pulls_not_allowed": tr("This server does not download models: ask its administrator to install '{name}'."),
        "download_failed": tr(
            "The download failed: check the network connection (and the proxy in QGIS's options), then try again."
        ),
        "bad_device": tr(
            "The backend does not know the device '{device}': choose auto, cpu or cuda in Think2Map settings."
        ),
        "no_gpu": tr(
            "The device '{device}' needs a GPU that the backend cannot use: choose auto or cpu in Think2Map settings, "
            "or install PyTorch with CUDA in the backend's environment."
        ),
        "no_segmenter": tr("This backend cannot load a segmenter for clicks."),
        # clicks
        "no_prompt": tr("Click on the object, or drag a box around it."),
        "bad_prompt": tr("The click could not be placed on the raster."),
        "empty_box": tr("The box has no size: drag a rectangle around the object."),
        "no_positive_point": tr("Click at least once inside the object (a left click)."),
        "prompt_outside": tr("The click or the box lies outside the raster."),
        "too_many_points": tr(
            "{points} points are more than the {max} one outline takes: add this one and start anew."
        ),
        "superseded": tr("A newer click replaced this one."),
        "prompt_failed": tr("The segmenter failed on this click."),
        # a job that fails while it runs
        "model_load_failed": tr("The backend could not load the models."),
        "out_of_memory": {
            DOCK: tr(
                "The GPU ran out of memory: choose a smaller tile size (Advanced options) or a smaller segmenter, "
                "or close other programs that use the GPU."
            ),
            PROCESSING: tr(
                "The GPU ran out of memory: choose a smaller Tile size or a smaller Segmenter, or close other "
                "programs that use the GPU."
            ),
        },
        "job_failed": tr("The job stopped on an unexpected error in the backend."),
        # the command line's outputs and tools (a client seldom sees these)
        "bad_output_format": tr("{path}: the backend does not write this format."),
        "bad_output": tr("{path} cannot be used as an output."),
        "output_exists": tr("{path} already exists."),
        "bad_layer_name": tr("'{layer}' cannot be a GeoPackage layer name."),
        "output_is_input": tr("{path} is the input raster: choose another output."),
        "output_not_writable": tr("{path} cannot be written: choose a folder you can write to."),
        "output_write_failed": tr("Writing {path} failed."),
        "disk_full": tr("The disk holding {path} is full: free some space or choose another folder."),
        "no_data_root": tr("A shared server needs a data folder."),
        "bad_dataset": tr("The evaluation dataset is incomplete."),
        # uploads to a remote backend
        "uploads_off": tr(
            "The remote backend cannot read this raster and takes no uploads: put the raster in one of its data "
            "folders, or ask its administrator to allow uploads (--uploads-mb)."
        ),
        "upload_too_large": tr(
            "The area is larger than the remote backend takes ({max_mb} MB): zoom in, or draw a smaller rectangle."
        ),
        "uploads_full": tr("The remote backend's room for uploads ({limit_mb} MB) is full: try again in a while."),
        "bad_upload": tr("The remote backend could not read the area QGIS sent it."),
    }
