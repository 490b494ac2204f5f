"""What the views of one intake app share; kept in app.extensions, never in a global."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol, cast

from flask import current_app

from haven.broker import backlog_queues
from haven.store import Mailboxes, Store
from intake.directory_file import DirectoryExpired, DirectoryFile
from intake.guards.pow import DifficultyRule, Load, ProofOfWork, difficulty_for
from intake.guards.replay import RecentRequests
from intake.load import AcceptanceRate
from intake.metrics import IntakeMetrics
from intake.settings import IntakeSettings
from intake.site_manifest_file import SiteManifestFile

EXTENSION = "haven.intake"


class Publisher(Protocol):
    """What the intake needs of haven.broker.ConfirmedPublisher."""

    def publish(self, envelope: bytes, *, message_id: str) -> None: ...
    def ready(self) -> bool: ...
    def watch(self, queues: Mapping[str, int]) -> None: ...
    def backlog(self) -> int | None: ...
    def close(self) -> None: ...


@dataclass(frozen=True)
class IntakeState:
    settings: IntakeSettings
    publisher: Publisher
    pow: ProofOfWork
    directory: DirectoryFile
    metrics: IntakeMetrics
    # Ids accepted within a challenge lifetime: a replay is answered, not published.
    recent: RecentRequests
    # The deployment's database, shared by every instance (haven.store).
    store: Store
    # Submissions accepted across the deployment lately (shared through the store).
    acceptances: AcceptanceRate
    # The requesters' reply mailboxes, in the same store (docs/replies-v1.md section 4).
    mailboxes: Mailboxes
    # Mailbox fetches and deletes paid within a challenge lifetime: each
    # solution buys one (intake.api.replies).
    spent: RecentRequests
    # The network's signed site manifest, if the operator installed one.
    site_manifest: SiteManifestFile | None = None

    def load(self) -> Load:
        """The acceptance rate and the backlog as last seen (cached: no I/O on most calls)."""
        try:
            partners = [p.id for p in self.directory.current().directory.partners]
        except DirectoryExpired:
            partners = []  # submissions are refused (503) meanwhile anyway
        self.publisher.watch(
            backlog_queues(partners, partner_max_length=self.settings.partner_max_length)
        )
        return Load(
            accepted_per_minute=self.acceptances.per_minute(),
            backlog=self.publisher.backlog(),
        )

    def current_difficulty(self) -> int:
        """What a challenge issued now asks for (intake.guards.pow.difficulty_for).

        The API's challenges and submissions and the no-JavaScript bucket all
        read this one figure, so load tightens both paths together.
        """
        settings = self.settings
        return difficulty_for(
            self.load(),
            DifficultyRule(
                min_bits=settings.pow_min_bits,
                max_bits=settings.pow_max_bits,
                baseline_per_minute=settings.pow_baseline_per_minute,
                backlog_per_bit=settings.pow_depth_per_bit,
            ),
        )


def intake_state() -> IntakeState:
    return cast(IntakeState, current_app.extensions[EXTENSION])
