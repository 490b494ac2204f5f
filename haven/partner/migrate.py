"""Sealing an old plaintext inbox (one `<id>.json` per request) into the team inbox, once.

The old layout, as `haven partner pull` wrote it before the team inbox:

    <id>.json            the opened request, what was sent back
    sealed/<id>.env      the envelope as received
    sealed/<id>.headers  its routing headers
    declined/<id>.json   declined ids, reasons, no content

Only these names (and the temporary files of a write cut short) are ever
shredded; a `sealed/` or `declined/` holding anything else is refused,
untouched.

`migrate` turns every entry into a sealed item (with its envelope), its
sent messages and received status into events, inside the caller's
transaction; once that is committed, `wipe` overwrites each plaintext file
with zeros, syncs it, unlinks it and removes the old subfolders. A crash
before the commit leaves the plaintext inbox as it was; after it, the next
`team init` finds the team and only wipes.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from haven.envelope import OpenError, PrivateKey
from haven.files import FileTooLargeError, read_at_most
from haven.partner.entry import REFUSED, SENT, Entry, parse_time, valid_id
from haven.partner.opening import ContentRefused, open_item
from haven.partner.rows import add_event, item_record, put_item
from haven.partner.sealing import RecordKey

SUBFOLDERS = ("sealed", "declined")
# Who the audit log names for what the old toolkit did (a reply sent, a
# decline) before the team inbox existed: not the member who migrates it,
# who did none of it. Spaces and parentheses make it no valid handle
# (haven.partner.team.check_handle), so no member can ever be taken for it.
BEFORE_TEAM_INBOX = "(before the team inbox)"
_MAX_FILE = 1 << 20


def _names(suffixes: str) -> re.Pattern[str]:
    # A file the old inbox wrote, or the temporary file of a write a crash
    # cut short (haven.files.replace_atomically: ".<name>.<random>").
    name = rf"[0-9a-f]{{64}}\.(?:{suffixes})"
    return re.compile(rf"{name}|\.{name}\.[A-Za-z0-9_]+")


# Only these names are ever shredded: a folder that merely has a `sealed/`
# or `declined/` of its own keeps every other file.
_OLD_NAMES = {
    "": _names("json"),
    "sealed": _names("env|headers"),
    "declined": _names("json"),
}


class MigrationError(Exception):
    """An old inbox file cannot be read; the message names the file, never its content."""


def entry_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob("*.json") if valid_id(p.stem))


def plaintext_inbox(root: Path) -> bool:
    """Whether `root` holds an old plaintext inbox (or what is left of one).

    MigrationError when it cannot be told (the folder cannot be read), or
    when an old subfolder holds files the old inbox never wrote: those are
    someone's own, and nothing here may shred them.
    """
    try:
        found = bool(entry_files(root))
        for name in SUBFOLDERS:
            folder = root / name
            if not folder.exists():
                continue
            found = True
            if not folder.is_dir() or any(not _old_name(name, p) for p in folder.iterdir()):
                raise MigrationError(
                    f"{folder} holds files an old inbox does not write: move them out of "
                    "the inbox folder, then run the command again (nothing was changed)"
                )
    except OSError as exc:
        raise MigrationError(f"cannot read the inbox folder {root}: {exc.strerror}") from None
    return found


def _old_name(folder: str, path: Path) -> bool:
    return (
        path.is_file()
        and not path.is_symlink()
        and _OLD_NAMES[folder].fullmatch(path.name) is not None
    )


def _read(path: Path) -> bytes | None:
    try:
        return read_at_most(path, _MAX_FILE)
    except FileNotFoundError:
        return None
    except (OSError, FileTooLargeError):
        raise MigrationError(f"cannot read {path.name} of the old inbox") from None


def _load(path: Path) -> Entry:
    data = _read(path)
    try:
        if data is None:
            raise ValueError
        entry = Entry.from_document(json.loads(data))
    except (ValueError, KeyError, TypeError):
        raise MigrationError(f"{path.name} of the old inbox is not an inbox entry") from None
    if entry.request_id != path.stem:
        raise MigrationError(f"{path.name} of the old inbox names another request id")
    return entry


def _sent_at(message: dict[str, object]) -> datetime:
    try:
        return parse_time(str(message.get("sent_at")))
    except ValueError:
        return datetime.now(UTC)


def _opens(envelope: bytes, key: PrivateKey, entry: Entry) -> bool:
    try:
        opened = open_item(envelope, [key])
    except (OpenError, ContentRefused):
        return False
    return opened.content == dict(entry.content) and opened.kind == entry.kind


def migrate(
    connection: sqlite3.Connection, key: PrivateKey, record_key: RecordKey, root: Path, member: str
) -> int:
    """Seal every old entry into the database (the caller's transaction); how many.

    An id the team inbox holds already (sealed by an earlier migration, or
    pulled again by an old toolkit) keeps what the team did with it: its
    plaintext file is only wiped.
    """
    count = 0
    for path in entry_files(root) + entry_files(root / "declined"):
        entry = _load(path)
        if sealed_already(connection, entry.request_id):
            continue
        envelope = None if entry.declined else _read(root / "sealed" / f"{entry.request_id}.env")
        headers: dict[str, object] = {}
        header_bytes = _read(root / "sealed" / f"{entry.request_id}.headers")
        if header_bytes is not None:
            try:
                loaded = json.loads(header_bytes)
            except ValueError:
                loaded = None
            headers = loaded if isinstance(loaded, dict) else {}
        # The envelope is kept for a decline; the content only when the
        # envelope no longer gives it back (a key rotated out since).
        keep = envelope is None or not _opens(envelope, key, entry)
        pending = entry.received_status if entry.received_status not in (SENT, REFUSED) else None
        record = item_record(
            replace(entry, received_status=pending), envelope, headers, keep_content=keep
        )
        put_item(connection, record_key, entry.request_id, record)
        for message in entry.sent:
            add_event(
                connection,
                record_key,
                "sent",
                BEFORE_TEAM_INBOX,
                entry.request_id,
                data={"message": dict(message), "received": False, "migrated": True},
                at=_sent_at(dict(message)),
            )
        if entry.received_status in (SENT, REFUSED):
            add_event(
                connection,
                record_key,
                "received_status",
                BEFORE_TEAM_INBOX,
                entry.request_id,
                data={"state": entry.received_status, "migrated": True},
            )
        if entry.declined is not None:
            add_event(
                connection,
                record_key,
                "declined",
                BEFORE_TEAM_INBOX,
                entry.request_id,
                data={"reason": entry.declined, "migrated": True},
            )
        count += 1
    add_event(connection, record_key, "migrated", member, None, data={"count": count})
    return count


def sealed_already(connection: sqlite3.Connection, request_id: str) -> bool:
    row = connection.execute("SELECT 1 FROM items WHERE id = ?", (request_id,)).fetchone()
    return row is not None


def _old_files(root: Path) -> Iterator[Path]:
    for name in SUBFOLDERS:
        folder = root / name
        if folder.is_dir():
            yield from (p for p in folder.iterdir() if _old_name(name, p))
    if root.is_dir():
        yield from (p for p in root.iterdir() if _old_name("", p))


def _shred(path: Path) -> None:
    # Zeros over the plaintext before the name goes: an unlinked file's
    # blocks would otherwise keep the requests until they are reused.
    fd = os.open(path, os.O_WRONLY | os.O_NOFOLLOW)
    try:
        size = os.fstat(fd).st_size
        zeros = bytes(min(size, 1 << 16))
        written = 0
        while written < size:
            written += os.write(fd, zeros[: size - written])
        os.fsync(fd)
    finally:
        os.close(fd)
    path.unlink()


def wipe(root: Path) -> int:
    """Overwrite, sync and remove every old plaintext file; how many files went."""
    removed = 0
    try:
        for path in list(_old_files(root)):
            _shred(path)
            removed += 1
        for name in SUBFOLDERS:
            folder = root / name
            if folder.is_dir():
                folder.rmdir()
        directory = os.open(root, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
    except OSError as exc:
        raise MigrationError(
            f"cannot remove the old plaintext inbox files in {root}: {exc.strerror}; "
            "run `haven partner team init` again to finish"
        ) from None
    return removed
