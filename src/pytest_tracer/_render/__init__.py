"""Renderers: pure functions from the run's results to what people read."""
