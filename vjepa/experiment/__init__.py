"""Reproducible experiments on top of the library: ``vjepa experiment paper`` (docs/experiment.md)."""
