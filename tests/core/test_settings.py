"""core.settings: one typed settings object (issue 15.2). The existing variable
names keep working, invalid values fail naming the variable, secrets are never
printed, each channel has one definition of "configured", and the committed
`.env.example` is the generated one."""

from __future__ import annotations

import re
from datetime import date

import pytest

from core.settings import (
    DEFAULT_SQLITE_PATH,
    GROUPS,
    PROJECT_ROOT,
    Settings,
    SettingsError,
    env_example,
    env_names,
    get_settings,
)

ALL_NAMES = {n for g in GROUPS.values() for f in g.__fields__ for n in env_names(g, f)}


def test_defaults_are_the_documented_ones() -> None:
    settings = Settings.from_env({})
    assert settings.database_url == f"sqlite:///{DEFAULT_SQLITE_PATH}"
    assert (settings.rasa.port, settings.rasa.action_port, settings.rasa.workers) == (5005, 5055, 1)
    assert settings.rasa.tracker_store == f"sqlite:///{PROJECT_ROOT / 'var' / 'tracker.db'}"
    assert (settings.console.host, settings.console.port) == ("127.0.0.1", 5080)
    assert settings.training.model_store_port == 5056 and settings.training.model_store
    assert settings.submission.backend == "local" and settings.submission.inbound_port == 5010
    assert settings.attachments.dir == PROJECT_ROOT / "var" / "attachments"
    assert settings.clock.today is None
    assert not settings.telegram.configured and not settings.zalo.configured


def test_existing_variable_names_are_read_and_blank_means_unset() -> None:
    settings = Settings.from_env(
        {
            "TTHC_DATABASE_URL": " postgresql+psycopg2://u@h/db ",
            "RASA_PORT": "6005",
            "TTHC_CONSOLE_SECURE_COOKIES": "1",
            "TTHC_SUBMISSION_BACKEND": "HTTP",
            "TTHC_RASA_URLS": "http://a:5005/, http://b:5005",
            "TTHC_TRAINING_ARGS": "--nlu-only --epochs '3'",
            "TTHC_TODAY": "2025-03-01",
            "ACTION_PORT": "   ",  # blank: the default
        }
    )
    assert settings.database_url == "postgresql+psycopg2://u@h/db"
    assert settings.rasa.port == 6005 and settings.rasa.action_port == 5055
    assert settings.console.secure_cookies and settings.submission.backend == "http"
    assert settings.training.rasa_urls == ("http://a:5005", "http://b:5005")
    assert settings.training.train_args == ("--nlu-only", "--epochs", "3")
    assert settings.clock.today == date(2025, 3, 1)


def test_second_name_of_a_variable() -> None:
    assert Settings.from_env({"RASA_AUTH_TOKEN": "x"}).training.rasa_token.get_secret_value() == "x"
    both = Settings.from_env({"RASA_AUTH_TOKEN": "x", "TTHC_RASA_TOKEN": "y"})
    assert both.training.rasa_token.get_secret_value() == "y"


@pytest.mark.parametrize(
    ("name", "value", "reason"),
    [
        ("RASA_PORT", "abc", "not a valid integer"),
        ("TTHC_CONSOLE_PORT", "70000", "less than or equal to 65535"),
        ("TTHC_DATABASE_URL", "not a url", "not a database URL"),
        ("TTHC_SUBMISSION_URL", "motcua.gov.vn/api", "http(s)://"),
        ("TTHC_TODAY", "tomorrow", "date"),
        ("TTHC_SUBMISSION_BACKEND", "smtp", "'local' or 'http'"),
        ("TTHC_RETENTION_MODE", "shred", "anonymise"),
        ("TTHC_GATE_MARGIN", "2", "less than or equal to 1"),
    ],
)
def test_invalid_values_fail_naming_the_variable(name: str, value: str, reason: str) -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({name: value})
    message = str(caught.value)
    assert f"{name}={value.strip()!r}" in message and reason in message
    assert isinstance(caught.value, ValueError)


def test_secrets_are_never_printed() -> None:
    env = {
        "TELEGRAM_BOT_TOKEN": "123:tg-SECRET",
        "ZALO_ACCESS_TOKEN": "za-SECRET",
        "ZALO_APP_ID": "1",
        "ZALO_OA_SECRET_KEY": "oa-SECRET",
        "TTHC_SUBMISSION_TOKEN": "sub-SECRET",
        "TTHC_FORWARDER_SECRET": "fw-SECRET",
    }
    settings = Settings.from_env(env)
    assert "SECRET" not in repr(settings) and "SECRET" not in str(settings)
    assert settings.zalo.access_token.get_secret_value() == "za-SECRET"
    # The layers' own views keep them out of their reprs too.
    from bot.channels.telegram import TelegramSettings
    from bot.channels.zalo_api import ZaloConfig
    from bot.runtime import Settings as RunSettings

    views = [TelegramSettings.from_env(env), ZaloConfig.from_env(env=env)]
    views.append(RunSettings.from_env(env))
    assert all("SECRET" not in repr(view) for view in views)
    # An invalid secret is reported by name, never by value.
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({"TTHC_SUBMISSION_TOKEN": "x"}, submission={"token": 5j})
    assert "x'" not in str(caught.value)


def test_one_definition_of_each_channel_being_configured() -> None:
    from bot.channels.senders import senders_from_env
    from bot.runtime import ConfigurationError
    from bot.runtime import Settings as RunSettings

    cases = [
        ({}, False, False),
        ({"TELEGRAM_BOT_TOKEN": "1:x"}, True, False),
        ({"ZALO_APP_ID": "1", "ZALO_OA_SECRET_KEY": "k", "ZALO_ACCESS_TOKEN": "t"}, False, True),
        ({"ZALO_APP_ID": "1", "ZALO_OA_SECRET_KEY": "k", "ZALO_REFRESH_TOKEN": "r"}, False, True),
        ({"ZALO_APP_ID": "1", "ZALO_OA_SECRET_KEY": "k"}, False, False),
    ]
    for env, telegram, zalo in cases:
        settings = Settings.from_env(env)
        assert (settings.telegram.configured, settings.zalo.configured) == (telegram, zalo), env
        run = RunSettings.from_env(env)
        assert (bool(run.telegram_token), run.zalo_configured) == (telegram, zalo), env
        assert sorted(senders_from_env(env)) == [
            name for name, on in (("telegram", telegram), ("zalo", zalo)) if on
        ], env
    # A token without the webhook's keys: `tthc run` refuses, naming what is missing.
    with pytest.raises(ConfigurationError, match="ZALO_APP_ID, ZALO_OA_SECRET_KEY"):
        RunSettings.from_env({"ZALO_ACCESS_TOKEN": "t"})


def test_read_once_per_process_and_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RASA_PORT", "6001")
    first = get_settings()
    assert first.rasa.port == 6001 and get_settings() is first  # cached
    monkeypatch.setenv("RASA_PORT", "6002")  # tests/conftest.py clears the cache here
    assert get_settings().rasa.port == 6002
    overridden = Settings.from_env({"RASA_PORT": "6003"}, rasa={"action_port": 7000})
    assert (overridden.rasa.port, overridden.rasa.action_port) == (6003, 7000)
    with pytest.raises(TypeError):
        overridden.rasa.port = 1  # type: ignore[misc]  # settings are immutable


def test_committed_env_example_is_the_generated_one() -> None:
    committed = (PROJECT_ROOT / ".env.example").read_text(encoding="utf-8")
    assert committed == env_example(), "run: .venv/bin/tthc settings example > .env.example"
    declared = set(re.findall(r"^([A-Z][A-Z0-9_]+)=", committed, re.M))
    primary = {env_names(g, f)[0] for g in GROUPS.values() for f in g.__fields__}
    assert declared == primary
    for group in GROUPS.values():
        for name, field in group.__fields__.items():
            assert field.field_info.description, f"{group.__name__}.{name} has no description"


def test_every_documented_variable_is_declared() -> None:
    docs = [PROJECT_ROOT / "README.md", *sorted((PROJECT_ROOT / "docs").glob("*.md"))]
    mentioned = set()
    for doc in docs:
        text = doc.read_text(encoding="utf-8")
        mentioned |= set(re.findall(r"\b(?:TTHC|RASA|ZALO|TELEGRAM|ACTION)_[A-Z_]+\b", text))
    test_only = {"TTHC_TEST_POSTGRES_URL"}
    assert mentioned - test_only <= ALL_NAMES, sorted(mentioned - test_only - ALL_NAMES)


def test_product_code_reads_no_environment_variable_itself() -> None:
    """Every setting goes through core.settings; what remains writes the
    environment of child processes or of libraries (Rasa, TensorFlow)."""
    reads = re.compile(r"os\.environ\.get\(|os\.getenv\(|os\.environ\[[^]]+\](?!\s*=)")
    offenders = []
    for package in ("catalog", "dossiers", "actions", "bot", "console", "training", "tools"):
        for path in sorted((PROJECT_ROOT / package).rglob("*.py")):
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if reads.search(line) and "LOG_LEVEL" not in line:
                    offenders.append(f"{path.relative_to(PROJECT_ROOT)}:{number}: {line.strip()}")
    assert not offenders, "\n".join(offenders)


def test_cli_fails_at_start_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.cli import main

    monkeypatch.setenv("TTHC_CONSOLE_PORT", "abc")
    assert main(["settings", "check"]) == 2
    assert "TTHC_CONSOLE_PORT='abc'" in capsys.readouterr().err
    monkeypatch.delenv("TTHC_CONSOLE_PORT")
    assert main(["settings", "check"]) == 0
    assert "settings are valid" in capsys.readouterr().out
