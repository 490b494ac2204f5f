"""Example requests and helpers shared by the schema tests."""

from __future__ import annotations

import base64
from typing import Any

# Used as a bad value wherever a test checks that errors never echo values.
CANARY = "CANARY-7f3a"
REPLY_KEY = base64.b64encode(bytes(range(256)) * 4 + bytes(192)).decode()
MAILBOX_ID = base64.b64encode(bytes(range(32))).decode()
ACCESS_HASH = base64.b64encode(bytes(range(100, 132))).decode()
# What a haven_reply request carries (docs/replies-v1.md section 2).
REPLY_MEMBERS = {"reply_key": REPLY_KEY, "mailbox_id": MAILBOX_ID, "access_hash": ACCESS_HASH}

# The fewest fields each category accepts.
MINIMAL: dict[str, dict[str, Any]] = {
    "evacuation": {
        "location": "Белгород",
        "people_count": 3,
        "documents_held": ["internal_passport"],
    },
    "legal_aid": {
        "person": "Анна К.",
        "where_held": "СИЗО-1, Екатеринбург",
        "held_since": "2025-03",
        "lawyer_present": "unknown",
    },
    "desertion": {
        "status": "mobilised",
        "situation": "awol",
        "criminal_case": "unknown",
        "wanted_listing": "no",
        "passports_held": ["internal_passport", "foreign_passport_surrendered"],
        "current_country": "RU",
        "needs": ["legal", "shelter"],
    },
    "political_prisoner": {
        "full_name": "Иванов Иван Иванович",
        "facility": "ИК-6, Владимирская область",
        "stage": "serving_sentence",
        "lawyer": "needs",
        "needs": ["letters_parcels"],
    },
    "asylum": {"current_country": "GE", "status": "visa_free"},
}

# Every field each category has.
FULL: dict[str, dict[str, Any]] = {
    "evacuation": {
        **MINIMAL["evacuation"],
        "children_ages": [4, 11],
        "mobility_or_medical_needs": "Бабушка на коляске.\nНужен инсулин.",
        "documents_held": ["ukrainian_passport", "birth_certificate"],
        "timeframe": "days",
        "contact_channel": "signal",
        "contact_handle": "sunflower.27",
        "message": "Можем выехать только вечером.",
    },
    "legal_aid": {
        **MINIMAL["legal_aid"],
        "article": "ч. 2 ст. 207.3 УК РФ",
        "next_hearing": "2026-12-15",
        "contact_channel": "telegram",
        "contact_handle": "@lawhelp_sister",
        "message": "Адвоката по назначению не пускают.",
    },
    "desertion": {
        **MINIMAL["desertion"],
        "contact_channel": "threema",
        "contact_handle": "ABCD1234",
        "message": "Нужна консультация до конца недели.",
    },
    "political_prisoner": {
        **MINIMAL["political_prisoner"],
        "birth_year": 1987,
        "article": "ст. 280.3 УК РФ",
        "contact_channel": "email",
        "contact_handle": "relative@example.org",
        "message": "Семья в Твери, нужна помощь с передачами.",
    },
    "asylum": {
        **MINIMAL["asylum"],
        "visa_expiry": "2027-01-31",
        "first_eu_country": "LV",
        "evidence_available": ["summons", "court_decisions"],
        "contact_channel": "haven_reply",
        "message": "Въехал через Латвию в 2023 году.",
    },
}


def document(category: str, fields: dict[str, Any], **top: Any) -> dict[str, Any]:
    """A content document around `fields`; a haven_reply contact gets its three reply members."""
    doc: dict[str, Any] = {"v": 1, "category": category, "fields": fields}
    if fields.get("contact_channel") == "haven_reply":
        doc.update(REPLY_MEMBERS)
    doc.update(top)
    return doc


def with_field(category: str, name: str, value: Any) -> dict[str, Any]:
    """The minimal fields of `category` with `name` set, plus what that field depends on."""
    fields = {**MINIMAL[category], name: value}
    if name == "contact_handle":
        fields["contact_channel"] = "signal"
    if name == "contact_channel" and value != "haven_reply":
        fields["contact_handle"] = "someone"
    if name == "children_ages":
        fields["people_count"] = 50
    return fields
