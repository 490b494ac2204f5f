"""Where the management API is and whom to log in as: from explicit settings, never os.environ."""

from __future__ import annotations

from pathlib import Path

import pytest

from haven.broker.management import MAX_PASSWORD_FILE, ManagementAccess
from haven.broker.settings import SettingsError

BROKER = "amqp://router%2Duser:s%40cret@broker.internal:5672/net%2Fone"


LOCAL = "amqp://router%2Duser:s%40cret@127.0.0.1:5672/net%2Fone"


def test_without_settings_a_local_brokers_own_user_and_vhost_serve() -> None:
    access = ManagementAccess.from_env({}, LOCAL)
    assert access.url == "http://127.0.0.1:15672"
    assert (access.user, access.password, access.vhost) == ("router-user", "s@cret", "net/one")
    assert ManagementAccess.from_env({}, "amqp://[::1]:5672/").url == "http://[::1]:15672"


def test_for_a_remote_broker_no_url_is_guessed() -> None:
    # A guess would send the admin password to that host over plain HTTP.
    with pytest.raises(SettingsError, match=r"broker\.internal: say where its management API is"):
        ManagementAccess.from_env({}, BROKER)


def test_the_environment_names_url_user_and_password_file(tmp_path: Path) -> None:
    secret = tmp_path / "admin.password"
    secret.write_text("from the file\n")
    environ = {
        "HAVEN_MANAGEMENT_URL": "https://mgmt.internal:443",
        "HAVEN_MANAGEMENT_USER": "haven-admin",
        "HAVEN_MANAGEMENT_PASSWORD_FILE": str(secret),
    }
    access = ManagementAccess.from_env(environ, BROKER)
    assert (access.url, access.user, access.password) == (
        "https://mgmt.internal:443",
        "haven-admin",
        "from the file",
    )
    # A command-line flag wins over the environment.
    flagged = ManagementAccess.from_env(environ, BROKER, url="http://127.0.0.1:15999")
    assert flagged.url == "http://127.0.0.1:15999"


def test_the_password_never_shows_in_a_repr(tmp_path: Path) -> None:
    assert "s@cret" not in repr(ManagementAccess.from_env({}, LOCAL))


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"", "HAVEN_MANAGEMENT_PASSWORD_FILE: .* is empty"),
        (b"\xff\xfe\n", "HAVEN_MANAGEMENT_PASSWORD_FILE: .* is not UTF-8"),
        (
            b"x" * (MAX_PASSWORD_FILE + 1),
            f"HAVEN_MANAGEMENT_PASSWORD_FILE: .* is larger than {MAX_PASSWORD_FILE} bytes",
        ),
    ],
)
def test_a_bad_password_file_is_one_clear_error(tmp_path: Path, content: bytes, says: str) -> None:
    secret = tmp_path / "admin.password"
    secret.write_bytes(content)
    with pytest.raises(SettingsError, match=says):
        ManagementAccess.from_env({"HAVEN_MANAGEMENT_PASSWORD_FILE": str(secret)}, LOCAL)


def test_a_missing_password_file_names_the_variable(tmp_path: Path) -> None:
    absent = tmp_path / "absent"
    with pytest.raises(SettingsError) as raised:
        ManagementAccess.from_env({"HAVEN_MANAGEMENT_PASSWORD_FILE": str(absent)}, LOCAL)
    # The words every setting that names a file uses (haven.files.read_setting_file).
    assert str(raised.value) == (
        f"HAVEN_MANAGEMENT_PASSWORD_FILE: cannot read {absent}: No such file or directory"
    )


def test_a_url_with_credentials_in_it_is_refused() -> None:
    access = ManagementAccess.from_env(
        {"HAVEN_MANAGEMENT_URL": "http://admin:pw@127.0.0.1:15672"}, BROKER
    )
    with pytest.raises(SettingsError, match="must not contain a user or password"):
        access.client()
