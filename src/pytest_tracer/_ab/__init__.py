"""``python -m pytest_tracer ab BASE``: two versions of the code, one runner.

The base version is checked out in a temporary git worktree (or given as a
directory), the head is the working tree as it is. Each round runs pytest once
per side, in alternating order, and the verdict pairs the sides round by
round, so drift of the machine between rounds cancels. Loaded only by the
command: neither the core nor the plugin imports it.
"""
