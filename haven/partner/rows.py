"""Reading and writing the inbox's sealed rows, inside a caller's transaction (haven.partner.db).

Every payload goes through the record key (haven.partner.sealing) on its
way in and out; nothing here writes a byte of content in clear.
"""

from __future__ import annotations

import base64
import sqlite3
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from haven.envelope import PrivateKey
from haven.partner.case import Event
from haven.partner.entry import Entry, format_time, parse_time
from haven.partner.sealing import RecordKey, SealError

ITEMS = "items"
EVENTS = "events"


def record_key(connection: sqlite3.Connection, key: PrivateKey) -> RecordKey:
    row = connection.execute("SELECT value FROM meta WHERE name = 'inbox_salt'").fetchone()
    if row is None:
        raise SealError("the inbox database has no salt")
    return RecordKey(key, bytes(row[0]))


def put_item(
    connection: sqlite3.Connection, key: RecordKey, item_id: str, record: Mapping[str, Any]
) -> None:
    connection.execute(
        "INSERT OR REPLACE INTO items (id, sealed) VALUES (?, ?)",
        (item_id, key.seal(ITEMS, item_id, record)),
    )


def get_item(connection: sqlite3.Connection, key: RecordKey, item_id: str) -> dict[str, Any] | None:
    row = connection.execute("SELECT sealed FROM items WHERE id = ?", (item_id,)).fetchone()
    return None if row is None else key.open(ITEMS, item_id, bytes(row[0]))


def all_items(connection: sqlite3.Connection, key: RecordKey) -> dict[str, dict[str, Any]]:
    rows = connection.execute("SELECT id, sealed FROM items ORDER BY id").fetchall()
    return {str(i): key.open(ITEMS, str(i), bytes(blob)) for i, blob in rows}


def add_event(
    connection: sqlite3.Connection,
    key: RecordKey,
    action: str,
    member: str,
    item: str | None = None,
    *,
    data: Mapping[str, Any] | None = None,
    at: datetime | None = None,
) -> Event:
    event_id = uuid.uuid4().hex
    when = (at or datetime.now(UTC)).replace(microsecond=0)
    payload = dict(data or {})
    record: dict[str, Any] = {
        "action": action,
        "member": member,
        "at": format_time(when),
        # Sealed too: an event moved to another case (its clear item
        # column rewritten) no longer matches what it was sealed with.
        "item": item,
        "data": payload,
    }
    cursor = connection.execute(
        "INSERT INTO events (id, item, sealed) VALUES (?, ?, ?)",
        (event_id, item, key.seal(EVENTS, event_id, record)),
    )
    return Event(
        event_id,
        int(cursor.lastrowid or 0),
        action,
        member,
        when,
        item,
        payload,
    )


def events(connection: sqlite3.Connection, key: RecordKey, item: str | None = None) -> list[Event]:
    """Oldest first; one item's, or every event (the audit log) for None."""
    if item is None:
        rows = connection.execute("SELECT seq, id, item, sealed FROM events ORDER BY seq")
    else:
        rows = connection.execute(
            "SELECT seq, id, item, sealed FROM events WHERE item = ? ORDER BY seq", (item,)
        )
    return [_event(key, *row) for row in rows.fetchall()]


def _event(key: RecordKey, seq: int, event_id: str, item: str | None, blob: bytes) -> Event:
    record = key.open(EVENTS, str(event_id), bytes(blob))
    if record.get("item") != item:
        raise SealError(f"events row {event_id} was moved to another case")
    try:
        return Event(
            str(event_id),
            int(seq),
            str(record["action"]),
            str(record["member"]),
            parse_time(str(record["at"])),
            item,
            dict(record.get("data") or {}),
        )
    except (KeyError, ValueError, TypeError):
        raise SealError(f"events row {event_id} is not an inbox event") from None


def item_record(
    entry: Entry,
    envelope: bytes | None,
    headers: Mapping[str, object] | None,
    *,
    keep_content: bool = False,
) -> dict[str, Any]:
    """What an item row seals: the envelope as received, never its opened content.

    The content is opened from the envelope, in memory, each time; only a
    migrated entry whose envelope is gone (or no longer opens with the
    team's key) keeps its content, sealed like the rest. A declined item
    keeps neither: the next partner has the request now.
    """
    record: dict[str, Any] = {
        "kind": entry.kind,
        "received_at": entry.received_at,
        "deadline": format_time(entry.deadline) if entry.deadline is not None else None,
        "routing": dict(entry.routing),
        "server_sealed": entry.server_sealed,
        "received_status": entry.received_status,
    }
    if entry.declined is not None:
        record["declined"] = entry.declined
        return record
    if envelope is not None:
        record["envelope"] = base64.b64encode(envelope).decode("ascii")
        record["headers"] = dict(headers or {})
    if envelope is None or keep_content:
        record["content"] = dict(entry.content)
    return record
