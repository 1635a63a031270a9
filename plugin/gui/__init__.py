"""The plugin's widgets: dock, settings dialog, rectangle map tool, reasoning viewer, and their presenter."""
