"""A small shop application timed with pytest-tracer, as production code would be."""
