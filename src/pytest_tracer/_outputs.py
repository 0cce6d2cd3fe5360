"""The files a run writes for CI and people: JSON, Markdown and HTML.

Registered on the reporting process only when a file is asked for. Paths are
checked when pytest starts, so a typo fails before the tests run; the files
are written at the end of the session from the run's results, and the
terminal summary names each one.
"""

from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path
from typing import final

import pytest

from ._options import Options
from ._render import document, html, markdown
from ._results import RunResults

#: Set by GitHub Actions: the step summary that every tool of a step appends to.
STEP_SUMMARY_VARIABLE = "GITHUB_STEP_SUMMARY"


@final
class Outputs:
    """Writes the JSON document and the Markdown summary at the session's end."""

    def __init__(
        self, config: pytest.Config, options: Options, notes: list[str]
    ) -> None:
        self.config = config
        self.options = options
        self.notes = notes
        #: Set by the history part when comparing: what the baseline is.
        self.baseline: str | None = None
        self._started = time.time()
        self._clock = time.perf_counter()
        for flag, path in self._paths():
            check_output_path(flag, path)

    def _paths(self) -> list[tuple[str, Path]]:
        found = [
            ("--timer-json", self.options.json_path),
            ("--timer-markdown", self.options.markdown_path),
            ("--timer-html", self.options.html_path),
        ]
        return [(flag, path) for flag, path in found if path is not None]

    def __call__(self, session: pytest.Session, results: RunResults) -> None:
        options = self.options
        wanted = options.json_path or options.html_path
        run = self._run_info(session) if wanted else None
        if options.json_path is not None and run is not None:
            doc = document.run_document(
                results, run, comparing=options.compare is not None
            )
            self._write(session, "JSON", options.json_path, document.dumps(doc))
        if options.markdown_path is not None:
            self._markdown(session, results, options.markdown_path)
        if options.html_path is not None:
            page = html.Page(
                title="pytest-tracer report",
                source=f"pytest run in {self.config.rootpath}",
                run=run,
                results=results,
                trends=tuple(self._trends(results)),
                baseline=self.baseline,
            )
            text = html.html_report(page)
            self._write(session, "HTML report", options.html_path, text)

    def _trends(self, results: RunResults) -> list[html.Trend]:
        """With a history in use: each timer's median over the saved runs."""
        options = self.options
        if not options.uses_history:
            return []
        from ._history.report import load_trends
        from ._history.store import StoreError, open_store

        try:
            with open_store(options.store) as store:
                trends = load_trends(store, results.by_name, options.settings)
                self.notes.extend(store.problems)
        except StoreError as error:
            self.notes.append(f"the HTML report has no trends: {error}")
            return []
        if options.save_label is None:  # this run is not in the history
            trends = [_with_this_run(trend, results) for trend in trends]
        return trends

    def _run_info(self, session: pytest.Session) -> document.RunInfo:
        # Git and the hardware: asked only here.
        from ._history.export import document_run
        from ._history.meta import collect_run_meta

        workers = getattr(self.config.option, "numprocesses", None)
        meta = collect_run_meta(
            self.config.rootpath,
            label=self.options.save_label or None,
            workers=workers if isinstance(workers, int) else 0,
            pytest_version=pytest.__version__,
            branch=self.options.branch,
        )
        from ._history.hooks import run_incomplete

        # The session's start, not the moment the metadata is collected.
        meta = dataclasses.replace(
            meta, created=self._started, incomplete=run_incomplete(session)
        )
        return document_run(meta, duration=time.perf_counter() - self._clock)

    def _markdown(
        self, session: pytest.Session, results: RunResults, path: Path
    ) -> None:
        step_summary = os.environ.get(STEP_SUMMARY_VARIABLE)
        append = bool(step_summary) and _same_file(Path(str(step_summary)), path)
        before = b""  # what other tools of the step wrote
        if append and path.exists():
            try:
                before = path.read_bytes()
            except OSError as error:
                self._failed(session, "Markdown summary", path, error)
                return
        separator = "\n" if before and not before.endswith(b"\n") else ""
        size = len(before)
        text = separator + markdown.summary_markdown(
            results,
            baseline=self.baseline,
            budget=markdown.STEP_SUMMARY_LIMIT - size - len(separator),
        )
        self._write(session, "Markdown summary", path, text, append=append)

    def _write(
        self,
        session: pytest.Session,
        what: str,
        path: Path,
        text: str,
        *,
        append: bool = False,
    ) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if append:
                with path.open("a", encoding="utf-8") as file:
                    file.write(text)
            else:
                # Written beside and moved into place: a reader never sees half.
                partial = path.with_name(f".{path.name}.partial")
                partial.write_text(text, encoding="utf-8")
                os.replace(partial, path)
        except OSError as error:
            self._failed(session, what, path, error)
            return
        verb = "appended the timer" if append else "wrote the timer"
        self.notes.append(f"{verb} {what} to {path}")

    def _failed(
        self, session: pytest.Session, what: str, path: Path, error: OSError
    ) -> None:
        self.notes.append(f"could not write the timer {what} to {path}: {error}")
        if session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.USAGE_ERROR


def check_output_path(flag: str, path: Path) -> None:
    """Refuse, before any test runs, a path that cannot become a file."""
    if path.is_dir():
        msg = f"{flag}: {path} is a directory, expected a file path"
        raise pytest.UsageError(msg)
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                msg = f"{flag}: {path} cannot be written: {parent} is not a directory"
                raise pytest.UsageError(msg)
            break


def _with_this_run(trend: html.Trend, results: RunResults) -> html.Trend:
    stats = results.by_name.get(trend.name)
    if stats is None or not stats.count:
        return trend
    point = html.TrendPoint(None, None, None, time.time(), stats.get("median"))
    return trend._replace(points=(*trend.points, point))


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False
