"""IntakeSettings.from_env: parsed once, every error names its variable; a bad directory stops the start."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from haven.broker import SettingsError
from haven.directory import DirectoryError
from haven.envelope import NetworkKey
from intake import IntakeSettings, create_app
from intake.settings import MAX_BODY_BYTES
from tests.intake.conftest import NetworkFiles, signed_directory

URL = "amqp://guest:guest@127.0.0.1:5672/%2F"


def test_from_env(files: NetworkFiles) -> None:
    settings = IntakeSettings.from_env(
        files.environ(URL, HAVEN_BEHIND_TLS="yes", HAVEN_CHALLENGE_LIFETIME="120")
    )
    assert settings.network_verify_key == files.network_key.verify_key
    assert settings.pow_secret == files.pow_secret_file.read_bytes()
    assert (settings.pow_min_bits, settings.pow_max_bits) == (8, 12)
    assert settings.pow_depth_per_bit == 1000
    assert settings.challenge_lifetime == 120
    assert settings.behind_tls is True
    assert settings.directory_state is None
    assert settings.broker.url == URL
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
        24,
        300,
    )
    assert settings.behind_tls is False


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
        ({"HAVEN_CHALLENGE_LIFETIME": "5"}, "HAVEN_CHALLENGE_LIFETIME"),
        ({"HAVEN_BEHIND_TLS": "maybe"}, "HAVEN_BEHIND_TLS"),
        ({"HAVEN_AMQP_URL": "http://broker"}, "HAVEN_AMQP_URL"),
    ],
)
def test_bad_settings_name_the_variable(
    files: NetworkFiles, change: dict[str, str], variable: str
) -> None:
    with pytest.raises(SettingsError, match=variable):
        IntakeSettings.from_env({**files.environ(URL), **change})


def test_short_secret_and_bad_key_file(files: NetworkFiles, tmp_path: Path) -> None:
    short = tmp_path / "short"
    short.write_bytes(b"x" * 31)
    with pytest.raises(SettingsError, match="HAVEN_POW_SECRET_FILE must hold at least 32 bytes"):
        IntakeSettings.from_env({**files.environ(URL), "HAVEN_POW_SECRET_FILE": str(short)})
    with pytest.raises(SettingsError, match="HAVEN_NETWORK_VERIFY_KEY_FILE: not a network"):
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
