"""What a member reads when a pull, a reply or a decline fails: catalog texts, never the English detail.

The errors of the shared partner code (PullError, OutboxError, InboxError)
are English lines for the CLI and the log. A page in Russian or Ukrainian
shows instead one of the texts below, chosen by the error's type or the
intake's refusal code; the English line goes to the log alone (it holds
ids and reasons, never content).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from haven.catalogs import N_
from haven.partner.inbox import InboxError
from haven.partner.outbox import IntakeUnreachable, OutboxError, ReceivedReport
from haven.partner.pull import PullError


@dataclass(frozen=True)
class Problem:
    """A catalog msgid and the numbers it names: nothing a request, a note or a reply said."""

    msgid: str
    values: Mapping[str, int] = field(default_factory=dict)


# The intake's refusal codes (haven.partner.outbox.REFUSALS), as a member reads them.
REFUSAL_TEXTS: Mapping[str, str] = {
    "not_signed": N_(
        "Not sent: the intake does not accept this organisation's signature. "
        "Ask the network's operators to list its signing key."
    ),
    "mailbox_unknown": N_(
        "Not sent: the requester's mailbox does not exist yet. Answer the request itself first."
    ),
    "mailbox_conflict": N_(
        "Not sent: the intake holds other reply details for this requester's mailbox."
    ),
    "mailbox_full": N_("Not sent: the requester's mailbox is full until the requester empties it."),
    "mailbox_gone": N_("Not sent: the requester has deleted this mailbox."),
}


def pull_problem(exc: PullError | InboxError) -> Problem:
    if isinstance(exc, InboxError):
        return Problem(
            N_("Not pulled: the inbox cannot be read or written. The next pull tries again.")
        )
    return Problem(
        N_(
            "Not pulled: the broker cannot be reached or refused this inbox. The next pull tries again."
        )
    )


def received_problem(report: ReceivedReport) -> Problem | None:
    """What the automatic "received" statuses of a pull left undone, if anything."""
    if report.pending:
        return Problem(
            N_("{count} automatic “received” status(es) not sent yet: the next pull sends them."),
            {"count": report.pending},
        )
    if report.warnings:
        return Problem(N_("The intake refused an automatic “received” status."))
    return None


def reply_problem(exc: OutboxError | InboxError) -> Problem:
    if isinstance(exc, IntakeUnreachable):
        return Problem(N_("Not sent: the intake cannot be reached. Try again later."))
    if isinstance(exc, OutboxError):
        if exc.code is not None and exc.code in REFUSAL_TEXTS:
            return Problem(REFUSAL_TEXTS[exc.code])
        return Problem(
            N_(
                "Not sent: this request cannot be answered through Haven "
                "(no reply channel, or it is declined), or the intake refused the message."
            )
        )
    return Problem(N_("Not sent: the inbox cannot be read or written. Try again in a moment."))


def decline_problem(exc: PullError | InboxError) -> Problem:
    if isinstance(exc, InboxError):
        return Problem(
            N_("Not declined: the inbox cannot be read or written. Try again in a moment.")
        )
    return Problem(
        N_(
            "Not declined: the broker cannot be reached or refused. "
            "The request stays in this inbox; try again later."
        )
    )
