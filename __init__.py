"""Think2Map QGIS plugin entry point.

QGIS imports this package under the name of the plugin folder and calls ``classFactory``. Only the standard
library, ``qgis`` and ``qgis.PyQt`` are imported on this side: the models run in the separate backend.
"""


def classFactory(iface):  # noqa: N802 (QGIS's name)
    """Create the plugin for QGIS."""
    from .plugin.plugin import Think2MapPlugin

    return Think2MapPlugin(iface)
