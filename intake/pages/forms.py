"""The form of a category as HTML controls, and a posted form back into a content document.

Everything comes from the form definition (schemas.forms), and the
posted values are validated by the very schema that the partner's toolkit
uses (schemas.content), so the no-JavaScript form cannot accept what
the JavaScript one refuses. Errors name fields and reasons, never values.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from babel import Locale
from marshmallow import ValidationError

from intake.pages.catalog import N_
from schemas.content import REPLY_MEMBERS, ContentError, RequestContent, load_content
from schemas.errors import field_errors
from schemas.messages import MESSAGES
from schemas.routing import LABELS, LANGUAGES, REGIONS, URGENCIES, Routing, RoutingSchema

Translate = Callable[..., str]

# More options than this are a <select>, fewer are radio buttons (docs/web-form.md).
MAX_RADIOS = 6
# Text fields up to this length are one line (<input>), longer ones a <textarea>.
MAX_INPUT_LENGTH = 200
ROUTING_FIELDS = ("routing.region", "routing.language", "routing.urgency")
_INTEGER = re.compile(r"[0-9]{1,6}\Z")
_LIST_SEPARATORS = re.compile(r"[\s,;]+")
_FIELD_PATH = re.compile(r"fields\.([a-z0-9_]+)")

# The English reason a schema raises, back to its message code (and the
# numbers in it), so the page can say it in the requester's language.
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def _reason_pattern(template: str) -> re.Pattern[str]:
    parts = _PLACEHOLDER.split(template)
    pattern = "".join(
        re.escape(part) if index % 2 == 0 else f"(?P<{part}>-?[0-9]+)"
        for index, part in enumerate(parts)
    )
    return re.compile(pattern + r"\Z")


_REASONS = [(code, _reason_pattern(texts["en"])) for code, texts in MESSAGES.items()]
CHECK_FIELD = N_("Check this answer.")
LIST_HELP = N_("Separate the numbers with commas, for example: 4, 9.")
MONTH_HELP = N_("Write it as year and month, for example 2024-03.")
DATE_HELP = N_("Write it as year, month and day, for example 2024-03-25.")
NOT_ANSWERED = N_("No answer")
CHOOSE = N_("Choose…")


def localized_reason(reason: str, lang: str, translate: Translate) -> str:
    """A schema's English reason in `lang`; an unknown one as a plain 'check this'."""
    for code, pattern in _REASONS:
        found = pattern.match(reason)
        if found:
            return MESSAGES[code][lang].format(**found.groupdict())
    return translate(CHECK_FIELD)


@dataclass
class Option:
    value: str
    label: str
    checked: bool = False


@dataclass
class Control:
    """One field of the page, ready for the template."""

    name: str
    kind: str  # radio | select | checkbox | textarea | input
    label: str
    help: str
    required: bool
    input_type: str = "text"
    inputmode: str | None = None
    max_length: int | None = None
    options: list[Option] = field(default_factory=list)
    value: str = ""
    error: str | None = None

    @property
    def dom_id(self) -> str:
        return f"field-{self.name}"


def _country_names(lang: str) -> Mapping[str, str]:
    return Locale.parse(lang).territories


def controls(
    definition: Mapping[str, Any],
    lang: str,
    translate: Translate,
    values: Mapping[str, list[str]],
    errors: Mapping[str, str],
) -> list[Control]:
    """The category's fields as controls, in the definition's order, filled with `values`."""
    out: list[Control] = []
    for spec in definition["fields"]:
        name = spec["name"]
        given = values.get(name, [])
        control = Control(
            name=name,
            kind="input",
            label=spec["labels"][lang],
            help=spec["help"][lang],
            required=spec["required"],
            value=given[0] if given else "",
            error=errors.get(name),
        )
        if spec["type"] in ("choice", "multi_choice", "country"):
            _choices(control, spec, lang, translate, given)
        else:
            _entry(control, spec, translate, given)
        out.append(control)
    return out


def _choices(
    control: Control, spec: Mapping[str, Any], lang: str, translate: Translate, given: list[str]
) -> None:
    if spec["type"] == "country":
        names = _country_names(lang)
        codes = sorted(spec["countries"], key=lambda code: names.get(code, code))
        control.kind = "select"
        control.options = [Option("", translate(CHOOSE), not given)] + [
            Option(code, names.get(code, code), code in given) for code in codes
        ]
        return
    options = [Option(c["value"], c["labels"][lang], c["value"] in given) for c in spec["choices"]]
    if spec["type"] == "multi_choice":
        control.kind = "checkbox"
    elif len(options) > MAX_RADIOS:
        control.kind = "select"
        options.insert(0, Option("", translate(CHOOSE), not given))
    else:
        control.kind = "radio"
        if not spec["required"]:
            # Without JavaScript a chosen radio cannot be unchosen: an
            # optional question needs a way back to "no answer" (value "").
            options.append(Option("", translate(NOT_ANSWERED), not given))
    control.options = options


def _entry(
    control: Control, spec: Mapping[str, Any], translate: Translate, given: list[str]
) -> None:
    kind = spec["type"]
    if kind == "textarea" or (kind == "text" and spec.get("max_length", 0) > MAX_INPUT_LENGTH):
        control.kind = "textarea"
        control.max_length = spec.get("max_length")
    elif kind == "text":
        control.max_length = spec.get("max_length")
    elif kind in ("integer", "year"):
        control.inputmode = "numeric"
        control.max_length = len(str(spec["max"]))
    elif kind == "integer_list":
        control.inputmode = "numeric"
        control.help = f"{control.help} {translate(LIST_HELP)}"
        control.value = ", ".join(given)
    elif kind == "date":
        control.input_type = "date"
        control.help = f"{control.help} {translate(DATE_HELP)}"
    elif kind == "month":
        # Firefox (so Tor Browser) shows type=month as a text box: say the format.
        control.input_type = "month"
        control.help = f"{control.help} {translate(MONTH_HELP)}"


def routing_controls(
    lang: str,
    translate: Translate,
    values: Mapping[str, list[str]],
    errors: Mapping[str, str],
) -> list[Control]:
    def chosen(name: str, default: str) -> str:
        given = values.get(name)
        return given[0] if given else default

    region = chosen("routing.region", "")
    language = chosen("routing.language", lang)
    urgency = chosen("routing.urgency", "normal")
    return [
        Control(
            name="routing.region",
            kind="select",
            label=translate(N_("Where you are now")),
            help=translate(
                N_(
                    "Only a large region. It helps to find people who know the local "
                    "situation. This answer is sent unencrypted."
                )
            ),
            required=True,
            options=[Option("", translate(CHOOSE), region == "")]
            + [Option(r, LABELS["region"][r][lang], r == region) for r in REGIONS],
            error=errors.get("routing.region"),
        ),
        Control(
            name="routing.language",
            kind="radio",
            label=translate(N_("Language for the answer")),
            help=translate(N_("This answer is sent unencrypted.")),
            required=True,
            options=[
                Option(code, LABELS["language"][code][lang], code == language) for code in LANGUAGES
            ],
            error=errors.get("routing.language"),
        ),
        Control(
            name="routing.urgency",
            kind="radio",
            label=translate(N_("How urgent is it?")),
            help=translate(N_("Urgent means danger within days. This answer is sent unencrypted.")),
            required=True,
            options=[
                Option(code, LABELS["urgency"][code][lang], code == urgency) for code in URGENCIES
            ],
            error=errors.get("routing.urgency"),
        ),
    ]


def posted_values(
    form: Mapping[str, list[str]], definition: Mapping[str, Any]
) -> dict[str, list[str]]:
    """The form's own names only, text normalised; empty answers dropped.

    Browsers post a textarea's line breaks as CR LF; the content format
    takes LF only (docs/request-categories.md).
    """
    names = [spec["name"] for spec in definition["fields"]] + list(ROUTING_FIELDS)
    values: dict[str, list[str]] = {}
    for name in names:
        kept = [
            text.replace("\r\n", "\n").replace("\r", "\n")
            for text in form.get(name, [])
            if text.strip()
        ]
        if kept:
            values[name] = kept
    return values


def _typed(kind: str, texts: list[str]) -> object:
    if kind == "multi_choice":
        return list(texts)
    text = texts[0]
    if kind in ("integer", "year"):
        # Not a number is passed on as text: the schema then says so.
        return int(text.strip()) if _INTEGER.match(text.strip()) else text
    if kind == "integer_list":
        items = [item for item in _LIST_SEPARATORS.split(" ".join(texts)) if item]
        return [int(item) if _INTEGER.match(item) else item for item in items]
    return text


@dataclass(frozen=True)
class Checked:
    """A posted form: the content and routing when valid, else errors by field name."""

    content: RequestContent | None
    routing: Routing | None
    errors: dict[str, str]


def check(
    category: str,
    definition: Mapping[str, Any],
    values: Mapping[str, list[str]],
    lang: str,
    translate: Translate,
    *,
    reply: Mapping[str, str] | None = None,
) -> Checked:
    """Validate with the schemas; errors in `lang`, one per field, never quoting a value.

    A reply through Haven needs the members `reply` gives (intake.pages.receipts),
    made only when the request is sent. Before that (`reply` None) the
    fields are checked alone: the content is None, with no error.
    """
    errors: dict[str, str] = {}
    kinds = {spec["name"]: spec["type"] for spec in definition["fields"]}
    fields_ = {name: _typed(kinds[name], texts) for name, texts in values.items() if name in kinds}
    content: RequestContent | None = None
    try:
        content = load_content({"v": 1, "category": category, "fields": fields_, **(reply or {})})
    except ContentError as refused:
        for path, reason in refused.errors:
            found = _FIELD_PATH.match(path)
            if path in REPLY_MEMBERS and reply is None:
                # Made at send time: not the requester's to give.
                continue
            if found and found.group(1) in kinds:
                errors.setdefault(found.group(1), localized_reason(reason, lang, translate))
            else:
                errors.setdefault("document", translate(CHECK_FIELD))
    routing: Routing | None = None
    labels = {
        "category": category,
        **{name.removeprefix("routing."): texts[0] for name, texts in _routing(values)},
    }
    try:
        routing = RoutingSchema().load(labels)
    except ValidationError as refused:
        for path, _reason in field_errors(refused.messages):
            # Missing or not one of the options: both are "choose one" here.
            code = "required" if path not in labels else "not_a_choice"
            errors.setdefault(f"routing.{path}", MESSAGES[code][lang])
    if errors:
        return Checked(None, None, errors)
    return Checked(content, routing, {})


def _routing(values: Mapping[str, list[str]]) -> Iterable[tuple[str, list[str]]]:
    return ((name, values[name]) for name in ROUTING_FIELDS if name in values)


def review_rows(
    definition: Mapping[str, Any], lang: str, values: Mapping[str, list[str]]
) -> list[tuple[str, str]]:
    """(label, shown value) of every answered field, as the partner will read it."""
    rows: list[tuple[str, str]] = []
    names = _country_names(lang)
    for spec in definition["fields"]:
        given = values.get(spec["name"])
        if not given or given == [""]:
            continue
        if "choices" in spec:
            labels = {c["value"]: c["labels"][lang] for c in spec["choices"]}
            shown = ", ".join(labels.get(v, v) for v in given)
        elif spec["type"] == "country":
            shown = names.get(given[0], given[0])
        else:
            shown = ", ".join(given)
        rows.append((spec["labels"][lang], shown))
    return rows


def routing_rows(routing: Routing, lang: str, translate: Translate) -> list[tuple[str, str]]:
    return [
        (translate(N_("Where you are now")), LABELS["region"][routing.region][lang]),
        (translate(N_("Language for the answer")), LABELS["language"][routing.language][lang]),
        (translate(N_("How urgent is it?")), LABELS["urgency"][routing.urgency][lang]),
    ]


def hidden_values(values: Mapping[str, list[str]]) -> list[tuple[str, str]]:
    """(name, value) pairs that carry a checked form through the review page."""
    return [(name, text) for name, texts in values.items() for text in texts]
