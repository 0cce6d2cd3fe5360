"""The history of runs: the store, run metadata, baseline selection, the verdict
and the ``history`` command.

Loaded only when a run saves or compares, or the command runs: neither the
core nor the plain plugin path imports it.
"""
