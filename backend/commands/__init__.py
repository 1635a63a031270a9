"""The subcommands of ``python -m backend``: each module registers its own parser and handler."""
