"""The models: the Think2Seg-RS prompt, prompters, segmenters, how they are built and loaded, and their weights."""
