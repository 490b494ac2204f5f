"""One case as plain text, for the organisation's own records (after a warning: it is in clear)."""

from __future__ import annotations

from haven.partner.case import Case
from haven.partner.inbox import FOLLOW_UP
from haven.partner.web import i18n
from haven.partner.web.case_view import parse_moment, thread_items
from haven.partner.web.pages import gettext
from haven.partner.web.present import history_text, member_name, status_name
from haven.partner.web.readable import category_name, label, rows
from haven.partner.web.state import web_state


def export_name(request_id: str) -> str:
    return f"haven-case-{request_id[:16]}.txt"


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.split("\n"))


def case_text(case: Case, lang: str) -> str:
    entry = case.entry
    lines = [
        f"{gettext('Case')} {entry.request_id}",
        f"{gettext('Received')}: {i18n.when(parse_moment(entry.received_at), lang)}",
    ]
    if entry.kind == FOLLOW_UP:
        lines.append(gettext("Follow-up from the requester"))
    else:
        lines.append(
            f"{gettext('Category')}: {category_name(entry.routing.get('category', ''), lang)}"
        )
    for kind, title in (("region", "Region"), ("language", "Language"), ("urgency", "Urgency")):
        lines.append(f"{gettext(title)}: {label(kind, entry.routing.get(kind, ''), lang)}")
    lines.append(
        f"{gettext('Deadline')}: {i18n.when(case.deadline, lang) or gettext('no deadline')}"
    )
    lines.append(f"{gettext('Status')}: {status_name(case.status)}")
    lines.append(f"{gettext('Assigned to')}: {case.assignee or gettext('nobody')}")
    lines.append("")
    if entry.kind == FOLLOW_UP:
        lines.append(_indent(str(entry.content.get("text", ""))))
    for row in rows(entry.content, lang):
        lines.append(f"{row.label}:")
        lines.append(_indent(row.value))
    cases = web_state().vault.cases()
    thread = thread_items(entry, cases)
    if thread:
        lines += ["", gettext("Thread with the requester")]
        for item in thread:
            lines.append(f"{item['when']}  {item['title']}")
            if item["text"]:
                lines.append(_indent(item["text"]))
    if case.notes:
        lines += ["", gettext("Internal notes")]
        for note in case.notes:
            lines.append(f"{i18n.when(note.at, lang)}  {note.member}")
            lines.append(_indent(note.text))
    lines += ["", gettext("History")]
    for event in case.history:
        lines.append(
            f"{i18n.when(event.at, lang)}  {member_name(event.member)}  {history_text(event)}"
        )
    return "\n".join(lines) + "\n"
