"""The inbox app on a real network: intake, router, broker; pulled, worked on, answered, declined."""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from haven.broker.settings import BrokerSettings
from haven.envelope import PrivateKey
from haven.partner.outbox import MailboxSettings
from haven.partner.pull import PartnerSettings
from haven.partner.web import ServeSettings, create_app
from haven.partner.web.state import STATE_KEY, WebState
from tests.haven.partner.conftest import (
    EXAMPLE,
    Network,
    RequesterKeys,
    b64,
    fast_router,
    running_router,
    verified_loader,
    wait_until,
)
from tests.haven.partner.web.conftest import SECOND, SECOND_PASSPHRASE, post, unlock
from tests.team_inbox import add, make_team

pytestmark = pytest.mark.broker

PARTNERS = ("alpha", "bravo")
CANARY = "canary-5e1b-web-inbox"


def _content(requester: RequesterKeys, message: str) -> bytes:
    document = json.loads(EXAMPLE)
    document["fields"]["message"] = message
    document["fields"]["contact_channel"] = "haven_reply"
    document["fields"].pop("contact_handle", None)
    document["reply_key"] = b64(requester.reply_key.public_key.to_bytes())
    document["mailbox_id"] = b64(requester.mailbox_id)
    document["access_hash"] = b64(requester.access_hash)
    return json.dumps(document, ensure_ascii=False).encode()


def _app(network: Network, partner: str, key: PrivateKey, root: Path) -> Flask:
    unlocked = make_team(root, key)
    add(root, unlocked, SECOND, SECOND_PASSPHRASE)
    settings = ServeSettings(
        inbox=root,
        partner_id=partner,
        broker=PartnerSettings(BrokerSettings(url=network.broker_url), partner),
        mailbox=MailboxSettings.parse(network.intake_url, "the test's intake URL"),
    )
    return create_app(settings, background=False)


def _web(app: Flask) -> WebState:
    state = app.extensions[STATE_KEY]
    assert isinstance(state, WebState)
    return state


def _holds(app: Flask, request_id: str) -> bool:
    return any(c.entry.request_id == request_id for c in _web(app).vault.cases())


def test_a_team_pulls_works_on_answers_and_declines_and_logs_no_content(
    make_network: Callable[..., Network],
    partner_private_keys: dict[str, PrivateKey],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    network = make_network()
    apps = {p: _app(network, p, partner_private_keys[p], tmp_path / "teams" / p) for p in PARTNERS}
    clients: dict[str, FlaskClient] = {p: app.test_client() for p, app in apps.items()}
    for client in clients.values():
        assert unlock(client).status_code == 303
    requester = RequesterKeys()
    with running_router(fast_router(network), verified_loader(network)):
        first = network.submit(network.seal(_content(requester, CANARY)))
        second = network.submit(network.seal(_content(RequesterKeys(), CANARY + " second")))

        def taken(*ids: str) -> bool:
            for app in apps.values():
                _web(app).puller.pull_once()
            return all(any(_holds(app, i) for app in apps.values()) for i in ids)

        wait_until(lambda: taken(first, second), what="both requests pulled by the apps")
        holder = next(p for p in PARTNERS if _holds(apps[p], first))
        client = clients[holder]
        pulled = client.get("/state").get_json()
        assert pulled["last_pulled"] and pulled["new"] >= 1

        page = client.get(f"/cases/{first}").get_data(as_text=True)
        assert CANARY in page
        path = f"/cases/{first}"
        assert post(client, f"{path}/note", {"text": CANARY + " note"}).status_code == 303
        assert post(client, f"{path}/assign", {"to": SECOND}).status_code == 303
        replied = post(client, f"{path}/reply", {"text": CANARY + " reply", "state": "need_info"})
        assert replied.status_code == 303, replied.get_data(as_text=True)
        case = next(c for c in _web(apps[holder]).vault.cases() if c.entry.request_id == first)
        assert [(m["kind"], m["state"]) for m in case.entry.sent] == [
            ("status", "received"),
            ("status", "need_info"),
        ]
        assert case.assignee == SECOND and case.notes[0].member == "alice"
        assert CANARY + " reply" in client.get(path).get_data(as_text=True)

        declining = next(p for p in PARTNERS if _holds(apps[p], second))
        other = next(p for p in PARTNERS if p != declining)
        declined = post(clients[declining], f"/cases/{second}/decline", {"reason": "no-capacity"})
        assert declined.status_code == 303 and declined.headers["Location"] == "/"
        assert not _holds(apps[declining], second)
        # Nor in the app's memory: no opened envelope of it is kept.
        reader = _web(apps[declining]).vault._reader
        assert reader is None or second not in reader._opened

        def rerouted() -> bool:
            _web(apps[other]).puller.pull_once()
            return _holds(apps[other], second)

        wait_until(rerouted, what="the declined request taken by the next partner")
    for client in clients.values():
        post(client, "/lock", {})
    logged = caplog.text
    # The capture saw the app's own lines (ids and outcomes) ...
    assert "pulled:" in logged and f"request {first}: reply" in logged
    # ... and no content, in clear or in base64, nor the requester's mailbox.
    assert CANARY not in logged
    assert base64.b64encode(CANARY.encode()).decode()[:16] not in logged
    assert b64(requester.mailbox_id) not in logged
