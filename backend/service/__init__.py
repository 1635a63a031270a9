"""The HTTP service the plugin talks to: routes, request bodies, the job queue and model downloads."""
