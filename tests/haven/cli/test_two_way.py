"""The two-way channel end to end, with the real command on both sides.

A requester sends a request answered through Haven with `haven submit`; the
real router gives it to one partner, whose `haven partner pull` posts the
automatic "received" status; the partner replies; the requester reads the
thread from the receipt code alone with `haven status` and answers with
`haven follow-up`, which reaches that partner and no other. A message that
no partner signed is refused, and a deleted mailbox opens nothing. The
broker is the real RabbitMQ (a vhost of this test's own), the intake's
store the real PostgreSQL (a database of this test's own).
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pika.adapters.blocking_connection import BlockingChannel

from haven.broker.topology import partner_queue
from haven.envelope import NetworkKey, PrivateKey
from haven.replies import (
    PartnerMessage,
    SigningKey,
    access_hash,
    derive,
    parse,
    write_message,
)
from haven.store import Store, StoreSettings
from haven.store.mailboxes import Mailboxes
from tests.conftest import postgres_database
from tests.haven.cli.conftest import EXAMPLES, assert_one_line_error
from tests.haven.partner.conftest import (
    Network,
    Result,
    depth,
    fast_router,
    running_router,
    verified_loader,
    wait_until,
)

pytestmark = pytest.mark.broker

PARTNERS = ("alpha", "bravo")
REPLY = (
    "Здравствуйте. Мы получили ваш запрос и можем помочь с юристом.\n"
    "Ответьте, пожалуйста: в какой стране вы сейчас и есть ли у вас загранпаспорт?"
)
NOTE = "Нужны подробности: см. ответ выше."
FOLLOW_UP = "Я в Казахстане, загранпаспорт есть, срок до 2028 года."
FORGED = "Срочно перейдите по ссылке и введите код"


@pytest.fixture
def store_url() -> Iterator[str]:
    """A PostgreSQL database of this test's own, dropped afterwards."""
    with postgres_database() as url:
        yield url


def reply_request(folder: Path) -> Path:
    document = json.loads((EXAMPLES / "desertion.json").read_text(encoding="utf-8"))
    del document["fields"]["contact_handle"]
    document["fields"]["contact_channel"] = "haven_reply"
    path = folder / "request.json"
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return path


class Requester:
    """The requester's side: only the receipt code file, the pinned key and the intake's URL."""

    def __init__(self, network: Network) -> None:
        self.network = network
        self.code_file = network.root / "code.txt"

    def run(self, *args: str | Path) -> Result:
        return self.network.haven(
            *args,
            "--code-file",
            self.code_file,
            "--url",
            self.network.intake_url,
            env={"HAVEN_NETWORK_VERIFY_KEY_FILE": str(self.network.verify_key_file)},
        )

    def status(self) -> dict[str, Any]:
        result = self.run("status", "--json")
        assert result.code == 0, result.err
        document: dict[str, Any] = json.loads(result.out)
        return document


def partner_run(network: Network, *args: str | Path) -> Result:
    """A partner's command that talks to the intake (reply, status, pull)."""
    return network.haven(*args, env={"HAVEN_INTAKE_URL": network.intake_url})


def pull(network: Network, partner: str) -> Result:
    url_file = network.root / "broker-url"
    return partner_run(
        network,
        "partner", "pull", "--inbox", network.inbox(partner), "--partner", partner,
        "--broker-url-file", url_file, *network.member_args(partner),
    )  # fmt: skip


def reply(network: Network, partner: str, request_id: str, text_file: Path) -> Result:
    return partner_run(
        network,
        "partner", "reply", request_id, "--text-file", text_file, "--inbox", network.inbox(partner),
        "--partner", partner, *network.member_args(partner),
    )  # fmt: skip


def _holder(channel: BlockingChannel) -> str:
    wait_until(
        lambda: sum(depth(channel, partner_queue(p)) for p in PARTNERS) == 1,
        what="one message in a partner queue",
    )
    [holder] = [p for p in PARTNERS if depth(channel, partner_queue(p)) == 1]
    return holder


def forge(network: Network, store_url: str, partner: str, request_id: str) -> None:
    """A message claimed for `partner` but signed by a key the directory does not list, stored.

    What an intake or store in the wrong hands could slip into a mailbox:
    the intake itself refuses to store it (checked first), so it is
    written to the database directly.
    """
    keys = derive(parse((network.root / "code.txt").read_text(encoding="utf-8")))
    message = PartnerMessage(
        kind="status",
        partner=partner,
        mailbox_id=keys.mailbox_id,
        request=request_id,
        state="closed",
        text=FORGED,
        sent_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    )
    wire = write_message(
        message, keys.reply_key.public_key, SigningKey.from_partner_key(PrivateKey.generate())
    )
    mailbox_id = base64.b64encode(keys.mailbox_id).decode()
    body = json.dumps({"mailbox_id": mailbox_id, "message": wire.to_json()}).encode()
    post = urllib.request.Request(  # noqa: S310 - the test's own intake
        f"{network.intake_url}/v1/mailbox/messages",
        data=body,
        headers={"Content-Type": "application/json"},
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(post, timeout=30)  # noqa: S310  # nosec B310
    with refused.value:
        assert refused.value.code == 403
    store = Store(StoreSettings(url=store_url))
    try:
        outcome = Mailboxes(store, retention_seconds=3600).write(
            keys.mailbox_id,
            access_hash(keys.access_secret),
            wire.message_id,
            json.dumps(wire.to_json()).encode(),
        )
        assert outcome.name == "STORED"
    finally:
        store.close()


def test_a_request_answered_through_haven_end_to_end(
    make_network: Callable[..., Network], channel: BlockingChannel, store_url: str
) -> None:
    network = make_network(intake_env={"HAVEN_STORE_URL": store_url})
    requester = Requester(network)
    with running_router(fast_router(network), verified_loader(network)):
        # 1. The request, sealed and sent from a content document; the code kept in a file.
        sent = network.haven(
            "submit", reply_request(network.root), "--url", network.intake_url,
            "--network-key", network.verify_key_file, "--region", "ru-central",
            "--language", "ru", "--code-file", requester.code_file,
        )  # fmt: skip
        assert sent.code == 0, sent.err
        request_id = sent.out.splitlines()[0].removeprefix("queued: ")
        code_text = requester.code_file.read_text(encoding="utf-8").strip()
        assert code_text not in sent.out  # in the file only
        assert requester.code_file.stat().st_mode & 0o777 == 0o600
        assert requester.status() == {"status": None, "messages": [], "unverified": 0}
        answer = network.root / "answer.txt"
        answer.write_text(FOLLOW_UP + "\n", encoding="utf-8")
        early = requester.run("follow-up", "--text-file", answer)
        assert_one_line_error(early, "no verified message in this thread yet")

        # 2. The router gives it to one partner; pulling it posts "received".
        partner = _holder(channel)
        other = "bravo" if partner == "alpha" else "alpha"
        pulled = pull(network, partner)
        assert pulled.code == 0, pulled.err
        assert network.inbox_ids(partner) == {request_id}
        thread = requester.status()
        assert [(m["kind"], m["state"], m["partner"]) for m in thread["messages"]] == [
            ("status", "received", partner)
        ]
        assert thread["status"] == "received"

        # 3. The partner replies; the requester reads it exactly, with the status.
        text_file = network.root / "reply.txt"
        text_file.write_text(REPLY, encoding="utf-8")
        replied = reply(network, partner, request_id, text_file)
        assert replied.code == 0, replied.err
        thread = requester.status()
        assert thread["status"] == "received"
        assert [m["kind"] for m in thread["messages"]] == ["status", "reply"]
        shown = thread["messages"][1]
        assert shown["text"] == REPLY
        assert shown["partner"] == partner and shown["request"] == request_id
        assert shown["name"] == next(
            p.display_name for p in network.directory.partners if p.id == partner
        )
        printed = requester.run("status")
        assert printed.code == 0, printed.err
        assert "\n".join(f"    {line}" for line in REPLY.split("\n")) in printed.out
        assert f"({partner})  reply" in printed.out
        assert printed.out.rstrip().endswith(
            "current status: received (an organisation has received the request)"
        )

        # The current status is the latest status message's state, its note shown.
        noted = partner_run(
            network, "partner", "status", request_id, "need-info", "--text", NOTE,
            *network.member_args(partner, inbox=True), "--partner", partner,
        )  # fmt: skip
        assert noted.code == 0, noted.err
        thread = requester.status()
        assert thread["status"] == "need_info"
        assert thread["messages"][-1]["text"] == NOTE
        printed = requester.run("status")
        assert f"({partner})  status: need_info\n    {NOTE}\n" in printed.out
        assert "current status: need_info (the organisation needs more information" in printed.out

        # 4. The follow-up goes to that partner, and to no other.
        astray = requester.run("follow-up", "--text-file", answer, "--partner", other)
        assert_one_line_error(astray, "--partner", "has not written in this thread")
        followed = requester.run("follow-up", "--text-file", answer)
        assert followed.code == 0, followed.err
        follow_up_id = followed.out.strip().rsplit(" ", 1)[-1]
        assert f"({partner})" in followed.out
        wait_until(lambda: depth(channel, partner_queue(partner)) == 1, what="the follow-up routed")
        assert depth(channel, partner_queue(other)) == 0
        assert pull(network, other).code == 0
        assert pull(network, partner).code == 0
        assert follow_up_id in network.inbox_ids(partner)
        assert network.inbox_ids(other) == set()
        held = partner_run(
            network,
            "partner",
            "show",
            follow_up_id,
            *network.member_args(partner, inbox=True),
            "--json",
        )
        assert held.code == 0, held.err
        assert FOLLOW_UP in held.out

    # 5. A message no partner signed is refused, and nothing of it is shown.
    forge(network, store_url, partner, request_id)
    printed = requester.run("status")
    assert printed.code == 0, printed.err
    assert "one message could not be verified" in printed.out
    assert FORGED not in printed.out and "closed" not in printed.out
    thread = requester.status()
    assert thread["unverified"] == 1 and thread["status"] == "need_info"
    assert [m["kind"] for m in thread["messages"]] == ["status", "reply", "status"]

    # A directory that does not verify against the pinned key is not believed.
    stranger = network.root / "stranger.pub"
    stranger.write_text(NetworkKey.generate().verify_key.to_text() + "\n")
    misled = requester.run("status", "--network-key", stranger)
    assert_one_line_error(misled, "the intake's directory")
    assert REPLY.split("\n", maxsplit=1)[0] not in misled.out

    # 6. Deleted, the mailbox opens nothing.
    deleted = requester.run("status", "--delete")
    assert deleted.code == 0, deleted.err
    assert requester.status() == {"status": None, "messages": [], "unverified": 0}
    empty = requester.run("status")
    assert "no messages yet" in empty.out and REPLY.split("\n", maxsplit=1)[0] not in empty.out
