"""Settings from MOVIEREC_* variables, and the `serve` command's wiring (no server started)."""

from __future__ import annotations

from pathlib import Path

import pytest

from movierec.api import Settings
from movierec.errors import InvalidValueError


def test_settings_from_the_environment():
    settings = Settings.from_env(
        {
            "MOVIEREC_HOME": "/srv/mr",
            "MOVIEREC_DATASET": "ml-1m",
            "MOVIEREC_ADMIN_KEY": "k",
            "MOVIEREC_DB": "postgresql://x/y",
            "MOVIEREC_RETRAIN_AFTER_RATINGS": "50",
            "MOVIEREC_RETRAIN_AFTER_SECONDS": "none",
            "MOVIEREC_REQUEST_THREADS": "2",
            "OTHER": "ignored",
        }
    )
    assert settings.home == Path("/srv/mr") and settings.dataset == "ml-1m"
    assert settings.admin_key == "k" and "k" not in repr(settings)
    assert settings.policy().after_ratings == 50 and settings.policy().after_seconds is None
    assert settings.request_threads == 2


def test_explicit_values_win_and_defaults_hold():
    settings = Settings.from_env({"MOVIEREC_DATASET": "ml-1m"}, dataset="ml-100k", db=None)
    assert settings.dataset == "ml-100k" and settings.db is None and settings.admin_key is None
    assert settings.policy().after_ratings == 1_000


def test_bad_settings_name_the_variable():
    with pytest.raises(InvalidValueError, match="MOVIEREC_RETRAIN_AFTER_RATINGS 'many'"):
        Settings.from_env({"MOVIEREC_RETRAIN_AFTER_RATINGS": "many"})
    with pytest.raises(InvalidValueError, match="MOVIEREC_ANSWER_CACHE '-1'.*greater than"):
        Settings.from_env({"MOVIEREC_ANSWER_CACHE": "-1"})
    with pytest.raises(InvalidValueError, match="^request_threads 0"):  # given, not from a variable
        Settings.from_env({}, request_threads=0)
    assert Settings.from_env({"MOVIEREC_ANSWER_CACHE": "0"}).answer_cache == 0


def test_serve_command_registers():
    import typer
    from typer.testing import CliRunner

    from movierec.cli import serve

    app = typer.Typer()
    serve.register(app)
    app.command("noop")(lambda: None)
    result = CliRunner().invoke(app, ["serve", "--help"])
    assert result.exit_code == 0 and "--port" in result.output and "--workers" in result.output
