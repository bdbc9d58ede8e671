"""Inference: torch-free pipeline, interchangeable backends, and the ``Colorizer`` API."""
