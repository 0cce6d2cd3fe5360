"""``[tool.pytest-tracer]`` in pyproject.toml -> a frozen :class:`TracerConfig`.

Tables keyed by timer name (``thresholds``, ``regression``, ``clocks``) also
take glob patterns: ``*`` matches any run of characters, ``?`` one character
and ``[abc]`` / ``[!abc]`` one character from (or not from) a set, matched
case-sensitively against the whole name. When several keys match a timer:

1. A key spelled exactly like the timer's name wins.
2. Otherwise the most specific pattern wins: the one with the most literal
   (non-wildcard) characters.
3. On a tie, the one with fewer wildcards wins (a ``[...]`` set counts as one).
4. On a further tie, the one written first wins.

Only the winning key applies: its entry is not merged with other matching
patterns.
"""

from __future__ import annotations

import fnmatch
import math
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, Final, Generic, NamedTuple, TypeVar, final

from ._clock import CLOCK_NAMES
from ._stats import DEFAULT_CAP, STATISTICS
from ._units import EXPECTED_DURATION, parse_duration

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]

_T = TypeVar("_T")
_V = TypeVar("_V")

#: Keys of ``[tool.pytest-tracer]``, in the order the docs list them.
KNOWN_KEYS: Final = (
    "thresholds",
    "report",
    "report_rows",
    "report_per_test",
    "enforce",
    "store",
    "tolerance",
    "noise_floor",
    "p_value",
    "min_samples",
    "history_runs",
    "confirm",
    "normalize",
    "foreign_baseline",
    "regression",
    "clocks",
    "json",
    "markdown",
    "html",
    "require_baseline",
)
FOREIGN_BASELINE: Final = ("warn", "refuse")
REGRESSION_KEYS: Final = ("tolerance", "noise_floor")

#: Where runs are saved, relative to the project root, unless configured.
DEFAULT_STORE: Final = ".pytest-tracer/history.sqlite"
#: The most runs a baseline or a listing may take (``last:N``, ``--limit``).
MAX_RUNS: Final = 10_000
#: The most re-runs ``confirm`` may ask for.
MAX_CONFIRM: Final = 100
DEFAULT_TOLERANCE: Final = 0.10
DEFAULT_NOISE_FLOOR: Final = 100e-6
DEFAULT_SOURCE: Final = "pytest-tracer defaults"

EXPECTED_PERCENTAGE: Final = 'a positive percentage as a string ("10%", "2.5%")'
# Patterns are compiled on first use (re keeps them): most runs never need one.
_PERCENTAGE: Final = r"\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*%\s*"
_TABLE: Final = "tool.pytest-tracer"


class ConfigError(ValueError):
    """The configuration holds a value its setting cannot take.

    The message names the file (or other source), the key, the value received
    and what is expected, so it can be shown on its own.
    """


class _BadValueError(Exception):
    """A value is wrong; ``args[0]`` completes "expected ..."."""


# --- where a value came from ---------------------------------------------


def _toml_key(key: str) -> str:
    """*key* as a TOML basic string: control characters escaped, so that a
    message never writes them to the terminal."""
    out = []
    for char in key:
        if char in '"\\':
            out.append("\\" + char)
        elif char in _TOML_ESCAPES:
            out.append(_TOML_ESCAPES[char])
        elif ord(char) < 0x20 or 0x7F <= ord(char) < 0xA0:
            out.append(f"\\u{ord(char):04X}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


_TOML_ESCAPES: Final = {"\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def _toml_value(value: object) -> str:
    """Render *value* as it would be written in TOML."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return _toml_key(value)
    if isinstance(value, Mapping):
        items = ", ".join(
            f"{_bare_or_quoted(str(k))} = {_toml_value(v)}" for k, v in value.items()
        )
        return f"{{ {items} }}" if items else "{}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return _short(value)


def _bare_or_quoted(key: str) -> str:
    """An inline table's key as TOML writes it: bare when it can be."""
    return key if re.fullmatch(_BARE_KEY, key) else _toml_key(key)


_BARE_KEY: Final = r"[A-Za-z0-9_-]+"


def _short(value: object) -> str:
    """A number as written, unless it runs to hundreds of digits."""
    try:
        text = str(value) if isinstance(value, (int, float)) else repr(value)
    except ValueError:  # an int beyond Python's digit limit for str()
        return "a number of more than 4300 digits"
    if len(text) > 40 and isinstance(value, int):
        return f"{text[:12]}... (a number of {len(text.lstrip('-'))} digits)"
    return text


class _Site(NamedTuple):
    """Where a value sits, to name it in messages.

    ``origin`` is a file and table header (``/p/pyproject.toml: [tool.x]``) for
    TOML, or a caller's description (a marker) for Python values.
    """

    origin: str
    keys: tuple[str, ...] = ()
    python: bool = False

    def at(self, key: str) -> _Site:
        return _Site(self.origin, (*self.keys, key), self.python)

    def show(self, value: object) -> str:
        """Render the key and *value* as the user wrote them."""
        if self.python:
            path = "".join(self.keys[:1]) + "".join(f"[{k!r}]" for k in self.keys[1:])
            shown = _short(value) if isinstance(value, int) else repr(value)
            return f"{self.origin}: {path}={shown}"
        path = ".".join(_toml_key(k) for k in self.keys)
        return f"{self.origin} {path} = {_toml_value(value)}"

    def error(self, value: object, expected: str) -> ConfigError:
        return ConfigError(f"{self.show(value)}: expected {expected}")

    def unknown(self, what: str, key: str, known: Iterable[str]) -> ConfigError:
        known = tuple(known)
        if self.python:
            place = f"{self.origin}: {self.keys[0]}:" if self.keys else self.origin
        elif self.keys:
            place = f"{self.origin} {'.'.join(_toml_key(k) for k in self.keys)}:"
        else:
            place = self.origin
        message = f"{place} unknown {what} {_toml_key(key)}"
        import difflib  # only for a message

        near = difflib.get_close_matches(key, known, n=1)
        message += f"; did you mean {_toml_key(near[0])}?" if near else "."
        return ConfigError(f"{message} Known {what}s: {', '.join(known)}")

    def parse(self, value: object, parser: Callable[[object], _V]) -> _V:
        try:
            return parser(value)
        except _BadValueError as exc:
            raise self.error(value, str(exc)) from None


# --- value parsers: raise _BadValueError("what was expected") ------------------


def _duration(value: object) -> float:
    try:
        return parse_duration(value)
    except ValueError:
        raise _BadValueError(EXPECTED_DURATION) from None


def _percentage(value: object) -> float:
    if isinstance(value, str):
        match = re.fullmatch(_PERCENTAGE, value)
        if match:
            fraction = float(match.group(1)) / 100
            if math.isfinite(fraction) and fraction > 0:
                return fraction
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        hint = ""
        if 0 < value < 1e300:
            # A bare 0.1 could mean 10% or 0.1%, so make the user say which.
            hint = f'; write "{value:g}%"'
            if value < 1:
                hint += f' (or "{value * 100:g}%" if {value:g} is a fraction)'
        raise _BadValueError(EXPECTED_PERCENTAGE + hint)
    raise _BadValueError(EXPECTED_PERCENTAGE)


def _bool(value: object) -> bool:
    if isinstance(value, bool):
        return value
    raise _BadValueError("true or false")


def _int_at_least(
    minimum: int, note: str = "", maximum: int = 10**9
) -> Callable[[object], int]:
    def parse(value: object) -> int:
        if (
            isinstance(value, int)
            and not isinstance(value, bool)
            and minimum <= value <= maximum
        ):
            return value
        raise _BadValueError(f"an integer from {minimum} to {maximum:,}{note}")

    return parse


def _p_value(value: object) -> float:
    if (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and 0 < value <= 0.5
    ):
        return float(value)
    raise _BadValueError("a number greater than 0 and at most 0.5 (e.g. 0.01)")


def _choice(choices: tuple[str, ...]) -> Callable[[object], str]:
    def parse(value: object) -> str:
        if isinstance(value, str) and value in choices:
            return value
        expected = " or ".join(_toml_key(c) for c in choices)
        if isinstance(value, str):
            import difflib  # only for a message

            near = difflib.get_close_matches(value, choices, n=1)
            if near:
                expected += f"; did you mean {_toml_key(near[0])}?"
        raise _BadValueError(expected)

    return parse


#: Where a history may live besides a SQLite file: a PostgreSQL database.
STORE_SCHEMES: Final = ("postgresql://", "postgres://")
#: The environment variable that names the history, over ``store`` in the
#: pyproject, so a database password never has to be written into it.
STORE_VARIABLE: Final = "PYTEST_TRACER_STORE"


def is_store_url(text: str) -> bool:
    """Whether *text* names a PostgreSQL history rather than a file."""
    return text.strip().lower().startswith(STORE_SCHEMES)


def store_location(text: str, base: Path) -> Path | str:
    """A URL as it is; a file path resolved against *base*, ``~`` expanded.

    :raises ValueError: *text* holds a NUL character, or names the home of a
        user who does not exist (``~nosuchuser``); the message says which.
    """
    if "\0" in text:
        msg = "a NUL character cannot be part of a path or URL"
        raise ValueError(msg)
    if is_store_url(text):
        return text.strip()
    try:
        return base / Path(text).expanduser()
    except RuntimeError:  # Path.expanduser: no such user, or no home
        user = text.split("/", 1)[0]
        msg = f"{user!r} names no user whose home directory is known"
        raise ValueError(msg) from None


def describe_store(location: Path | str) -> str:
    """The history as messages name it: a URL loses its password."""
    if isinstance(location, Path) or not is_store_url(location):
        return str(location)
    from urllib.parse import urlsplit, urlunsplit

    try:
        parts = urlsplit(location)
        if parts.password is None:
            return location
        user = parts.username or ""
        host = parts.netloc.rpartition("@")[2]
        return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))
    except ValueError:
        return location.partition("://")[0] + "://***"


def resolve_store(
    given: str | None,
    *,
    cwd: Path,
    settings: TracerConfig,
    environ: Mapping[str, str],
    option: str = "--timer-store",
) -> Path | str:
    """The history to use: *given* (a command-line value), else
    :data:`STORE_VARIABLE`, else ``store`` of the pyproject (or its default).

    Relative paths from the command line or the environment are resolved
    against *cwd*.

    :param option: How messages name the command-line option.
    :raises ConfigError: A value is blank or cannot name a history.
    """
    if given is not None:
        if not given.strip():
            msg = (
                f"{option}: the history's location is blank, expected a file"
                f" path or a {STORE_SCHEMES[0]} URL"
            )
            raise ConfigError(msg)
        try:
            return store_location(given, cwd)
        except ValueError as exc:
            raise ConfigError(f"{option}={given!r}: {exc}") from None
    from_environment = environ.get(STORE_VARIABLE)
    if from_environment is not None and from_environment.strip():
        try:
            return store_location(from_environment, cwd)
        except ValueError as exc:
            msg = f"{STORE_VARIABLE}={from_environment!r}: {exc}"
            raise ConfigError(msg) from None
    return settings.store


def _store(value: object) -> str:
    if isinstance(value, str) and value.strip():
        try:
            store_location(value, Path())
        except ValueError as exc:
            raise _BadValueError(
                f"a file path or a {STORE_SCHEMES[0]} URL, but {exc}"
            ) from None
        return value
    raise _BadValueError(
        f"a file path or a {STORE_SCHEMES[0]} URL as a string"
        f' (default "{DEFAULT_STORE}")'
    )


def _output(value: object) -> str:
    if isinstance(value, str) and value.strip():
        return value
    raise _BadValueError('a file path as a string (e.g. "timers.json")')


# --- name tables -----------------------------------------------------------


def _specificity(pattern: str) -> tuple[int, int]:
    """Count literal characters and wildcards as :mod:`fnmatch` reads them."""
    literal = wildcards = 0
    i, n = 0, len(pattern)
    while i < n:
        char = pattern[i]
        i += 1
        if char in "*?":
            wildcards += 1
        elif char == "[":
            # The same bracket scan as fnmatch.translate: "!" negates, a "]"
            # first is literal, and an unclosed "[" is an ordinary character.
            j = i
            if j < n and pattern[j] == "!":
                j += 1
            if j < n and pattern[j] == "]":
                j += 1
            while j < n and pattern[j] != "]":
                j += 1
            if j >= n:
                literal += 1
            else:
                wildcards += 1
                i = j + 1
        else:
            literal += 1
    return literal, wildcards


# Written out rather than dataclasses: every pytest run imports this module,
# and generating a dataclass's methods costs about a millisecond a class. Not
# NamedTuples, which cannot be generic before Python 3.11.
@final
class NameEntry(Generic[_T]):
    """One key of a name table: a timer name or glob pattern and its value.

    :param source: Where the entry was written, for messages.
    """

    __slots__ = ("pattern", "source", "value")

    def __init__(self, pattern: str, value: _T, source: str) -> None:
        self.pattern: Final = pattern
        self.value: Final = value
        self.source: Final = source

    def _key(self) -> tuple[str, _T, str]:
        return (self.pattern, self.value, self.source)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, NameEntry):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return f"NameEntry{self._key()!r}"


@final
class NameTable(Generic[_T]):
    """Entries keyed by timer name or pattern, resolved as the module says."""

    __slots__ = ("entries",)

    def __init__(self, entries: tuple[NameEntry[_T], ...] = ()) -> None:
        self.entries: Final = entries

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, NameTable):
            return NotImplemented
        return self.entries == other.entries

    def __hash__(self) -> int:
        return hash(self.entries)

    def __repr__(self) -> str:
        return f"NameTable({self.entries!r})"

    def find(self, name: str) -> NameEntry[_T] | None:
        """Return the entry that applies to timer *name*, if any."""
        best: NameEntry[_T] | None = None
        best_rank: tuple[int, int, int] = (-1, 0, 0)
        for index, entry in enumerate(self.entries):
            if entry.pattern == name:
                return entry
            if fnmatch.fnmatchcase(name, entry.pattern):
                literal, wildcards = _specificity(entry.pattern)
                rank = (literal, -wildcards, -index)
                if rank > best_rank:
                    best, best_rank = entry, rank
        return best

    def lookup(self, name: str) -> _T | None:
        """Return the value that applies to timer *name*, if any."""
        entry = self.find(name)
        return None if entry is None else entry.value

    def replaced(self, entries: Iterable[NameEntry[_T]]) -> NameTable[_T]:
        """Return a table where *entries* replace those with the same key.

        Replaced keys keep their place (it breaks ties); new keys go last.
        """
        new = {entry.pattern: entry for entry in entries}
        kept = tuple(new.pop(e.pattern, e) for e in self.entries)
        return NameTable((*kept, *new.values()))

    def __bool__(self) -> bool:
        return bool(self.entries)

    def __len__(self) -> int:
        return len(self.entries)


# --- thresholds ------------------------------------------------------------


#: The statistics that cannot exceed the max (the mean can, by rounding).
_UP_TO_MAX: Final = frozenset({"max", "min", "median", "p95", "p99"})


class Limit(NamedTuple):
    """An upper bound on one statistic of a timer.

    :param source: Where it was set, e.g.
        ``pyproject.toml [tool.pytest-tracer.thresholds] db_query``.
    """

    statistic: str
    seconds: float
    source: str


def _limits(value: object, site: _Site, source: str) -> tuple[Limit, ...]:
    if not isinstance(value, Mapping):
        if not isinstance(value, (str, int, float)):
            expected = (
                f"{EXPECTED_DURATION}, or an inline table of statistic to "
                """duration ({ p95 = "20ms", max = "50ms" })"""
            )
            raise site.error(value, expected)
        return (Limit("max", site.parse(value, _duration), source),)
    if not value:
        expected = (
            f"at least one statistic ({', '.join(STATISTICS)}) with a duration, "
            """e.g. { p95 = "20ms" }"""
        )
        raise site.error(value, expected)
    limits = []
    for statistic, limit in value.items():
        if statistic not in STATISTICS:
            raise site.unknown("statistic", str(statistic), STATISTICS)
        seconds = site.at(statistic).parse(limit, _duration)
        limits.append(Limit(statistic, seconds, source))
    return tuple(limits)


def _check_name(name: object, value: object, site: _Site) -> str:
    if isinstance(name, str) and name:
        return name
    raise site.at(str(name)).error(value, "a timer name or pattern as the key")


def _entries(
    table: Mapping[str, object],
    site: _Site,
    source: Callable[[str], str],
    parse: Callable[[object, _Site, str], _V],
) -> tuple[NameEntry[_V], ...]:
    """Parse the values of a table keyed by timer name or pattern."""
    return tuple(
        NameEntry(
            _check_name(name, value, site),
            parse(value, site.at(name), source(name)),
            source(name),
        )
        for name, value in table.items()
    )


@final
class Thresholds:
    """Limits per timer name or pattern; false when there are none."""

    __slots__ = ("known", "table")

    def __init__(self, table: NameTable[tuple[Limit, ...]] | None = None) -> None:
        self.table: Final = NameTable() if table is None else table
        # Pattern matching per lookup adds up over thousands of tests.
        #: What :meth:`checks_for` found so far, by timer name: a hot loop
        #: reads it first (a dict lookup, not a call).
        self.known: Final[dict[str, tuple[tuple[Limit, ...], float]]] = {}

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Thresholds):
            return NotImplemented
        return self.table == other.table

    def __hash__(self) -> int:
        return hash(self.table)

    def __repr__(self) -> str:
        return f"Thresholds({self.table!r})"

    def limits_for(self, name: str) -> tuple[Limit, ...]:
        """Return the limits that apply to timer *name* (may be empty)."""
        return self.checks_for(name)[0]

    def checks_for(self, name: str) -> tuple[tuple[Limit, ...], float]:
        """The limits of timer *name*, and a max at or under which all hold.

        The bound is the lowest limit when every limit is on the max, the
        min or a quantile (none of which exceeds the max), and -inf otherwise:
        a check then needs only the max of most timers.
        """
        found = self.known.get(name)
        if found is None:
            limits: tuple[Limit, ...] = self.table.lookup(name) or ()
            bound = -math.inf
            if limits and all(limit.statistic in _UP_TO_MAX for limit in limits):
                bound = min(limit.seconds for limit in limits)
            found = self.known[name] = (limits, bound)
        return found

    def unmatched(self, names: Iterable[str]) -> list[NameEntry[tuple[Limit, ...]]]:
        """The entries that match none of *names* (a typo, or a timer gone)."""
        names = tuple(names)
        return [
            entry
            for entry in self.table.entries
            if not any(
                name == entry.pattern or fnmatch.fnmatchcase(name, entry.pattern)
                for name in names
            )
        ]

    def with_overrides(self, entries: Mapping[str, object], source: str) -> Thresholds:
        """Return thresholds where *entries* replace the limits of their keys.

        *entries* take the same values as ``[tool.pytest-tracer.thresholds]``
        (Python values instead of TOML).

        :param source: Where the overrides come from, e.g. a marker on a test;
            it becomes each :attr:`Limit.source` and starts error messages.
        :raises ConfigError: An entry is invalid.
        """
        site = _Site(source, python=True)
        return Thresholds(
            self.table.replaced(_entries(entries, site, lambda _: source, _limits))
        )

    def __bool__(self) -> bool:
        return bool(self.table.entries)


# --- the whole table -------------------------------------------------------


class RegressionRule(NamedTuple):
    """How much slower a timer may get before it counts as a regression.

    :param tolerance: Allowed slow-down as a fraction (0.10 = 10%).
    :param noise_floor: Slow-downs smaller than this many seconds never count.
    :param source: Where the rule was set.
    """

    tolerance: float
    noise_floor: float
    source: str


class RegressionOverride(NamedTuple):
    """A ``[tool.pytest-tracer.regression]`` entry; ``None`` falls back."""

    tolerance: float | None = None
    noise_floor: float | None = None


def _regression(value: object, site: _Site, source: str) -> RegressionOverride:
    if not isinstance(value, Mapping):
        if not isinstance(value, (str, int, float)):
            expected = (
                f"{EXPECTED_PERCENTAGE}, or an inline table "
                """{ tolerance = "25%", noise_floor = "1ms" }"""
            )
            raise site.error(value, expected)
        return RegressionOverride(tolerance=site.parse(value, _percentage))
    if not value:
        expected = (
            'tolerance ("10%") and/or noise_floor (a duration), '
            """e.g. { tolerance = "25%", noise_floor = "1ms" }"""
        )
        raise site.error(value, expected)
    for key in value:
        if key not in REGRESSION_KEYS:
            raise site.unknown("key", str(key), REGRESSION_KEYS)
    tolerance = value.get("tolerance")
    noise_floor = value.get("noise_floor")
    return RegressionOverride(
        tolerance=None
        if tolerance is None
        else site.at("tolerance").parse(tolerance, _percentage),
        noise_floor=None
        if noise_floor is None
        else site.at("noise_floor").parse(noise_floor, _duration),
    )


def _clock(value: object, site: _Site, source: str) -> str:
    return site.parse(value, _choice(CLOCK_NAMES))


class TracerConfig(NamedTuple):
    """The settings of ``[tool.pytest-tracer]``, validated.

    :param path: The pyproject.toml read, if any.
    :param store: The history: a ``postgresql://`` URL, or a SQLite file,
        absolute once loaded (relative to the current directory by default).
    :param source: Where the global settings come from, for messages.
    """

    path: Path | None = None
    thresholds: Thresholds = Thresholds()
    report: bool = False
    report_rows: int = 20
    report_per_test: bool = False
    enforce: bool = True
    store: Path | str = Path(DEFAULT_STORE)
    tolerance: float = DEFAULT_TOLERANCE
    noise_floor: float = DEFAULT_NOISE_FLOOR
    p_value: float = 0.01
    min_samples: int = 8
    history_runs: int = 10
    confirm: int = 0
    normalize: bool = False
    require_baseline: bool = False
    foreign_baseline: str = "warn"
    regression: NameTable[RegressionOverride] = NameTable()
    clocks: NameTable[str] = NameTable()
    source: str = DEFAULT_SOURCE
    #: Where to write the JSON document and the Markdown summary, if anywhere.
    json_path: Path | None = None
    markdown_path: Path | None = None
    html_path: Path | None = None

    def regression_for(self, name: str) -> RegressionRule:
        """Return the regression rule for timer *name*.

        A matching ``regression`` entry sets what it names; the rest comes
        from the global ``tolerance`` and ``noise_floor``.
        """
        entry = self.regression.find(name)
        if entry is None:
            return RegressionRule(self.tolerance, self.noise_floor, self.source)
        override = entry.value
        return RegressionRule(
            self.tolerance if override.tolerance is None else override.tolerance,
            self.noise_floor if override.noise_floor is None else override.noise_floor,
            entry.source,
        )

    def clock_for(self, name: str) -> str:
        """Return ``"wall"`` or ``"cpu"``: the clock timer *name* is judged by."""
        return self.clocks.lookup(name) or "wall"


def _read(path: Path) -> dict[str, object] | None:
    try:
        with path.open("rb") as file:
            document: dict[str, object] = tomllib.load(file)
            return document
    except FileNotFoundError:
        return None
    except tomllib.TOMLDecodeError as exc:
        msg = f"{path}: invalid TOML: {exc}"
        raise ConfigError(msg) from None
    except UnicodeDecodeError as exc:
        msg = f"{path}: invalid TOML: not UTF-8 ({exc})"
        raise ConfigError(msg) from None
    except ValueError as exc:  # an integer of more than 4300 digits, say
        msg = f"{path}: a value cannot be read: {exc}"
        raise ConfigError(msg) from None
    except OSError as exc:
        msg = f"{path}: cannot read the file: {exc.strerror or exc}"
        raise ConfigError(msg) from None


def _refuse_near_misses(path: Path, tool: object) -> None:
    """A table that was meant as ours but is spelled otherwise would leave
    every limit unapplied without a word: say so instead."""
    if not isinstance(tool, Mapping):
        return
    for key in tool:
        spelled = str(key).lower().replace("_", "-").replace(" ", "-")
        if spelled == _TABLE.removeprefix("tool.") and key != "pytest-tracer":
            msg = (
                f"{path}: [tool.{key}] is not read: pytest-tracer reads"
                " [tool.pytest-tracer] (lower case, with a hyphen); rename the"
                " table"
            )
            raise ConfigError(msg)


def _sub_table(
    data: Mapping[str, object], key: str, site: _Site, example: str
) -> Mapping[str, object]:
    value = data.get(key, {})
    if not isinstance(value, Mapping):
        raise site.at(key).error(value, f"a table, e.g. [{_TABLE}.{key}] {example}")
    return value


#: How each plain key of ``[tool.pytest-tracer]`` is read.
_SCALARS: Final[dict[str, Callable[[object], object]]] = {
    "report": _bool,
    "report_rows": _int_at_least(0, " (0 shows all rows)"),
    "report_per_test": _bool,
    "enforce": _bool,
    "tolerance": _percentage,
    "noise_floor": _duration,
    "p_value": _p_value,
    "min_samples": _int_at_least(3, " (samples a side)", DEFAULT_CAP),
    "history_runs": _int_at_least(3, " (runs)", MAX_RUNS),
    "confirm": _int_at_least(0, " (re-runs on a breach)", MAX_CONFIRM),
    "normalize": _bool,
    "require_baseline": _bool,
    "foreign_baseline": _choice(FOREIGN_BASELINE),
}


def load_config(
    path: Path | None, *, label: str | None = None, root: Path | None = None
) -> TracerConfig:
    """Read ``[tool.pytest-tracer]`` from the pyproject.toml at *path*.

    No path, a missing file or a file without the table give the defaults.

    :param label: Names the file in :attr:`Limit.source` and other sources
        (default: the file name); error messages use the full *path*.
    :param root: Where a relative ``store`` is resolved when *path* is None
        (default: the current directory); otherwise the file's directory.
    :raises ConfigError: The file is not valid TOML or a value is invalid.
    """
    if path is None:
        base = Path.cwd() if root is None else root
        return TracerConfig(store=base / DEFAULT_STORE)
    base = path.absolute().parent
    document = _read(path)
    tool = document.get("tool") if document else None
    data = tool.get("pytest-tracer") if isinstance(tool, Mapping) else None
    if data is None:
        _refuse_near_misses(path, tool)
        return TracerConfig(path=path, store=base / DEFAULT_STORE)
    top = _Site(f"{path}: [tool]")
    if not isinstance(data, Mapping):
        raise top.at("pytest-tracer").error(data, f"a table [{_TABLE}]")

    name = path.name if label is None else label
    site = _Site(f"{path}: [{_TABLE}]")
    for key in data:
        if key not in KNOWN_KEYS:
            raise site.unknown("key", key, KNOWN_KEYS)

    def table(
        key: str, example: str, parse: Callable[[object, _Site, str], _V]
    ) -> NameTable[_V]:
        inner = _Site(f"{path}: [{_TABLE}.{key}]")
        return NameTable(
            _entries(
                _sub_table(data, key, site, example),
                inner,
                lambda pattern: f"{name} [{_TABLE}.{key}] {pattern}",
                parse,
            )
        )

    # Only what the file sets is passed on: the defaults live in TracerConfig.
    values: dict[str, Any] = {
        key: site.at(key).parse(data[key], parse)
        for key, parse in _SCALARS.items()
        if key in data
    }
    store = site.at("store").parse(data["store"], _store) if "store" in data else None
    values.update(
        (
            f"{key}_path",
            base / Path(site.at(key).parse(data[key], _output)).expanduser(),
        )
        for key in ("json", "markdown")
        if key in data
    )
    return TracerConfig(
        path=path,
        thresholds=Thresholds(table("thresholds", 'db_query = "50ms"', _limits)),
        store=store_location(DEFAULT_STORE if store is None else store, base),
        **values,
        regression=table("regression", 'db_query = "25%"', _regression),
        clocks=table("clocks", 'db_query = "cpu"', _clock),
        source=f"{name} [{_TABLE}]"
        if "tolerance" in data or "noise_floor" in data
        else DEFAULT_SOURCE,
    )
