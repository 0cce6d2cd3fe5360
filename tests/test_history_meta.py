from __future__ import annotations

import os
import platform
import time
from pathlib import Path
from typing import Any

import pytest

from pytest_tracer._history import meta as _meta
from pytest_tracer._history.meta import RunMeta, collect_run_meta
from runs import git, make_meta, needs_git


class TestFingerprint:
    def test_runs_on_the_same_hardware_share_it(self) -> None:
        """Labels, dates, versions and OS release do not change it."""
        one = make_meta()
        other = make_meta(
            label="x", created=5.0, python="PyPy 3.10", platform="Linux-7", workers=8
        )

        assert one.fingerprint == other.fingerprint
        assert len(one.fingerprint) == 10
        int(one.fingerprint, 16)

    @pytest.mark.parametrize(
        "change",
        [
            {"cpu_model": "Other CPU"},
            {"cores": 16},
            {"machine": "arm64"},
            {"system": "Darwin"},
        ],
    )
    def test_other_hardware_changes_it(self, change: dict[str, Any]) -> None:
        """CPU model, cores, architecture and OS each tell machines apart."""
        assert make_meta(**change).fingerprint != make_meta().fingerprint

    def test_system_and_machine_default_to_this_interpreter(self) -> None:
        """Callers building RunMeta by hand get the current platform."""
        meta = RunMeta(0.0, None, None, None, "py", "pt", "plat", "cpu", 1, 1)

        assert (meta.system, meta.machine) == (platform.system(), platform.machine())


class TestCollectRunMeta:
    @pytest.fixture(autouse=True)
    def _isolated_git(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        # Keep git from finding a repository above tmp_path or user settings.
        monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
        monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
        monkeypatch.setenv("HOME", str(tmp_path))
        for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
            monkeypatch.delenv(name, raising=False)
        # Nor a CI's branch, when the tests themselves run on CI.
        for name in _meta.CI_BRANCH_VARIABLES:
            monkeypatch.delenv(name, raising=False)

    def test_it_describes_this_interpreter_and_machine(self, tmp_path: Path) -> None:
        """Arguments pass through; the rest is read from the system."""
        before = time.time()
        meta = collect_run_meta(tmp_path, label="ci", workers=3, pytest_version="8.1")

        assert (meta.label, meta.workers, meta.pytest) == ("ci", 3, "8.1")
        assert meta.python.endswith(platform.python_version())
        assert meta.platform == platform.platform()
        assert meta.cores == os.cpu_count()
        assert meta.cpu_model
        assert before <= meta.created <= time.time()
        assert (
            meta.fingerprint
            == collect_run_meta(
                tmp_path, label=None, workers=1, pytest_version="x"
            ).fingerprint
        )

    def test_outside_a_repository_commit_and_branch_are_none(
        self, tmp_path: Path
    ) -> None:
        """git fails there; that is not an error."""
        meta = collect_run_meta(tmp_path, label=None, workers=1, pytest_version="8")

        assert (meta.commit, meta.branch) == (None, None)

    def test_without_git_commit_and_branch_are_none(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A machine without git saves runs all the same."""
        monkeypatch.setenv("PATH", str(tmp_path / "empty"))

        meta = collect_run_meta(tmp_path, label=None, workers=1, pytest_version="8")

        assert (meta.commit, meta.branch) == (None, None)

    @needs_git
    def test_in_a_repository_commit_and_branch_are_read(self, tmp_path: Path) -> None:
        """The full HEAD commit and the current branch name."""
        git(tmp_path, "init", "-q", "-b", "trunk")
        git(tmp_path, "commit", "-q", "--allow-empty", "-m", "first")
        head = git(tmp_path, "rev-parse", "HEAD")

        meta = collect_run_meta(tmp_path, label=None, workers=1, pytest_version="8")

        assert meta.commit == head
        assert len(head) == 40
        assert meta.branch == "trunk"

    @needs_git
    def test_a_detached_head_has_no_branch(self, tmp_path: Path) -> None:
        """git says "HEAD" for the branch then, which is not a branch name."""
        git(tmp_path, "init", "-q", "-b", "trunk")
        git(tmp_path, "commit", "-q", "--allow-empty", "-m", "first")
        git(tmp_path, "checkout", "-q", "--detach")

        meta = collect_run_meta(tmp_path, label=None, workers=1, pytest_version="8")

        assert meta.commit is not None
        assert meta.branch is None

    @needs_git
    def test_a_detached_head_takes_the_branch_the_ci_names(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """CI checks out a detached HEAD; its variables still name the branch."""
        git(tmp_path, "init", "-q", "-b", "trunk")
        git(tmp_path, "commit", "-q", "--allow-empty", "-m", "first")
        monkeypatch.setenv("GITHUB_REF_NAME", "main")
        attached = collect_run_meta(tmp_path, label=None, workers=1, pytest_version="8")
        git(tmp_path, "checkout", "-q", "--detach")
        detached = collect_run_meta(tmp_path, label=None, workers=1, pytest_version="8")
        named = collect_run_meta(
            tmp_path, label=None, workers=1, pytest_version="8", branch="release"
        )

        assert attached.branch == "trunk"  # git knows better while it can
        assert detached.branch == "main"
        assert named.branch == "release"

    def test_the_cpu_model_comes_from_cpuinfo(self, tmp_path: Path) -> None:
        """The first non-empty "model name" line wins."""
        cpuinfo = tmp_path / "cpuinfo"
        cpuinfo.write_text(
            "processor\t: 0\nmodel name\t:  \nmodel name\t: Fancy CPU 9000\n"
        )

        assert _meta._cpu_model(cpuinfo) == "Fancy CPU 9000"

    def test_without_cpuinfo_the_processor_or_unknown_is_used(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """platform.processor() first, "unknown" when it is empty."""
        missing = tmp_path / "missing"
        monkeypatch.setattr(platform, "processor", lambda: "arm")
        assert _meta._cpu_model(missing) == "arm"

        monkeypatch.setattr(platform, "processor", lambda: "")
        assert _meta._cpu_model(missing) == "unknown"


@pytest.mark.parametrize(
    ("environ", "branch"),
    [
        ({}, None),
        ({"GITHUB_HEAD_REF": "feature", "GITHUB_REF_NAME": "42/merge"}, "feature"),
        ({"GITHUB_HEAD_REF": "", "GITHUB_REF_NAME": "main"}, "main"),
        (
            {
                "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME": "fix",
                "CI_COMMIT_REF_NAME": "refs/merge-requests/7/head",
            },
            "fix",
        ),
        ({"CI_COMMIT_REF_NAME": "main"}, "main"),
        ({"BUILDKITE_BRANCH": "bk"}, "bk"),
        ({"CIRCLE_BRANCH": "circle"}, "circle"),
        ({"BRANCH_NAME": "jenkins"}, "jenkins"),
        ({"GIT_BRANCH": "origin/dev"}, "dev"),
        ({"GITHUB_REF_NAME": "  "}, None),
    ],
)
def test_ci_variables_name_the_branch(
    environ: dict[str, str], branch: str | None
) -> None:
    assert _meta.ci_branch(environ) == branch


class TestCiJob:
    @pytest.mark.parametrize(
        ("environ", "provider", "url"),
        [
            (
                {
                    "GITHUB_ACTIONS": "true",
                    "GITHUB_SERVER_URL": "https://github.com",
                    "GITHUB_REPOSITORY": "acme/shop",
                    "GITHUB_RUN_ID": "123",
                    "GITHUB_RUN_ATTEMPT": "1",
                },
                "github",
                "https://github.com/acme/shop/actions/runs/123",
            ),
            (
                {
                    "GITHUB_ACTIONS": "true",
                    "GITHUB_REPOSITORY": "acme/shop",
                    "GITHUB_RUN_ID": "123",
                    "GITHUB_RUN_ATTEMPT": "2",
                },
                "github",
                "https://github.com/acme/shop/actions/runs/123/attempts/2",
            ),
            ({"GITHUB_ACTIONS": "true"}, "github", None),
            (
                {"GITLAB_CI": "true", "CI_JOB_URL": "https://gitlab.com/a/b/-/jobs/9"},
                "gitlab",
                "https://gitlab.com/a/b/-/jobs/9",
            ),
            (
                {
                    "BUILDKITE": "true",
                    "BUILDKITE_BUILD_URL": "https://buildkite.com/acme/shop/builds/4",
                    "BUILDKITE_JOB_ID": "j-1",
                },
                "buildkite",
                "https://buildkite.com/acme/shop/builds/4#j-1",
            ),
            (
                {"CIRCLECI": "true", "CIRCLE_BUILD_URL": "https://circleci.com/x/5"},
                "circleci",
                "https://circleci.com/x/5",
            ),
            (
                {
                    "JENKINS_URL": "https://ci.acme/",
                    "BUILD_URL": "https://ci.acme/job/1/",
                },
                "jenkins",
                "https://ci.acme/job/1/",
            ),
        ],
    )
    def test_each_service_gives_its_name_and_the_job_page(
        self, environ: dict[str, str], provider: str, url: str | None
    ) -> None:
        assert _meta.ci_job(environ) == _meta.CiJob(provider, url)

    def test_outside_ci_there_is_no_job(self) -> None:
        assert _meta.ci_job({"CI": "true", "HOME": "/root"}) is None

    def test_the_job_is_stored_with_the_run(self, tmp_path: Path) -> None:
        environ = {"GITLAB_CI": "true", "CI_JOB_URL": "https://gitlab.com/j/1"}
        meta = collect_run_meta(
            tmp_path, label=None, workers=0, pytest_version="x", environ=environ
        )
        assert (meta.ci_provider, meta.ci_url) == ("gitlab", "https://gitlab.com/j/1")
        plain = collect_run_meta(
            tmp_path, label=None, workers=0, pytest_version="x", environ={}
        )
        assert (plain.ci_provider, plain.ci_url) == (None, None)
