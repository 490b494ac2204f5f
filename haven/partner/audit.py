"""The audit log as a supervisor reads it: who did what to which case, and when; never what was written.

The event log is sealed in the inbox (haven.partner.rows) and holds note
and reply texts. Reading the log back for an audit must not put those
texts on a terminal, in a pasted report or in a chat with the network's
operators: only the members listed here, per action, are shown.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from haven.partner.case import Event

# Per action, the data members that say what was done without saying what
# was written: a status name, a handle, a reason code, a count.
_SHOWN: Mapping[str, tuple[str, ...]] = {
    "status": ("status",),
    "assigned": ("to",),
    "declined": ("reason",),
    "received_status": ("state",),
    "member_added": ("handle",),
    "member_removed": ("handle",),
    "locked": ("idle",),
    "migrated": ("count",),
}


def _sent(data: Mapping[str, Any]) -> dict[str, object]:
    message = data.get("message")
    if not isinstance(message, Mapping):
        return {}
    # The kind and the requester-visible state, never the text.
    return {name: message[name] for name in ("kind", "state") if message.get(name) is not None}


def content_free(event: Event) -> dict[str, object]:
    """The event as a record that holds no note, reply or request text."""
    if event.action == "sent":
        details = _sent(event.data)
    else:
        details = {
            name: event.data[name] for name in _SHOWN.get(event.action, ()) if name in event.data
        }
    return {
        "at": event.at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "member": event.member,
        "action": event.action,
        "case": event.item,
        **details,
    }


def line(record: Mapping[str, object]) -> str:
    details = " ".join(
        f"{name}={value}"
        for name, value in record.items()
        if name not in ("at", "member", "action", "case")
    )
    parts = [str(record["at"]), str(record["member"]), str(record["action"])]
    if record.get("case"):
        parts.append(str(record["case"]))
    if details:
        parts.append(details)
    return "  ".join(parts)
