"""Plugin logic without widgets: settings, backend process, HTTP client, tasks, layers and extents."""
