"""The partners' inbox app with Flask's test client, over a real team inbox (cheap scrypt)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from haven.envelope import Labels, PrivateKey, digest, seal
from haven.partner.entry import Entry, format_time
from haven.partner.inbox import Inbox
from haven.partner.opening import open_item
from haven.partner.team import Unlocked
from haven.partner.web import ServeSettings, create_app
from tests.repo import REPO
from tests.team_inbox import MEMBER, MEMBER_PASSPHRASE, add, make_team

EXAMPLE = json.loads((REPO / "haven" / "examples" / "desertion.json").read_bytes())
SECOND = "bob"
SECOND_PASSPHRASE = "another test-only passphrase"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


class Clock:
    """The app's monotonic clock, moved by the test (the idle lock counts on it)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Team:
    root: Path
    key: PrivateKey
    unlocked: Unlocked
    clock: Clock = field(default_factory=Clock)

    def inbox(self) -> Inbox:
        return Inbox(self.root, self.unlocked)

    def take(
        self,
        message: str = "",
        *,
        urgency: str = "normal",
        category: str = "desertion",
        deadline: datetime | None = None,
        language: str = "ru",
        extra: dict[str, Any] | None = None,
    ) -> str:
        """A request stored as a pull stores it (sealed to the org key); its id."""
        content: dict[str, Any] = {**EXAMPLE, "fields": {**EXAMPLE["fields"]}, **(extra or {})}
        if message:
            content["fields"]["message"] = message
        body = seal(
            json.dumps(content).encode(),
            Labels(category, "ru-central", language, urgency),
            [self.key.public_key],
        )
        return self.store(body, deadline=deadline)

    def store(self, body: bytes, *, deadline: datetime | None = None) -> str:
        """An envelope (a request or a follow-up) stored as a pull stores it; its id."""
        opened = open_item(body, [self.key])
        entry = Entry(
            digest(body),
            format_time(datetime.now(UTC)),
            opened.labels,
            opened.server_sealed,
            opened.content,
            kind=opened.kind,
        )
        self.inbox().store(
            entry, body, {"x-haven-category": opened.labels["category"]}, deadline=deadline
        )
        return entry.request_id


@pytest.fixture(scope="module")
def org_key() -> PrivateKey:
    return PrivateKey.generate()


@pytest.fixture
def team(tmp_path: Path, org_key: PrivateKey) -> Team:
    root = tmp_path / "inbox"
    unlocked = make_team(root, org_key)
    add(root, unlocked, SECOND, SECOND_PASSPHRASE)
    return Team(root, org_key, unlocked)


MakeApp = Callable[..., Flask]


@pytest.fixture
def make_app(team: Team) -> MakeApp:
    def make(**overrides: Any) -> Flask:
        settings = ServeSettings(inbox=team.root, partner_id="alpha", **overrides)
        app = create_app(settings, clock=team.clock, background=False)
        app.testing = True
        return app

    return make


@pytest.fixture
def app(make_app: MakeApp) -> Flask:
    return make_app()


def csrf_of(page: str) -> str:
    found = CSRF.search(page)
    assert found is not None, "no CSRF token on the page"
    return found.group(1)


def unlock(client: FlaskClient, member: str = MEMBER, passphrase: str = MEMBER_PASSPHRASE) -> Any:
    page = client.get("/unlock").get_data(as_text=True)
    return client.post(
        "/unlock",
        data={"member": member, "passphrase": passphrase, "csrf": csrf_of(page)},
        headers={"Sec-Fetch-Site": "same-origin"},
    )


def token(client: FlaskClient, path: str = "/") -> str:
    return csrf_of(client.get(path).get_data(as_text=True))


def post(client: FlaskClient, path: str, data: dict[str, str], csrf: str | None = None) -> Any:
    return client.post(
        path,
        data={**data, "csrf": csrf if csrf is not None else token(client)},
        headers={"Sec-Fetch-Site": "same-origin"},
    )


def soon(hours: float) -> datetime:
    return datetime.now(UTC) + timedelta(hours=hours)
