"""What the views of one intake app share; kept in app.extensions, never in a global."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, cast

from flask import current_app

from intake.directory_file import DirectoryFile
from intake.guards.pow import ProofOfWork
from intake.guards.replay import RecentRequests
from intake.metrics import IntakeMetrics
from intake.settings import IntakeSettings

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


def intake_state() -> IntakeState:
    return cast(IntakeState, current_app.extensions[EXTENSION])
