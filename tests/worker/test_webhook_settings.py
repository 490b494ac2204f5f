"""The webhook delivery's settings: every variable an operator sets arrives, none is ignored."""

from __future__ import annotations

from pathlib import Path

import pytest

from haven.broker import SettingsError
from tests.worker.conftest import ROUTER_KEYS, router_key_file
from worker.webhook import WebhookSettings


def test_every_variable_arrives_with_a_value_other_than_its_default(tmp_path: Path) -> None:
    environ = {
        "HAVEN_AMQP_URL": "amqp://haven-deliver:pw@broker.internal:5672/network",
        "HAVEN_WEBHOOK_SECRETS_DIR": str(tmp_path / "secrets"),
        "HAVEN_WEBHOOK_TIMEOUT": "7.5",
        "HAVEN_WEBHOOK_CA_FILE": str(tmp_path / "ca.pem"),
        "HAVEN_DIRECTORY_REFRESH": "45",
        "HAVEN_RETRY_DELAYS": "3,9",
        "HAVEN_WEBHOOK_ALLOW_PRIVATE": "1",
        **router_key_file(tmp_path),
    }
    settings = WebhookSettings.from_env(environ)
    defaults = WebhookSettings(secrets_dir=tmp_path, router_keys=ROUTER_KEYS)
    read = {
        "urls": settings.broker.urls,
        "secrets_dir": settings.secrets_dir,
        "timeout": settings.timeout,
        "ca_file": settings.ca_file,
        "directory_refresh": settings.directory_refresh,
        "retry_delays": settings.limits.retry_delays,
        "allow_private": settings.allow_private,
    }
    assert read == {
        "urls": (environ["HAVEN_AMQP_URL"],),
        "secrets_dir": tmp_path / "secrets",
        "timeout": 7.5,
        "ca_file": tmp_path / "ca.pem",
        "directory_refresh": 45.0,
        "retry_delays": (3, 9),
        "allow_private": True,
    }
    # Each expected value differs from the default, so an ignored variable fails.
    assert settings.broker.urls != defaults.broker.urls
    assert settings.timeout != defaults.timeout
    assert settings.ca_file != defaults.ca_file
    assert settings.directory_refresh != defaults.directory_refresh
    assert settings.limits.retry_delays != defaults.limits.retry_delays
    # Off unless asked for: production never reaches internal addresses by default.
    assert defaults.allow_private is False
    keyed = {"HAVEN_WEBHOOK_SECRETS_DIR": "s", **router_key_file(tmp_path)}
    assert WebhookSettings.from_env(keyed).allow_private is False
    assert not WebhookSettings.from_env({**keyed, "HAVEN_WEBHOOK_ALLOW_PRIVATE": "0"}).allow_private


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("HAVEN_WEBHOOK_SECRETS_DIR", "", "HAVEN_WEBHOOK_SECRETS_DIR must name"),
        ("HAVEN_WEBHOOK_TIMEOUT", "0", "HAVEN_WEBHOOK_TIMEOUT must be between"),
        ("HAVEN_WEBHOOK_TIMEOUT", "soon", "HAVEN_WEBHOOK_TIMEOUT must be a number"),
        ("HAVEN_DIRECTORY_REFRESH", "0", "HAVEN_DIRECTORY_REFRESH must be between"),
        # "yes" or "true" is refused rather than guessed at, either way.
        ("HAVEN_WEBHOOK_ALLOW_PRIVATE", "yes", "HAVEN_WEBHOOK_ALLOW_PRIVATE must be 1"),
        ("HAVEN_WEBHOOK_ALLOW_PRIVATE", "false", "HAVEN_WEBHOOK_ALLOW_PRIVATE must be 1"),
    ],
)
def test_a_bad_value_names_its_variable(tmp_path: Path, name: str, value: str, says: str) -> None:
    environ = {"HAVEN_WEBHOOK_SECRETS_DIR": str(tmp_path), **router_key_file(tmp_path), name: value}
    with pytest.raises(SettingsError, match=says):
        WebhookSettings.from_env(environ)
