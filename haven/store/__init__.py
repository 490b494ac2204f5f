"""Haven's one database: shared state that every intake, router and mailbox of a deployment sees.

PostgreSQL in the compose stack and CI, an embedded SQLite file for the demo;
SQLAlchemy Core for access, Alembic for migrations (docs/operators.md, "The
store"). It holds no address and no content: today only hashes of used
no-JavaScript tickets and of consumed routing assignments, each with its
expiry, and counts of recent acceptances (no more than a couple of minutes
of them); and the requesters' reply mailboxes: sealed partner messages,
hashes of access secrets, markers of deleted mailboxes, each with its expiry.
"""

from haven.store.acceptances import Acceptances
from haven.store.assignments import Consumption, StoreConsumedAssignments
from haven.store.db import Store, StoreUnavailable
from haven.store.mailboxes import Mailboxes, WriteOutcome
from haven.store.migrate import StoreSchemaUnknown, migrate, schema_differences
from haven.store.settings import StoreSettings, StoreSettingsError
from haven.store.tickets import TicketClaim, UsedTickets

__all__ = [
    "Acceptances",
    "Consumption",
    "Mailboxes",
    "Store",
    "StoreConsumedAssignments",
    "StoreSchemaUnknown",
    "StoreSettings",
    "StoreSettingsError",
    "StoreUnavailable",
    "TicketClaim",
    "UsedTickets",
    "WriteOutcome",
    "migrate",
    "schema_differences",
]
