from __future__ import annotations

import dataclasses

import pytest

from pytest_tracer import Settings, SettingsError


class TestEnableProfiling:
    @pytest.mark.parametrize(
        "raw", ["true", "TRUE", "True", "1", "yes", "YES", "Yes", " true "]
    )
    def test_true_spellings_turn_it_on(self, raw: str) -> None:
        assert Settings(environ={"ENABLE_PROFILING": raw}).ENABLE_PROFILING is True

    @pytest.mark.parametrize("raw", ["false", "FALSE", "False", "0", "no", "NO", "No"])
    def test_false_spellings_turn_it_off(self, raw: str) -> None:
        assert Settings(environ={"ENABLE_PROFILING": raw}).ENABLE_PROFILING is False

    @pytest.mark.parametrize("environ", [{}, {"ENABLE_PROFILING": ""}])
    def test_unset_or_empty_means_off(self, environ: dict[str, str]) -> None:
        assert Settings(environ=environ).ENABLE_PROFILING is False

    @pytest.mark.parametrize("raw", ["maybe", "2", "on", "tru"])
    def test_anything_else_is_an_error_naming_the_variable_and_value(
        self, raw: str
    ) -> None:
        with pytest.raises(SettingsError) as raised:
            Settings(environ={"ENABLE_PROFILING": raw})
        assert str(raised.value) == (
            f"environment variable ENABLE_PROFILING={raw!r} is not a boolean: "
            "expected true/false, 1/0 or yes/no (any case)"
        )
        assert isinstance(raised.value, ValueError)

    def test_it_reads_the_process_environment_by_default(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("ENABLE_PROFILING", "Yes")
        assert Settings().ENABLE_PROFILING is True
        monkeypatch.setenv("ENABLE_PROFILING", "0")
        assert Settings().ENABLE_PROFILING is False
        monkeypatch.delenv("ENABLE_PROFILING")
        assert Settings().ENABLE_PROFILING is False

    def test_a_bad_process_environment_is_an_error(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("ENABLE_PROFILING", "sometimes")
        with pytest.raises(
            SettingsError, match="ENABLE_PROFILING='sometimes' is not a boolean"
        ):
            Settings()

    def test_the_value_is_read_once_when_made(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("ENABLE_PROFILING", "true")
        settings = Settings()
        monkeypatch.setenv("ENABLE_PROFILING", "false")
        assert settings.ENABLE_PROFILING is True

    def test_settings_are_frozen_and_compare_by_value(self) -> None:
        settings = Settings(environ={"ENABLE_PROFILING": "1"})
        with pytest.raises(dataclasses.FrozenInstanceError):
            settings.ENABLE_PROFILING = False  # type: ignore[misc]
        assert settings == Settings(environ={"ENABLE_PROFILING": "yes"})
        assert "environ" not in repr(settings)
