"""The inbox app on a real network: intake, router, broker; pulled, worked on, answered, declined."""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import pika
import pytest
from flask import Flask
from flask.testing import FlaskClient

from haven.broker.provision import ManagementClient, partner_amqp_url, partner_username
from haven.broker.settings import BrokerSettings
from haven.broker.topology import partner_queue
from haven.envelope import Labels, PrivateKey, digest, seal
from haven.partner.outbox import MailboxSettings
from haven.partner.pull import PartnerSettings, PullReport
from haven.partner.web import ServeSettings, create_app
from haven.partner.web.alerts import alert_line, waiting_line
from haven.partner.web.puller import Puller
from haven.partner.web.state import STATE_KEY, WebState
from tests.haven.broker.test_provision import new_ids, password_of, run_provision
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
from tests.haven.partner.test_seized_inbox import encodings, every_byte
from tests.haven.partner.web.conftest import SECOND, SECOND_PASSPHRASE, post, unlock
from tests.team_inbox import add, make_team, open_inbox

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
        broker=PartnerSettings(BrokerSettings(urls=(network.broker_url,)), partner),
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
        assert pulled["pull"]["last_pulled"] and pulled["new"] >= 1

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
    # A seized laptop: the app locked and stopped, the teams' folders hold
    # the requests, the note and the reply in no readable form.
    for team_root in (tmp_path / "teams").iterdir():
        held = every_byte(team_root)
        assert held, team_root
        for form, needle in encodings(CANARY).items():
            assert needle not in held, (team_root.name, form)


class _LockedMidway(Puller):
    """The members' last session ends (the idle lock) just after the first message is taken."""

    def _progress(self, report: PullReport) -> None:
        if report.handled == 1:
            for token in list(self.vault._sessions):
                self.vault.lock(self.vault._sessions[token], idle=True)
        super()._progress(report)


def test_a_pull_stops_between_messages_once_the_inbox_is_locked(
    fresh_broker_url: str, tmp_path: Path
) -> None:
    key = PrivateKey.generate()
    root = tmp_path / "inbox"
    make_team(root, key)
    queue = partner_queue("alpha")
    connection = pika.BlockingConnection(pika.URLParameters(fresh_broker_url))
    try:
        channel = connection.channel()
        channel.queue_declare(queue, durable=True)
        for n in range(4):
            document = json.loads(EXAMPLE)
            document["fields"]["message"] = f"request {n}"
            body = seal(
                json.dumps(document).encode(),
                Labels("desertion", "ru-central", "ru", "normal"),
                [key.public_key],
            )
            channel.basic_publish(
                "", queue, body, pika.BasicProperties(message_id=digest(body), delivery_mode=2)
            )
        settings = ServeSettings(
            inbox=root,
            partner_id="alpha",
            broker=PartnerSettings(BrokerSettings(urls=(fresh_broker_url,)), "alpha"),
        )
        app = create_app(settings, background=False)
        web = _web(app)
        puller = _LockedMidway(web.vault, settings, web.puller.alerts)
        unlock(app.test_client())
        assert puller.pull_once() is None
        assert not web.vault.is_unlocked and not web.vault.holds_cases()
        # What was taken stays taken; the rest waits in the queue for the next unlock.
        assert len(list(open_inbox(root).entries())) == 1
        left = channel.queue_declare(queue, durable=True, passive=True)
        assert left.method.message_count == 3
    finally:
        connection.close()


@pytest.fixture
def own_user(management_url: str, fresh_broker_url: str, tmp_path: Path) -> Iterator[str]:
    """A provisioned partner id; its broker user (as `haven broker provision` makes it) is deleted after."""
    admin = ManagementClient(management_url, "guest", "guest")
    (partner,) = new_ids("pw")
    try:
        run_provision(admin, fresh_broker_url, [partner], tmp_path / "credentials")
        yield partner
    finally:
        admin.delete_user(partner_username(partner))


def test_a_locked_inbox_alerts_how_many_wait_with_the_partners_own_user(
    own_user: str, fresh_broker_url: str, tmp_path: Path
) -> None:
    partner = own_user
    own_url = partner_amqp_url(
        fresh_broker_url, partner, password_of(tmp_path / "credentials", partner)
    )
    key = PrivateKey.generate()
    root = tmp_path / "inbox"
    make_team(root, key)
    out = tmp_path / "alerts.txt"
    settings = ServeSettings(
        inbox=root,
        partner_id=partner,
        broker=PartnerSettings(BrokerSettings(urls=(own_url,)), partner),
        alert_command=("sh", "-c", f"cat >> {out}"),
    )
    app = create_app(settings, background=False)
    web = _web(app)
    queue = partner_queue(partner)
    admin_connection = pika.BlockingConnection(pika.URLParameters(fresh_broker_url))
    try:
        channel = admin_connection.channel()
        # Each publish returns once the queue has the message: counted right
        # after it, an unconfirmed one may not be there yet (RabbitMQ 4's
        # quorum queues take it a moment later than 3.10's did).
        channel.confirm_delivery()
        channel.queue_declare(queue, durable=True, passive=True)
        bodies = []
        for n in range(3):
            document = json.loads(EXAMPLE)
            document["fields"]["message"] = f"{CANARY} {n}"
            body = seal(
                json.dumps(document).encode(),
                Labels("desertion", "ru-central", "ru", "normal"),
                [key.public_key],
            )
            bodies.append(body)
        for body in bodies[:2]:
            channel.basic_publish(
                "", queue, body, pika.BasicProperties(message_id=digest(body), delivery_mode=2)
            )

        def heard(lines: int) -> bool:
            web.puller.alerts.reap()
            return out.exists() and out.read_text().count("\n") == lines

        # Locked: the background round takes nothing, only counts, with no key at all.
        web.puller._pull()
        wait_until(lambda: heard(1), what="the first locked alert")
        assert web.puller.count_waiting() == 2  # unchanged: not alerted again
        channel.basic_publish(
            "",
            queue,
            bodies[2],
            pika.BasicProperties(message_id=digest(bodies[2]), delivery_mode=2),
        )
        assert web.puller.count_waiting() == 3
        wait_until(lambda: heard(2), what="the second locked alert")
        assert out.read_text() == f"{waiting_line(2)}\n{waiting_line(3)}\n"
        assert channel.queue_declare(queue, durable=True, passive=True).method.message_count == 3
        # Unlocked, the pull takes them and the line is the counts again.
        unlock(app.test_client())
        assert web.puller.count_waiting() is None
        web.puller.pull_once()
        wait_until(lambda: heard(3), what="the unlocked alert")
        assert out.read_text().splitlines()[-1] == alert_line(3, 0)
        assert CANARY not in out.read_text()
    finally:
        admin_connection.close()
