"""``python -m backend bench``: real-size models with random weights, timed stage by stage through the pipeline.

Random weights cost the same compute as trained ones, so the figures hold for the real checkpoints, with two
stand-ins that keep the work realistic: the prompter is forced to write exactly ``--tokens`` tokens (EOS is
suppressed), and the instances handed to SAM, and the masks handed to the geometry code, come from a known
truth (synthetic building footprints, :mod:`.truth`) instead of the random models' meaningless output. SAM still
encodes every tile and decodes every instance for real; only its mask is swapped for the truth inside the box.

Modules: :mod:`.models` builds the random-weight models, :mod:`.truth` the synthetic raster and its answers,
:mod:`.run` times the runs, :mod:`.report` prints them.
"""
