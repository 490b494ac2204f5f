"""IntakeSettings.from_env: parsed once, every error names its variable; a bad directory stops the start."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

from haven.broker import BrokerSettings, SettingsError
from haven.directory import DirectoryError
from haven.envelope import NetworkKey
from intake import IntakeSettings, create_app
from intake.settings import MAX_BODY_BYTES
from tests.intake.conftest import NetworkFiles, signed_directory

URL = "amqp://guest:guest@127.0.0.1:5672/%2F"
# Not the default URL: read from HAVEN_AMQP_URL, or the test could not tell.
INTAKE_URL = "amqp://haven-intake:pass@broker.invalid:5671/haven"


def test_from_env_reads_every_variable_the_intake_documents(
    files: NetworkFiles, tmp_path: Path
) -> None:
    # Operators set the intake up through these variables alone: each one
    # set to a value no default has must arrive, or a bound they chose (a
    # proof-of-work floor, a publish timeout) silently is not the one in force.
    state = tmp_path / "seen-directory-intake.json"
    settings = IntakeSettings.from_env(
        files.environ(
            INTAKE_URL,
            HAVEN_BEHIND_TLS="yes",
            HAVEN_CHALLENGE_LIFETIME="120",
            HAVEN_POW_DEPTH_PER_BIT="250",
            HAVEN_POW_BASELINE_PER_MINUTE="45",
            HAVEN_PARTNER_MAX_LENGTH="4321",
            HAVEN_DIRECTORY_STATE=str(state),
            HAVEN_SITE_MANIFEST_FILE=str(tmp_path / "site-manifest.json"),
            HAVEN_NOJS_TICKET_MIN_AGE="2",
            HAVEN_NOJS_TICKET_MAX_AGE="900",
            HAVEN_NOJS_BUCKET_SIZE="4",
            HAVEN_NOJS_REFILL_PER_MINUTE="30",
            HAVEN_OPS_BIND="[::1]:9103",
            HAVEN_PUBLISH_TIMEOUT="7.5",
            HAVEN_CONNECT_TIMEOUT="4.5",
            HAVEN_RETRY_AFTER="11",
            HAVEN_DELIVERY_LIMIT="9",
            HAVEN_INTAKE_MAX_LENGTH="1234",
            HAVEN_QUARANTINE_MAX_LENGTH="2345",
            HAVEN_MAILBOX_RETENTION="604800",
        )
    )
    assert settings.directory_file == files.directory_file
    assert settings.network_verify_key == files.network_key.verify_key
    assert settings.pow_secret == files.pow_secret_file.read_bytes()
    expected = {
        "pow_min_bits": 8,
        "pow_max_bits": 12,
        "pow_depth_per_bit": 250,
        "pow_baseline_per_minute": 45,
        "partner_max_length": 4321,
        "challenge_lifetime": 120,
        "behind_tls": True,
        "directory_state": state,
        "site_manifest_file": tmp_path / "site-manifest.json",
        "nojs_ticket_min_age": 2,
        "nojs_ticket_max_age": 900,
        "nojs_bucket_size": 4,
        "nojs_refill_per_minute": 30,
        "ops_bind": ("::1", 9103),
        "mailbox_retention": 604800,
    }
    assert {name: getattr(settings, name) for name in expected} == expected
    assert settings.broker == BrokerSettings(
        urls=(INTAKE_URL,),
        publish_timeout=7.5,
        connect_timeout=4.5,
        retry_after=11,
        delivery_limit=9,
        intake_max_length=1234,
        quarantine_max_length=2345,
    )
    # Every value above differs from its default, so none passes by luck.
    for name, value in expected.items():
        assert value != getattr(IntakeSettings, name), name
    for field in dataclasses.fields(BrokerSettings):
        assert getattr(settings.broker, field.name) != field.default, field.name
    # base64 of the largest envelope, plus room for the rest of the JSON
    assert MAX_BODY_BYTES == 138832 + 4096 == settings.max_body_bytes
    # the secret never appears in a repr (and so in no traceback or log)
    assert repr(settings.pow_secret) not in repr(settings)


def test_directory_state(files: NetworkFiles, tmp_path: Path) -> None:
    state = tmp_path / "seen-directory-intake.json"
    settings = IntakeSettings.from_env(files.environ(URL, HAVEN_DIRECTORY_STATE=str(state)))
    assert settings.directory_state == state


def test_defaults(files: NetworkFiles) -> None:
    environ = files.environ(URL)
    del environ["HAVEN_POW_MIN_BITS"], environ["HAVEN_POW_MAX_BITS"]
    settings = IntakeSettings.from_env(environ)
    assert (settings.pow_min_bits, settings.pow_max_bits, settings.challenge_lifetime) == (
        16,
        18,
        300,
    )
    assert settings.pow_baseline_per_minute == 20
    assert settings.behind_tls is False
    assert settings.ops_bind == ("127.0.0.1", 8081)
    assert settings.mailbox_retention == 30 * 86_400


@pytest.mark.parametrize(
    ("change", "variable"),
    [
        ({"HAVEN_DIRECTORY_FILE": ""}, "HAVEN_DIRECTORY_FILE"),
        ({"HAVEN_POW_SECRET_FILE": "/nonexistent/secret"}, "HAVEN_POW_SECRET_FILE"),
        ({"HAVEN_NETWORK_VERIFY_KEY_FILE": "/nonexistent/key"}, "HAVEN_NETWORK_VERIFY_KEY_FILE"),
        ({"HAVEN_POW_MIN_BITS": "sixteen"}, "HAVEN_POW_MIN_BITS"),
        ({"HAVEN_POW_MIN_BITS": "33"}, "HAVEN_POW_MIN_BITS"),
        ({"HAVEN_POW_MAX_BITS": "4"}, "HAVEN_POW_MAX_BITS"),
        ({"HAVEN_POW_DEPTH_PER_BIT": "0"}, "HAVEN_POW_DEPTH_PER_BIT"),
        ({"HAVEN_POW_BASELINE_PER_MINUTE": "0"}, "HAVEN_POW_BASELINE_PER_MINUTE"),
        ({"HAVEN_POW_BASELINE_PER_MINUTE": "many"}, "HAVEN_POW_BASELINE_PER_MINUTE"),
        ({"HAVEN_PARTNER_MAX_LENGTH": "0"}, "HAVEN_PARTNER_MAX_LENGTH"),
        ({"HAVEN_CHALLENGE_LIFETIME": "5"}, "HAVEN_CHALLENGE_LIFETIME"),
        ({"HAVEN_BEHIND_TLS": "maybe"}, "HAVEN_BEHIND_TLS"),
        ({"HAVEN_AMQP_URL": "http://broker"}, "HAVEN_AMQP_URL"),
        # An IP literal and a port, never a host name to resolve.
        ({"HAVEN_OPS_BIND": "intake.example:8081"}, "HAVEN_OPS_BIND"),
        ({"HAVEN_OPS_BIND": "127.0.0.1"}, "HAVEN_OPS_BIND"),
        ({"HAVEN_OPS_BIND": "127.0.0.1:0"}, "HAVEN_OPS_BIND"),
        ({"HAVEN_OPS_BIND": "127.0.0.1:65536"}, "HAVEN_OPS_BIND"),
        ({"HAVEN_MAILBOX_RETENTION": "30d"}, "HAVEN_MAILBOX_RETENTION"),
        ({"HAVEN_MAILBOX_RETENTION": "3600"}, "HAVEN_MAILBOX_RETENTION"),
        ({"HAVEN_MAILBOX_RETENTION": str(366 * 86_400)}, "HAVEN_MAILBOX_RETENTION"),
    ],
)
def test_bad_settings_name_the_variable(
    files: NetworkFiles, change: dict[str, str], variable: str
) -> None:
    with pytest.raises(SettingsError, match=variable):
        IntakeSettings.from_env({**files.environ(URL), **change})


def test_an_unusable_secret_file_is_named_in_the_words_every_setting_uses(
    files: NetworkFiles, tmp_path: Path
) -> None:
    large = tmp_path / "large"
    large.write_bytes(b"x" * 4097)
    absent = tmp_path / "absent"
    for path, says in (
        (large, f"HAVEN_POW_SECRET_FILE: {large} is larger than 4096 bytes"),
        (absent, f"HAVEN_POW_SECRET_FILE: cannot read {absent}: No such file or directory"),
    ):
        with pytest.raises(SettingsError) as raised:
            IntakeSettings.from_env({**files.environ(URL), "HAVEN_POW_SECRET_FILE": str(path)})
        assert str(raised.value) == says


def test_a_floor_above_the_new_default_ceiling_says_what_to_set(files: NetworkFiles) -> None:
    """An operator upgrading with HAVEN_POW_MIN_BITS=20 and no ceiling set (the old default was 24)."""
    environ = files.environ(URL, HAVEN_POW_MIN_BITS="20")
    del environ["HAVEN_POW_MAX_BITS"]
    with pytest.raises(SettingsError) as refused:
        IntakeSettings.from_env(environ)
    message = str(refused.value)
    assert "18 when unset" in message
    assert "set HAVEN_POW_MAX_BITS to between 20 and 32" in message


def test_short_secret_and_bad_key_file(files: NetworkFiles, tmp_path: Path) -> None:
    short = tmp_path / "short"
    short.write_bytes(b"x" * 31)
    with pytest.raises(SettingsError, match="HAVEN_POW_SECRET_FILE must hold at least 32 bytes"):
        IntakeSettings.from_env({**files.environ(URL), "HAVEN_POW_SECRET_FILE": str(short)})
    with pytest.raises(
        SettingsError, match=r"HAVEN_NETWORK_VERIFY_KEY_FILE: .* is not a network verify key"
    ):
        IntakeSettings.from_env({**files.environ(URL), "HAVEN_NETWORK_VERIFY_KEY_FILE": str(short)})


def test_refuses_to_start_on_a_directory_the_pinned_key_did_not_sign(
    files: NetworkFiles,
) -> None:
    files.directory_file.write_bytes(signed_directory(NetworkKey.generate(), files.partners))
    settings = IntakeSettings.from_env(files.environ(URL))
    with pytest.raises(DirectoryError, match="directory refused"):
        create_app(settings)


def test_entry_point_stops_with_one_line(files: NetworkFiles) -> None:
    files.directory_file.write_bytes(b"{}")
    environ = {**files.environ(URL), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-c", "from intake.serving.wsgi import app_from_env; app_from_env()"],
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert done.stderr.startswith("haven intake: refusing to serve the partner directory: ")
    assert done.stderr.count("\n") == 1
    environ["HAVEN_POW_MIN_BITS"] = "x"
    done = subprocess.run(
        [sys.executable, "-c", "from intake.serving.wsgi import app_from_env; app_from_env()"],
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.stderr == "haven intake: bad setting: HAVEN_POW_MIN_BITS must be a whole number\n"


def test_entry_point_stops_with_one_line_on_a_bad_site_manifest(
    files: NetworkFiles, tmp_path: Path
) -> None:
    manifest = tmp_path / "site-manifest.json"
    manifest.write_bytes(b"{}")
    environ = {
        **files.environ(URL, HAVEN_SITE_MANIFEST_FILE=str(manifest)),
        "PATH": "/usr/bin:/bin",
    }
    done = subprocess.run(
        [sys.executable, "-c", "from intake.serving.wsgi import app_from_env; app_from_env()"],
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert done.stderr == (
        "haven intake: refusing to serve the site manifest: site manifest refused: "
        "not a signed document: format is not haven-signed-v1\n"
    )
