"""Measuring: accuracy on EarthReason-format data (``evaluate``) and speed with random weights (``bench``)."""
