"""Where and when a run happened: git state, Python, and the machine's fingerprint.

Saved with every run, so that comparisons can tell runs on other hardware apart.
"""

from __future__ import annotations

import hashlib
import os
import platform as _platform
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, NamedTuple

#: Seconds ``git`` may take to answer before the run is saved without it.
GIT_TIMEOUT: Final = 5.0


@dataclass(frozen=True)
class RunMeta:
    """Where and when a run happened, to tell comparable runs apart.

    ``system`` and ``machine`` default to this interpreter's
    :func:`platform.system` and :func:`platform.machine`.
    """

    created: float
    label: str | None
    commit: str | None
    branch: str | None
    python: str
    pytest: str
    platform: str
    cpu_model: str
    cores: int
    workers: int
    system: str = field(default_factory=_platform.system)
    machine: str = field(default_factory=_platform.machine)
    #: The CI service that ran the job (``github``, ``gitlab``, ...), if any.
    ci_provider: str | None = None
    #: The job's page on that service, where its variables give one.
    ci_url: str | None = None
    #: Why the run is not a whole one (``interrupted``, ``collect only``,
    #: ``stopped early``, ``no test ran``); None for a whole run.
    incomplete: str | None = None

    @property
    def fingerprint(self) -> str:
        """Ten hex digits that are equal exactly for runs on the same hardware.

        Built from the CPU model, core count, architecture and OS, and not from
        the OS version, so a kernel update keeps runs comparable.
        """
        return _fingerprint(self.system, self.machine, self.cpu_model, self.cores)


def _fingerprint(system: str, machine: str, cpu_model: str, cores: int) -> str:
    key = "\0".join((system, machine, cpu_model, str(cores)))
    return hashlib.blake2b(key.encode(), digest_size=5).hexdigest()


def machine_fingerprint() -> str:
    """The fingerprint a run on this machine gets (see :attr:`RunMeta.fingerprint`)."""
    return _fingerprint(
        _platform.system(), _platform.machine(), _cpu_model(), os.cpu_count() or 0
    )


#: Where CI services name the branch of a job, in the order they are read: a
#: pull or merge request's own branch first, then the branch that was pushed.
CI_BRANCH_VARIABLES: Final = (
    "GITHUB_HEAD_REF",  # GitHub Actions, pull requests
    "GITHUB_REF_NAME",  # GitHub Actions (a tag's name for a tag)
    "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME",  # GitLab, merge requests
    "CI_COMMIT_REF_NAME",  # GitLab
    "BUILDKITE_BRANCH",
    "CIRCLE_BRANCH",
    "BRANCH_NAME",  # Jenkins, multibranch pipelines
    "GIT_BRANCH",  # Jenkins, git plugin ("origin/main")
)


def ci_branch(environ: Mapping[str, str]) -> str | None:
    """The job's branch as the CI service's variables give it, if any."""
    for variable in CI_BRANCH_VARIABLES:
        value = environ.get(variable, "").strip()
        if value:
            return value.removeprefix("origin/") if variable == "GIT_BRANCH" else value
    return None


class CiJob(NamedTuple):
    """The CI service that runs this job, and the job's page if known."""

    provider: str
    url: str | None


def ci_job(environ: Mapping[str, str]) -> CiJob | None:
    """The CI job the variables in *environ* describe; None outside CI."""

    def get(name: str) -> str:
        return environ.get(name, "").strip()

    if get("GITHUB_ACTIONS") == "true":
        server, repository, run = (
            get("GITHUB_SERVER_URL") or "https://github.com",
            get("GITHUB_REPOSITORY"),
            get("GITHUB_RUN_ID"),
        )
        url = f"{server}/{repository}/actions/runs/{run}" if repository and run else ""
        attempt = get("GITHUB_RUN_ATTEMPT")
        if url and attempt and attempt != "1":
            url += f"/attempts/{attempt}"
        return CiJob("github", url or None)
    if get("GITLAB_CI") == "true":
        return CiJob("gitlab", get("CI_JOB_URL") or None)
    if get("BUILDKITE") == "true":
        url, job = get("BUILDKITE_BUILD_URL"), get("BUILDKITE_JOB_ID")
        return CiJob("buildkite", (f"{url}#{job}" if job else url) if url else None)
    if get("CIRCLECI") == "true":
        return CiJob("circleci", get("CIRCLE_BUILD_URL") or None)
    if get("JENKINS_URL"):
        return CiJob("jenkins", get("BUILD_URL") or None)
    return None


def collect_run_meta(
    root: Path,
    *,
    label: str | None,
    workers: int,
    pytest_version: str,
    branch: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> RunMeta:
    """Describe the run starting now: git state of *root*, Python and hardware.

    The branch is *branch* when given (``--timer-branch``); else git's, and
    in a detached HEAD (as CI checks out) the one the CI variables name
    (:data:`CI_BRANCH_VARIABLES`, read from *environ*, default ``os.environ``).
    The CI service and the job's page come from *environ* too (:func:`ci_job`).
    Never raises for a missing ``git`` or a *root* outside a repository: the
    commit is None then, and so is a branch nothing names.
    """
    if environ is None:
        environ = os.environ
    commit = _git(root, "rev-parse", "HEAD")
    if branch is None:
        branch = _git(root, "rev-parse", "--abbrev-ref", "HEAD")
        if branch in (None, "HEAD"):
            branch = ci_branch(environ)
    job = ci_job(environ)
    return RunMeta(
        created=time.time(),
        label=label,
        commit=commit,
        branch=branch,
        python=f"{_platform.python_implementation()} {_platform.python_version()}",
        pytest=pytest_version,
        platform=_platform.platform(),
        cpu_model=_cpu_model(),
        cores=os.cpu_count() or 0,
        workers=workers,
        ci_provider=job.provider if job else None,
        ci_url=job.url if job else None,
    )


def _git(root: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", *args],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    output = done.stdout.strip()
    return output if done.returncode == 0 and output else None


def _cpu_model(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    try:
        with cpuinfo.open(encoding="utf-8", errors="replace") as lines:
            for line in lines:
                key, _, value = line.partition(":")
                if key.strip() == "model name" and value.strip():
                    return value.strip()
    except OSError:
        pass
    return _platform.processor() or "unknown"
