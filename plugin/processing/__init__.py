"""Think2Map's Processing provider: segmentation by text query as a Processing algorithm."""
