"""What the views of one intake app share; kept in app.extensions, never in a global."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, cast

from flask import current_app

from haven.store import Store
from intake.directory_file import DirectoryFile
from intake.guards.pow import ProofOfWork, difficulty_for
from intake.guards.replay import RecentRequests
from intake.metrics import IntakeMetrics
from intake.settings import IntakeSettings
from intake.site_manifest_file import SiteManifestFile

EXTENSION = "haven.intake"


class Publisher(Protocol):
    """What the intake needs of haven.broker.ConfirmedPublisher."""

    def publish(self, envelope: bytes, *, message_id: str) -> None: ...
    def ready(self) -> bool: ...
    def intake_depth(self) -> int | None: ...
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
    # The network's signed site manifest, if the operator installed one.
    site_manifest: SiteManifestFile | None = None

    def current_difficulty(self) -> int:
        """What a challenge issued now asks for (the queue depth is cached by the publisher).

        The API's challenges and submissions and the no-JavaScript bucket all
        read this one figure, so load tightens both paths together.
        """
        return difficulty_for(
            self.publisher.intake_depth(),
            min_bits=self.settings.pow_min_bits,
            max_bits=self.settings.pow_max_bits,
            depth_per_bit=self.settings.pow_depth_per_bit,
        )


def intake_state() -> IntakeState:
    return cast(IntakeState, current_app.extensions[EXTENSION])
