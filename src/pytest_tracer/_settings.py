"""``Settings``: runtime switches read from the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

_TRUE: Final = frozenset({"1", "true", "yes"})
_FALSE: Final = frozenset({"0", "false", "no"})


class SettingsError(ValueError):
    """An environment variable holds a value its setting cannot take."""


def _read_bool(environ: Mapping[str, str], variable: str, default: bool) -> bool:
    raw = environ.get(variable, "")
    value = raw.strip().lower()
    if not value:
        return default
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    msg = (
        f"environment variable {variable}={raw!r} is not a boolean: "
        "expected true/false, 1/0 or yes/no (any case)"
    )
    raise SettingsError(msg)


@dataclass(frozen=True)
class Settings:
    """Switches read from the environment when the object is made.

    ``ENABLE_PROFILING`` (default false) tells application code whether to
    time optional blocks. It accepts true/false, 1/0 and yes/no in any case;
    unset or empty means the default.

    :param environ: Where to read from; ``os.environ`` when omitted.
    :raises SettingsError: A variable holds something else.

    .. versionadded:: 0.1.0
    """

    environ: Mapping[str, str] | None = field(default=None, repr=False, compare=False)
    ENABLE_PROFILING: bool = field(init=False)

    def __post_init__(self) -> None:
        environ = os.environ if self.environ is None else self.environ
        object.__setattr__(
            self, "ENABLE_PROFILING", _read_bool(environ, "ENABLE_PROFILING", False)
        )
