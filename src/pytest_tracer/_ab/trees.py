"""The two trees an A/B run compares: a git ref in a temporary worktree, or a
directory, against the working tree as it is.

The user's working tree, index and branches are never changed: the base is
checked out detached in a worktree under a temporary directory, which is
removed when the run ends, however it ends.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Final

GIT_TIMEOUT: Final = 120.0


class SetupError(Exception):
    """A side cannot be set up; the message names what was wrong."""


@dataclass(frozen=True)
class Side:
    """One version of the code: where pytest runs for it, and what it is.

    :param workdir: Where pytest runs, and whose ``src/`` (when present) and
        itself come first on ``sys.path``. For a git ref, the same directory
        of the worktree as the head's of its repository.
    :param label: How the side is named in output (``main@1a2b3c4d10``).
    """

    name: str
    workdir: Path
    label: str


def _git(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            ["git", *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except FileNotFoundError:
        msg = "git is not installed: give BASE as a directory instead of a ref"
        raise SetupError(msg) from None
    except subprocess.TimeoutExpired:
        msg = f"git {' '.join(args)} took more than {GIT_TIMEOUT:g} s in {cwd}"
        raise SetupError(msg) from None


def _toplevel(directory: Path) -> Path | None:
    done = _git(directory, "rev-parse", "--show-toplevel")
    return Path(done.stdout.strip()) if done.returncode == 0 else None


def head_side(directory: Path) -> Side:
    """The working tree at *directory*, uncommitted changes included.

    :raises SetupError: *directory* is not a directory.
    """
    if not directory.is_dir():
        msg = f"--head {directory}: no such directory"
        raise SetupError(msg)
    directory = directory.resolve()
    return Side("head", directory, f"working tree {directory}")


@contextmanager
def base_side(base: str, head: Side) -> Iterator[Side]:
    """The other version: a directory as it is, or a git ref checked out in a
    temporary worktree that is removed afterwards (also on errors and Ctrl-C).

    :raises SetupError: *base* is neither a directory nor a commit of the
        repository holding the head, or git failed.
    """
    path = Path(base)
    if path.is_dir():
        directory = path.resolve()
        yield Side("base", directory, f"directory {directory}")
        return
    if path.exists() or not _looks_like_ref(base):
        msg = f"BASE {base!r}: no such directory"
        raise SetupError(msg)
    top = _toplevel(head.workdir)
    if top is None:
        msg = (
            f"BASE {base!r} is not a directory, and {head.workdir} is not in a git "
            "repository to find it as a ref in"
        )
        raise SetupError(msg)
    done = _git(top, "rev-parse", "--verify", "--quiet", f"{base}^{{commit}}")
    if done.returncode != 0:
        msg = f"BASE {base!r}: no such commit, branch or tag in {top}"
        raise SetupError(msg)
    commit = done.stdout.strip()
    scratch = Path(tempfile.mkdtemp(prefix="pytest-tracer-ab-"))
    tree = scratch / "base"
    try:
        added = _git(top, "worktree", "add", "--detach", str(tree), commit)
        if added.returncode != 0:
            msg = f"git worktree add failed for {base!r}: {added.stderr.strip()}"
            raise SetupError(msg)
        workdir = tree / head.workdir.relative_to(top)
        if not workdir.is_dir():
            msg = f"BASE {base!r} has no {head.workdir.relative_to(top)} directory"
            raise SetupError(msg)
        yield Side("base", workdir, f"{base}@{commit[:10]}")
    finally:
        _git(top, "worktree", "remove", "--force", str(tree))
        shutil.rmtree(scratch, ignore_errors=True)
        _git(top, "worktree", "prune")


def _looks_like_ref(text: str) -> bool:
    # origin/main is a ref; ./old or ../base are paths.
    return not text.startswith((".", "/", "~"))
