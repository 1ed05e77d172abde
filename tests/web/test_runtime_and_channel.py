"""Start-up configuration and REST body validation (no servers needed)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from bot.runtime import (
    ConfigurationError,
    Settings,
    check_services,
    lock_store_config,
    tracker_store_config,
    write_rasa_files,
)
from bot.web.channel import MAX_MESSAGE_CHARS, BadRequest, parse_body


def test_settings_defaults_and_ports() -> None:
    settings = Settings.from_env({})
    assert (settings.rasa_port, settings.action_port) == (5005, 5055)
    assert settings.tracker_store_url.startswith("sqlite:///")
    assert settings.lock_store_url is None and settings.telegram_token is None
    assert not settings.zalo_configured
    custom = Settings.from_env({"RASA_PORT": "6005", "ACTION_PORT": "6055"})
    assert (custom.rasa_port, custom.action_port) == (6005, 6055)
    with pytest.raises(ConfigurationError, match="RASA_PORT"):
        Settings.from_env({"RASA_PORT": "http"})


def test_rasa_workers_need_the_redis_lock_store() -> None:
    assert Settings.from_env({}).rasa_workers == 1
    scaled = Settings.from_env(
        {"TTHC_RASA_WORKERS": "3", "TTHC_LOCK_STORE_URL": "redis://127.0.0.1:6379/1"}
    )
    assert scaled.rasa_workers == 3
    with pytest.raises(ConfigurationError, match="TTHC_LOCK_STORE_URL"):
        Settings.from_env({"TTHC_RASA_WORKERS": "2"})
    for bad in ("0", "two", "-1", "65"):
        with pytest.raises(ConfigurationError, match="TTHC_RASA_WORKERS"):
            Settings.from_env(
                {"TTHC_RASA_WORKERS": bad, "TTHC_LOCK_STORE_URL": "redis://127.0.0.1:6379/1"}
            )


def test_store_configs() -> None:
    assert tracker_store_config("sqlite:////tmp/t.db") == {
        "type": "SQL",
        "dialect": "sqlite",
        "db": "/tmp/t.db",
    }
    pg = tracker_store_config("postgresql://rasa:secret@db.internal:5433/tracker")
    assert pg["dialect"] == "postgresql" and pg["url"] == "db.internal"
    assert "host" not in pg  # Rasa passes host=url itself; a "host" key crashed its start
    assert pg["port"] == 5433 and pg["password"] == "secret" and pg["db"] == "tracker"
    assert lock_store_config(None) is None
    assert lock_store_config("redis://127.0.0.1:6379/2") == {
        "type": "redis",
        "url": "127.0.0.1",
        "port": 6379,
        "db": 2,
    }
    with pytest.raises(ConfigurationError):
        lock_store_config("memcached://x")


def test_unreachable_services_fail_fast() -> None:
    down_db = Settings.from_env(
        {"TTHC_TRACKER_STORE_URL": "postgresql+psycopg2://postgres@127.0.0.1:1/x"}
    )
    with pytest.raises(ConfigurationError, match="tracker store"):
        check_services(down_db)
    down_redis = Settings.from_env({"TTHC_LOCK_STORE_URL": "redis://127.0.0.1:1/0"})
    with pytest.raises(ConfigurationError, match="lock store"):
        check_services(down_redis)


def test_real_redis_and_postgres_are_accepted() -> None:
    """The scale-out path against the services these machines run."""
    check_services(
        Settings.from_env(
            {
                "TTHC_TRACKER_STORE_URL": "postgresql+psycopg2://postgres@127.0.0.1:5432/test",
                "TTHC_LOCK_STORE_URL": "redis://127.0.0.1:6379/1",
            }
        )
    )


def test_rasa_files(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {
            "ACTION_PORT": "6055",
            "TTHC_LOCK_STORE_URL": "redis://127.0.0.1:6379/1",
            "ZALO_APP_ID": "1",
            "ZALO_OA_SECRET_KEY": "k",
            "ZALO_ACCESS_TOKEN": "t",
        }
    )
    endpoints_path, credentials_path = write_rasa_files(settings, tmp_path)
    endpoints = yaml.safe_load(endpoints_path.read_text())
    credentials = yaml.safe_load(credentials_path.read_text())
    assert endpoints["action_endpoint"]["url"] == "http://127.0.0.1:6055/webhook"
    assert endpoints["lock_store"]["type"] == "redis"
    assert endpoints["tracker_store"]["type"] == "SQL"
    assert "bot.web.channel.RestChannel" in credentials
    assert "bot.channels.zalo.ZaloInput" in credentials
    assert "bot.web.channel.SocketIOChannel" in credentials  # socket.io with outbox push


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        (b"", "JSON"),
        (b"{not json", "JSON"),
        (b"\xff\xfe\x00", "JSON"),
        (b"[1, 2]", "object"),
        (b'{"message": "hi"}', "sender"),
        (b'{"sender": "", "message": "hi"}', "sender"),
        (b'{"sender": "a", "message": 5}', "message"),
        (b'{"sender": "a", "message": "x\\u0000y"}', "binary"),
        (json.dumps({"sender": "a" * 500, "message": "hi"}).encode(), "longer"),
        (b'{"sender": "a", "message": "hi", "metadata": [1]}', "metadata"),
    ],
)
def test_bad_bodies_are_refused_with_a_reason(raw: bytes, error: str) -> None:
    with pytest.raises(BadRequest, match=error):
        parse_body(raw)


def test_good_body_and_huge_message() -> None:
    sender, message, metadata = parse_body(
        json.dumps({"sender": " u1 ", "message": "xin chào", "metadata": {"a": 1}}).encode()
    )
    assert (sender, message, metadata) == ("u1", "xin chào", {"a": 1})
    _, cut, _ = parse_body(json.dumps({"sender": "u", "message": "a" * 100_000}).encode())
    assert len(cut) == MAX_MESSAGE_CHARS


def test_only_trusted_forwarders_name_their_channel(monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.web.channel import forwarded_channel

    monkeypatch.delenv("TTHC_FORWARDER_SECRET", raising=False)
    assert forwarded_channel("telegram", None) == "telegram"  # embedded default
    assert forwarded_channel("zalo", None) is None  # not a forwarded channel
    assert forwarded_channel(["telegram"], None) is None
    monkeypatch.setenv("TTHC_FORWARDER_SECRET", "s3cret")
    assert forwarded_channel("telegram", None) is None
    assert forwarded_channel("telegram", "wrong") is None
    assert forwarded_channel("telegram", "s3cret") == "telegram"
