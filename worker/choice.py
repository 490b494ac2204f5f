"""Choosing one partner for a request: eligible, able to open it, not tried, weighted by capacity.

Pure: no broker, no clock. The only randomness is `uniform`, an explicit
seam. By default it is derived from the message id and the tried list, so
the same request in the same state picks the same partner on every router,
also after a crash between confirm and ack: a redelivered or re-published
duplicate lands in the *same* partner queue, where the partner toolkit
drops it by id, never in a second partner's queue.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable

from haven.directory import eligible_partners, partner_by_id
from haven.envelope import Header
from haven.replies import FOLLOW_UP_CATEGORY
from schemas.directory import Directory, Partner

Uniform = Callable[[str], float]


def stable_uniform(key: str) -> float:
    """A number in [0, 1) fixed by `key`; spreads evenly over random message ids."""
    digest = hashlib.sha256(b"haven/v1 route\x00" + key.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def is_follow_up(header: Header) -> bool:
    return header.labels.category == FOLLOW_UP_CATEGORY


def addressee(directory: Directory, header: Header) -> Partner | None:
    """The directory partner a follow-up names in its region label, or None."""
    return partner_by_id(directory, header.labels.region)


def sealed_to_addressee(partner: Partner, header: Header) -> bool:
    """Every recipient of the envelope is one of the partner's keys in this directory.

    A follow-up answers one partner's message and is sealed to that
    partner's keys alone (docs/replies-v1.md section 5); one that another
    key could open is not what a requester's device writes.
    """
    own = {key.kid for key in partner.keys}
    return bool(header.kids) and all(kid.hex() in own for kid in header.kids)


def candidates(directory: Directory, header: Header, tried: Iterable[str]) -> tuple[Partner, ...]:
    """Partners the request may go to next, best language match first-class, sorted by id.

    A follow-up has one eligible partner at most, the one it names, and
    only once: after that partner declines it or lets its deadline pass
    nobody is left, so it waits in unassigned rather than reach a partner
    who is not in the requester's thread.
    """
    labels = header.labels
    excluded = set(tried)
    if is_follow_up(header):
        partner = addressee(directory, header)
        if partner is None or partner.id in excluded or not sealed_to_addressee(partner, header):
            return ()
        return (partner,)
    kids = {kid.hex() for kid in header.kids}
    able = [
        partner
        for partner in eligible_partners(directory, labels.category, labels.region)
        # A partner none of whose keys the envelope was sealed to could not
        # open it (sealed against an older directory): never route there.
        if partner.id not in excluded and any(key.kid in kids for key in partner.keys)
    ]
    speakers = [partner for partner in able if labels.language in partner.languages]
    return tuple(sorted(speakers or able, key=lambda partner: partner.id))


# Distinct kid sets remembered per directory before the cache starts afresh:
# the labels come from closed sets, but kids are whatever a sender sealed to.
MAX_CACHED_POOLS = 1024

_PoolKey = tuple[str, str, str, tuple[bytes, ...]]


class CandidateCache:
    """`candidates` of untried requests, remembered for one directory at a time.

    With nothing tried yet, the pool depends only on the directory, the
    labels and the kids, so it is computed once per (category, region,
    language, kids). The directory is recognised by identity (it is
    immutable, and the cache holds it, so its id cannot be reused): a
    reloaded directory, even an equal one, starts an empty cache. A
    non-empty tried list is never cached.
    """

    def __init__(self) -> None:
        self._directory: Directory | None = None
        self._pools: dict[_PoolKey, tuple[Partner, ...]] = {}

    def __len__(self) -> int:
        return len(self._pools)

    def candidates(
        self, directory: Directory, header: Header, tried: tuple[str, ...]
    ) -> tuple[Partner, ...]:
        if tried:
            return candidates(directory, header, tried)
        if directory is not self._directory:
            self._directory = directory
            self._pools = {}
        labels = header.labels
        key = (labels.category, labels.region, labels.language, header.kids)
        pool = self._pools.get(key)
        if pool is None:
            if len(self._pools) >= MAX_CACHED_POOLS:
                self._pools = {}
            pool = self._pools[key] = candidates(directory, header, ())
        return pool


def choose_partner(
    directory: Directory,
    header: Header,
    tried: tuple[str, ...],
    message_id: str,
    uniform: Uniform = stable_uniform,
    *,
    cache: CandidateCache | None = None,
) -> Partner | None:
    """One partner, drawn with probability proportional to its capacity; None if none is left."""
    if cache is None:
        pool = candidates(directory, header, tried)
    else:
        pool = cache.candidates(directory, header, tried)
    if not pool:
        return None
    total = sum(partner.capacity for partner in pool)
    point = uniform(f"{message_id}|{','.join(tried)}") * total
    for partner in pool:
        point -= partner.capacity
        if point < 0:
            return partner
    return pool[-1]


def deadline_seconds(partner: Partner, urgency: str, cap: int | None) -> int:
    """How long the partner has to take the request; urgent gets the shorter deadline."""
    deadline = partner.response_deadline
    seconds = deadline.urgent if urgency == "urgent" else deadline.normal
    return min(seconds, cap) if cap is not None else seconds
