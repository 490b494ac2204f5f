"""A small client for the RabbitMQ management HTTP API: users, permissions, connections.

Standard library only. Every request has a timeout, never follows a
redirect, and every failure is a `ManagementError` that names the HTTP
status and the API path: never the admin password, a partner's password or
a request body, so an error can be printed or logged as it is.
"""

from __future__ import annotations

import base64
import http.client
import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from haven.broker.settings import SettingsError
from haven.files import read_setting_file

# Far above any real answer (a user or connection list); a broker (or
# something posing as it) cannot make the provisioner read without bound.
MAX_RESPONSE_BYTES = 16 * 1024 * 1024


# A password file is one line; anything larger is not one.
MAX_PASSWORD_FILE = 4096
# The management plugin's port beside a broker that names no other.
DEFAULT_MANAGEMENT_PORT = 15672
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


@dataclass(frozen=True)
class ManagementAccess:
    """Where the management API is and whom to log in as; parsed once, passed in explicitly.

    The operators' admin is not the broker URL's user in the compose stack
    (HAVEN_MANAGEMENT_USER and a password file); elsewhere the broker URL's
    own user and password serve both.
    """

    url: str
    user: str
    # Never in a repr: settings objects end up in tracebacks and debug output.
    password: str = field(repr=False)
    vhost: str = "/"

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str], amqp_url: str, *, url: str | None = None
    ) -> ManagementAccess:
        """`url` (a command-line flag), else HAVEN_MANAGEMENT_URL, else port 15672 of a local broker.

        For a broker on another host no URL is guessed: the admin password
        would go to it over plain HTTP. The operator names the API (https://
        where it crosses a network).
        """
        parts = urlsplit(amqp_url)
        chosen = url or environ.get("HAVEN_MANAGEMENT_URL") or _local_default(parts.hostname)
        user = environ.get("HAVEN_MANAGEMENT_USER") or unquote(parts.username or "guest")
        password_path = environ.get("HAVEN_MANAGEMENT_PASSWORD_FILE")
        password = (
            _read_password(Path(password_path))
            if password_path
            else unquote(parts.password or "guest")
        )
        path = parts.path.lstrip("/")
        return cls(chosen, user, password, unquote(path) if path else "/")

    def client(self) -> ManagementClient:
        """A client for this API; SettingsError names what is wrong with the URL."""
        try:
            return ManagementClient(self.url, self.user, self.password)
        except ValueError as exc:
            raise SettingsError(f"HAVEN_MANAGEMENT_URL or --management-url: {exc}") from None


def _local_default(host: str | None) -> str:
    """The management API beside a broker on this machine; SettingsError for any other host."""
    if host is None or host in _LOOPBACK:
        shown = "[::1]" if host == "::1" else (host or "127.0.0.1")
        return f"http://{shown}:{DEFAULT_MANAGEMENT_PORT}"
    raise SettingsError(
        f"the broker is on {host}: say where its management API is "
        "(HAVEN_MANAGEMENT_URL or --management-url, https:// across a network)"
    )


def _read_password(path: Path) -> str:
    """One line of UTF-8 from HAVEN_MANAGEMENT_PASSWORD_FILE, read with a bound."""
    raw = read_setting_file(
        "HAVEN_MANAGEMENT_PASSWORD_FILE", path, MAX_PASSWORD_FILE, error=SettingsError
    )
    try:
        password = raw.decode("utf-8").rstrip("\r\n")
    except UnicodeDecodeError:
        raise SettingsError(f"HAVEN_MANAGEMENT_PASSWORD_FILE: {path} is not UTF-8") from None
    if not password:
        raise SettingsError(f"HAVEN_MANAGEMENT_PASSWORD_FILE: {path} is empty")
    return password


class ManagementError(Exception):
    """A management API call failed: the status (None: no answer) and the path, nothing secret."""

    def __init__(self, path: str, status: int | None, detail: str) -> None:
        self.path = path
        self.status = status
        shown = f"HTTP {status}" if status is not None else "no answer"
        super().__init__(f"RabbitMQ management API {path}: {shown} ({detail})")


@dataclass(frozen=True)
class Permissions:
    configure: str
    write: str
    read: str


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # urllib would re-send the Authorization header to wherever a redirect
    # points, possibly another host: the admin password must never follow one.
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _segment(text: str) -> str:
    # One path segment: "/" (the default vhost) becomes %2F, and no user or
    # vhost name can reach another API path.
    return quote(text, safe="")


def _error_word(body: bytes) -> str:
    """The API's own error keyword (e.g. "not_found"), never its free text, which may quote input."""
    try:
        word = json.loads(body).get("error", "")
    except (ValueError, AttributeError):
        return "no error document"
    if isinstance(word, str) and word.replace("_", "").isalnum() and len(word) <= 40:
        return word
    return "error"


class ManagementClient:
    """The management API of one broker, as one admin user. Passwords go in explicitly, never in URLs."""

    def __init__(self, base_url: str, user: str, password: str, *, timeout: float = 10.0) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("the management URL must be http:// or https:// with a host")
        # Credentials inside the URL would turn up in every error message.
        if parts.username is not None or parts.password is not None:
            raise ValueError("the management URL must not contain a user or password")
        if not 0 < timeout <= 120:
            raise ValueError("the management API timeout must be between 0 and 120 seconds")
        self._base = base_url.rstrip("/")
        token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
        self._authorization = f"Basic {token}"
        self._timeout = timeout
        self._opener = urllib.request.build_opener(_NoRedirect())

    def __repr__(self) -> str:
        # Never the Authorization value.
        return f"ManagementClient({self._base!r})"

    def _call(
        self,
        method: str,
        path: str,
        body: Mapping[str, object] | None = None,
        *,
        missing_ok: bool = False,
    ) -> tuple[int, Any]:
        """(status, parsed JSON or None); 404 is (404, None) when missing_ok."""
        data = None if body is None else json.dumps(body).encode()
        # The scheme was checked to be http(s) in __init__.
        request = urllib.request.Request(self._base + path, data=data, method=method)  # noqa: S310
        request.add_header("Authorization", self._authorization)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with self._opener.open(request, timeout=self._timeout) as response:
                status = int(response.status)
                raw = response.read(MAX_RESPONSE_BYTES + 1)
        except urllib.error.HTTPError as exc:
            # An HTTPError holds the connection: closed here, not by the collector.
            with exc:
                if exc.code == 404 and missing_ok:
                    return 404, None
                detail = _error_word(exc.read(4096))
            if 300 <= exc.code < 400:
                detail = "redirect refused"
            raise ManagementError(path, exc.code, detail) from None
        except urllib.error.URLError as exc:
            raise ManagementError(path, None, str(exc.reason)) from None
        except (
            OSError,
            ValueError,
            http.client.HTTPException,
        ) as exc:  # timeouts, resets, bad answers
            raise ManagementError(path, None, type(exc).__name__) from None
        if len(raw) > MAX_RESPONSE_BYTES:
            raise ManagementError(path, status, "answer too large")
        if not raw:
            return status, None
        try:
            return status, json.loads(raw)
        except ValueError:
            raise ManagementError(path, status, "answer is not JSON") from None

    # Vhosts

    def vhost_exists(self, vhost: str) -> bool:
        status, _ = self._call("GET", f"/api/vhosts/{_segment(vhost)}", missing_ok=True)
        return status != 404

    # Users (global to the broker, not per vhost)

    def put_user(self, name: str, password: str, tags: str = "") -> bool:
        """Create or update a user; True when it was created. Tags are replaced, not merged."""
        status, _ = self._call(
            "PUT", f"/api/users/{_segment(name)}", {"password": password, "tags": tags}
        )
        return status == 201

    def delete_user(self, name: str) -> bool:
        """Delete a user (RabbitMQ closes its connections); False when there was none."""
        status, _ = self._call("DELETE", f"/api/users/{_segment(name)}", missing_ok=True)
        return status != 404

    def list_users(self) -> list[str]:
        _, users = self._call("GET", "/api/users")
        return sorted(str(user["name"]) for user in _records(users, "/api/users"))

    def user_tags(self, name: str) -> list[str] | None:
        """The user's tags, or None when there is no such user."""
        path = f"/api/users/{_segment(name)}"
        status, user = self._call("GET", path, missing_ok=True)
        if status == 404:
            return None
        tags = user.get("tags", []) if isinstance(user, dict) else None
        # 3.10 answers a list; older brokers a comma-separated string.
        if isinstance(tags, str):
            return [tag for tag in tags.split(",") if tag]
        if isinstance(tags, list):
            return [str(tag) for tag in tags]
        raise ManagementError(path, status, "unexpected answer")

    # Permissions (per user and vhost)

    def set_permissions(self, vhost: str, user: str, configure: str, write: str, read: str) -> None:
        self._call(
            "PUT",
            f"/api/permissions/{_segment(vhost)}/{_segment(user)}",
            {"configure": configure, "write": write, "read": read},
        )

    def set_user_limit(self, user: str, name: str, value: int) -> None:
        """A per-user limit: max-connections or max-channels (RabbitMQ 3.8.10 and later)."""
        self._call("PUT", f"/api/user-limits/{_segment(user)}/{_segment(name)}", {"value": value})

    def user_limits(self, user: str) -> dict[str, int]:
        path = f"/api/user-limits/{_segment(user)}"
        _, found = self._call("GET", path)
        limits: dict[str, int] = {}
        for record in _records(found, path):
            value = record.get("value")
            if isinstance(value, dict):
                limits.update({str(k): int(v) for k, v in value.items()})
        return limits

    def get_permissions(self, vhost: str, user: str) -> Permissions | None:
        """The user's permissions on the vhost, or None when it has none."""
        path = f"/api/permissions/{_segment(vhost)}/{_segment(user)}"
        status, found = self._call("GET", path, missing_ok=True)
        if status == 404:
            return None
        return _permissions(found, path)

    def clear_permissions(self, vhost: str, user: str) -> bool:
        status, _ = self._call(
            "DELETE", f"/api/permissions/{_segment(vhost)}/{_segment(user)}", missing_ok=True
        )
        return status != 404

    def vhost_users(self, vhost: str) -> list[str]:
        """Users holding permissions on the vhost."""
        path = f"/api/vhosts/{_segment(vhost)}/permissions"
        _, found = self._call("GET", path)
        return sorted(str(entry["user"]) for entry in _records(found, path))

    def user_vhosts(self, user: str) -> list[str]:
        """Vhosts on which the user holds permissions."""
        path = f"/api/users/{_segment(user)}/permissions"
        status, found = self._call("GET", path, missing_ok=True)
        if status == 404:
            return []
        return sorted(str(entry["vhost"]) for entry in _records(found, path))

    # Connections

    def close_user_connections(self, user: str, vhost: str | None = None) -> int:
        """Close the user's open AMQP connections (on one vhost, or all); how many were closed."""
        path = f"/api/connections/username/{_segment(user)}"
        _, found = self._call("GET", path)
        closed = 0
        for connection in _records(found, path):
            if vhost is not None and connection.get("vhost") != vhost:
                continue
            status, _ = self._call(
                "DELETE", f"/api/connections/{_segment(str(connection['name']))}", missing_ok=True
            )
            closed += status != 404
        return closed

    # Queues (read only: the ops status)

    def queues(self, vhost: str) -> list[dict[str, Any]]:
        """Every queue of the vhost with its counts and rates; names and numbers only, no message."""
        columns = "name,messages_ready,messages_unacknowledged,consumers,message_stats"
        path = f"/api/queues/{_segment(vhost)}"
        _, found = self._call("GET", f"{path}?columns={columns}")
        return _records(found, path)


def _records(found: Any, path: str) -> list[dict[str, Any]]:
    if not isinstance(found, list) or not all(isinstance(item, dict) for item in found):
        raise ManagementError(path, 200, "unexpected answer")
    return found


def _permissions(found: Any, path: str) -> Permissions:
    try:
        return Permissions(
            configure=str(found["configure"]), write=str(found["write"]), read=str(found["read"])
        )
    except (TypeError, KeyError):
        raise ManagementError(path, 200, "unexpected answer") from None
