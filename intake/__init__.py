"""The Flask intake service that requesters' devices talk to.

It never sees plaintext (envelopes are sealed on the device), never records
who is talking to it, and answers 202 only once the broker has confirmed the
request on a durable queue. docs/intake-api.md describes the API.
"""

from intake.app import create_app
from intake.settings import IntakeSettings

__all__ = ["IntakeSettings", "create_app"]
