"""pytest plugin entry point (``-p no:tracer`` turns it off)."""

from __future__ import annotations
