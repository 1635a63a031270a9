"""``python -m backend``: see backend/cli.py."""

import gc
import sys

from .cli import main

code = main()
# The run is over and its files are complete. Freezing the heap spares the interpreter's last collections a walk
# through every model object (over a second with torch and transformers loaded), so Ctrl-C ends the process at once.
gc.freeze()
sys.exit(code)
