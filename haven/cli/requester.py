"""The requester's side of the two-way channel over HTTP (docs/replies-v1.md sections 3 to 5).

Fetching and deleting the mailbox a receipt code opens, reading its thread
against the verified directory, and sending a follow-up. The cryptography
and the thread itself (haven.replies.thread, shared with the intake's
no-JavaScript page) are haven.replies'; the HTTP client and the proof of work are
haven.cli.intake_client's, shared with `haven submit`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from haven import replies
from haven.cli.common import CliError
from haven.cli.intake_client import paid_post, refusal
from haven.cli.receipt import mailbox_body
from haven.cli.submit_cmd import FOLLOW_UPS_PATH, submit
from haven.directory import partner_by_id, signing_keys
from haven.envelope import PublicKey
from haven.replies import FollowUp, ReplyKeys, Thread, seal_follow_up
from haven.replies.mailbox import mailbox_work_target
from schemas.directory import Directory


def _mailbox_post(base: str, action: str, keys: ReplyKeys) -> dict[str, Any]:
    status, answer, retry_after = paid_post(
        base.rstrip("/"),
        f"/v1/mailbox/{action}",
        mailbox_work_target(action, keys.mailbox_id),
        mailbox_body(keys),
    )
    if status != 200:
        raise refusal(status, answer, retry_after)
    return answer


def fetch_wires(base: str, keys: ReplyKeys) -> list[object]:
    """The mailbox's messages as the intake returned them, oldest first.

    An unknown mailbox, a wrong secret and an empty mailbox answer alike
    (section 4.2): all give an empty list.
    """
    messages = _mailbox_post(base, "fetch", keys).get("messages")
    if not isinstance(messages, list):
        raise CliError("the intake's answer to a mailbox fetch has no message list")
    return messages


def delete_mailbox(base: str, keys: ReplyKeys) -> None:
    answer = _mailbox_post(base, "delete", keys)
    if answer.get("status") != "deleted":
        raise CliError("the intake did not confirm the deletion")


def read_thread(wires: Sequence[object], keys: ReplyKeys, directory: Directory) -> Thread:
    """The mailbox's thread, each message verified against the directory's signing keys."""
    return replies.read_thread(
        wires, keys.mailbox_id, keys.reply_key, lambda partner: signing_keys(directory, partner)
    )


def display_name(directory: Directory, partner_id: str) -> str:
    partner = partner_by_id(directory, partner_id)
    return partner.display_name if partner is not None else partner_id


def send_follow_up(
    base: str,
    keys: ReplyKeys,
    *,
    language: str,
    partner_id: str,
    text: str,
    directory: Directory,
) -> str:
    """Seal a follow-up to every current key of one partner and post it; its request id.

    Sealed to that partner alone, with its id in the authenticated labels:
    an intake or router that points it at anyone else makes it unopenable.
    """
    partner = partner_by_id(directory, partner_id)
    if partner is None:
        raise CliError(f"--partner: {partner_id!r} is not in the network's directory")
    recipients = [PublicKey.from_bytes(key.public_key) for key in partner.keys]
    try:
        follow_up = FollowUp(keys.mailbox_id, keys.reply_key.public_key.to_bytes(), text)
        envelope = seal_follow_up(follow_up, partner_id, language, recipients)
    except ValueError as exc:
        raise CliError(f"follow-up: {exc}") from None
    return submit(envelope, base, path=FOLLOW_UPS_PATH)
