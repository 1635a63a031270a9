"""Engines that run a plan elsewhere than in this process (a Ray cluster)."""
