"""Proof of work, as every paid request meets it: the challenge before the body, then the work.

A submission, a follow-up, a mailbox fetch and a mailbox delete all pay the
same way (docs/intake-api.md, "Proof of work"); only what the work is
computed over differs: an envelope's digest, or the mailbox's work target
(docs/replies-v1.md section 4.2).
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import request

from intake.errors import ApiError
from intake.guards.pow import CHALLENGE_HEADER, PowRejected, Token
from intake.state import IntakeState
from schemas.http import PowSolution

_POW_MESSAGES = {
    "invalid": "the challenge is not one this intake issued; fetch a new one",
    "expired": "the challenge has expired; fetch a new one and solve it again",
    "insufficient": "the proof-of-work does not solve the challenge for this {subject}",
}
_POW_TOO_EASY = "the challenge is easier than the intake now requires; fetch a new one"
_POW_MISSING = f"send the challenge token in the {CHALLENGE_HEADER} header"
_POW_DIFFERS = f"pow.challenge differs from the {CHALLENGE_HEADER} header"


@dataclass(frozen=True)
class Admitted:
    """A request's challenge, admitted from its header: the token as sent, and as checked."""

    header: str
    token: Token


def admit_challenge(state: IntakeState) -> Admitted:
    """The challenge token from its header, checked before a byte of the body is read; 403 otherwise.

    A request that has not paid is refused after one HMAC (version,
    expiry, difficulty): its body is never read, parsed or hashed, and the
    connection closes with the answer.
    """
    header = request.headers.get(CHALLENGE_HEADER)
    if header is None:
        raise ApiError("pow_invalid", _POW_MISSING, field=CHALLENGE_HEADER, body_unread=True)
    try:
        token = state.pow.admit(header, state.current_difficulty, field=CHALLENGE_HEADER)
    except PowRejected as rejected:
        raise ApiError(
            f"pow_{rejected.reason}",
            pow_message(rejected),
            field=rejected.field,
            body_unread=True,
        ) from None
    return Admitted(header, token)


def check_solution(
    state: IntakeState,
    admitted: Admitted,
    solution: PowSolution,
    target: bytes,
    *,
    subject: str = "envelope",
) -> None:
    """The body's solution is for the header's token and solves it for `target` (the `subject`'s); 403 otherwise."""
    if solution.challenge != admitted.header:
        # One token per request: the work was checked against the header's.
        raise ApiError("pow_invalid", _POW_DIFFERS, field="pow.challenge")
    try:
        state.pow.check_work(admitted.token, solution.nonce, target)
    except PowRejected as rejected:
        raise ApiError(
            f"pow_{rejected.reason}", pow_message(rejected, subject), field=rejected.field
        ) from None


def pow_message(rejected: PowRejected, subject: str = "envelope") -> str:
    if rejected.reason == "insufficient" and rejected.field != "pow.nonce":
        return _POW_TOO_EASY
    return _POW_MESSAGES[rejected.reason].format(subject=subject)
