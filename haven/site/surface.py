"""A page's code-carrying parts, read the way a browser would decide what to run.

What runs in a page, or steers what runs, is: each <script> (its src, or
the SHA-256 of its inline text, JSON data blocks included, since the form
bundle takes its pinned network key and its URLs from one), each
stylesheet and inline style, every handler attribute (on…), style
attribute and javascript: URL, every frame, object and embed, <base>,
<link> and <meta http-equiv>. Everything else on a page is text and form
controls. The same reading is used to make the signed manifest and to
check a live site, so the two cannot disagree on what a page is.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

# One code item: a flat, sorted tuple of (name, value) strings.
Item = tuple[tuple[str, str], ...]

# The JSON block the form bundle reads its settings from (intake/templates/form.html).
CONFIG_ID = "haven-config"
# The settings in it that name code the bundle loads.
CONFIG_CODE_URLS = ("pow_worker_url", "receipt_worker_url")
_EMBEDS = frozenset({"iframe", "frame", "object", "embed", "applet", "portal", "fencedframe"})
# Where Python's tag reading and a browser's part ways. Python takes
# `title=="a>` as the quoted value `a>…` up to the next quote, where a
# browser reads the value `="a` and ends the tag at that `>`; and it reads
# `src==/x.js` as "/x.js" where a browser loads "=/x.js". The intake's
# templates escape every value, so none of its tags has a `<` or `>` inside,
# or an `=` after an `=`: a tag that has one is an item of its own.
_QUOTED = re.compile(r"\"[^\"]*\"|'[^']*'")
_DOUBLE_EQUALS = re.compile(r"=\s*=")
_CSP_SPACE_CHARS = "\t\n\f\r "
_CSP_SPACE = re.compile(r"[\t\n\f\r ]+")
# The attributes that tie a control to a form or send a form elsewhere.
_FORM_TIES = frozenset(
    {"form", "formaction", "formenctype", "formmethod", "formnovalidate", "formtarget"}
)
_URL_ATTRIBUTES = frozenset({"href", "src", "action", "formaction", "data", "xlink:href"})


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def normalise_csp(value: str) -> str:
    """A policy with its spacing made canonical: directives in order, one space apart."""
    # Only CSP's own whitespace (ASCII tab, newline, form feed, return, space):
    # Python's split() also takes a no-break space or a vertical tab, which a
    # browser keeps inside the directive's name, dropping the directive.
    directives = (
        " ".join(_CSP_SPACE.split(part.strip(_CSP_SPACE_CHARS))) for part in value.split(";")
    )
    return "; ".join(d for d in directives if d)


def item(**values: str) -> Item:
    return tuple(sorted(values.items()))


def describe(code: Item) -> str:
    """One item in words, for a mismatch line."""
    values = dict(code)
    kind = values.pop("kind")
    return " ".join([kind, *(f"{name}={value}" for name, value in sorted(values.items()))])


@dataclass
class Surface:
    items: list[Item] = field(default_factory=list)
    # Same-origin or not, as written: the files the page makes the browser run.
    loads: list[str] = field(default_factory=list)


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.surface = Surface()
        self._open: tuple[str, dict[str, str]] | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        # A browser keeps the first of two attributes of one name and drops
        # the rest: `<script src="/leak.js" src="/static/quick-exit.js">`
        # loads /leak.js, so the first is the one read here too.
        values: dict[str, str] = {}
        for name, value in attrs:
            values.setdefault(name, value or "")
        raw = self.get_starttag_text() or ""
        if _ambiguous(raw):
            self.surface.items.append(
                item(kind="ambiguous-tag", tag=tag, sha256=sha256_hex(raw.encode()))
            )
        # Every attribute as written, duplicates too: a second handler is still code.
        self._attributes(tag, [(name, value or "") for name, value in attrs])
        add = self.surface.items.append
        self._structure(tag, values)
        if tag == "script":
            # An SVG script names its file in href (or xlink:href), not src.
            named = next((n for n in ("src", "href", "xlink:href") if n in values), None)
            if named is not None:
                src = values[named]
                shown = {named, "type"}
                add(_with(values, shown, kind="script", src=src, type=values.get("type", "")))
                self.surface.loads.append(src)
                values = {**values, "src": src}
            self._open, self._text = (tag, values), []
        elif tag == "style":
            self._open, self._text = (tag, values), []
        elif tag == "link":
            rel = " ".join(values.get("rel", "").lower().split())
            add(_with(values, {"rel", "href"}, kind="link", rel=rel, href=values.get("href", "")))
            if "stylesheet" in rel.split():
                self.surface.loads.append(values.get("href", ""))
        elif tag == "meta" and "http-equiv" in values:
            add(
                item(
                    kind="meta",
                    http_equiv=values["http-equiv"].lower(),
                    content=values.get("content", ""),
                )
            )
        elif tag == "base":
            add(item(kind="base", href=values.get("href", "")))
        elif tag in _EMBEDS:
            add(item(kind="embed", tag=tag, src=values.get("src", values.get("data", ""))))

    @property
    def open_tag(self) -> str | None:
        return self._open[0] if self._open is not None else None

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag in ("script", "style"):
            self.handle_endtag(tag)

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if self._open is None or self._open[0] != tag:
            return
        _, values = self._open
        text = "".join(self._text)
        self._open, self._text = None, []
        if tag == "style":
            self.surface.items.append(item(kind="inline-style", sha256=sha256_hex(text.encode())))
        elif "src" not in values:
            kind = values.get("type", "")
            self.surface.items.append(
                _with(
                    values,
                    {"type"},
                    kind="inline-script",
                    type=kind,
                    sha256=sha256_hex(text.encode()),
                )
            )
            if values.get("id") == CONFIG_ID:
                self.surface.loads.extend(_config_urls(text))

    def _structure(self, tag: str, values: dict[str, str]) -> None:
        """What the form bundle finds its way by: a page with these changed can stop it from running."""
        # The bundle takes its config and the form by id, and does nothing
        # when either is missing: the form then posts what is typed to the
        # intake in the clear. Every id, every form and every control's tie
        # to a form is therefore signed like code.
        add = self.surface.items.append
        if "id" in values:
            add(item(kind="id", tag=tag, id=values["id"]))
        if tag == "form":
            add(_with(values, set(), kind="form"))
        for name in _FORM_TIES & values.keys():
            add(item(kind="form-tie", tag=tag, attribute=name, value=values[name]))

    # Comments, declarations, processing instructions and CDATA sections are
    # where Python's parser and a browser's disagree on where markup ends:
    # a browser ends `<!-->`, `<!--->` and `<!-- --!>` at once and a CDATA
    # section at its first `>`, where this parser reads on, so a script
    # after them runs in the browser but is text here. Each is an item, so
    # one that is not signed is a mismatch whatever either parser makes of it.
    def handle_comment(self, data: str) -> None:
        self._markup("comment", data)

    def handle_decl(self, decl: str) -> None:
        self._markup("declaration", decl)

    def handle_pi(self, data: str) -> None:
        self._markup("processing-instruction", data)

    def unknown_decl(self, data: str) -> None:
        self._markup("declaration", data)

    def _markup(self, kind: str, text: str) -> None:
        self.surface.items.append(item(kind=kind, sha256=sha256_hex(text.encode())))

    def _attributes(self, tag: str, attributes: list[tuple[str, str]]) -> None:
        for name, value in attributes:
            digest = sha256_hex(value.encode())
            if name.startswith("on"):
                self.surface.items.append(
                    item(kind="handler", tag=tag, attribute=name, sha256=digest)
                )
            elif name == "style":
                self.surface.items.append(item(kind="style-attribute", tag=tag, sha256=digest))
            elif name in _URL_ATTRIBUTES and "".join(value.split()).lower().startswith(
                "javascript:"
            ):
                self.surface.items.append(
                    item(kind="script-url", tag=tag, attribute=name, sha256=digest)
                )


def _with(values: dict[str, str], shown: set[str], **fields: str) -> Item:
    """An item with the element's other attributes, when it has any (`defer`, `nomodule`, `integrity`…).

    Any of them can stop the signed file from running (`nomodule`, a wrong
    `integrity`), and a browser may read one this reading does not (an SVG
    script's href beside a src), so all are signed, quoted so no two sets
    read alike. Handlers and styles are items of their own.
    """
    rest = sorted(
        (name, value)
        for name, value in values.items()
        if name not in shown and not name.startswith("on") and name != "style"
    )
    if rest:
        fields["with"] = " ".join(f"{name}={json.dumps(value)}" for name, value in rest)
    return item(**fields)


def _ambiguous(raw: str) -> bool:
    inner = raw[1:-1]
    return "<" in inner or ">" in inner or bool(_DOUBLE_EQUALS.search(_QUOTED.sub("", inner)))


def _config_urls(text: str) -> list[str]:
    """The code URLs the form bundle is told to load (its proof-of-work Worker)."""
    try:
        config = json.loads(text)
    except ValueError:
        return []
    if not isinstance(config, dict):
        return []
    return [config[key] for key in CONFIG_CODE_URLS if isinstance(config.get(key), str)]


def read_surface(html: bytes) -> Surface:
    """The code-carrying parts of a page, in document order (UTF-8, as the intake serves its pages)."""
    reader = _Reader()
    if html.startswith((b"\xfe\xff", b"\xff\xfe")):
        # A UTF-16 byte order mark outranks every charset a page declares: the
        # browser reads the page as UTF-16, markup this reading never sees.
        reader.surface.items.append(item(kind="utf-16-byte-order-mark"))
    reader.feed(html.decode("utf-8", "replace"))
    reader.close()
    if reader.open_tag is not None:
        # A script or style left open at the end still counts, with the
        # text the parser kept back for an end tag that never came.
        reader.handle_data(reader.rawdata)
        reader.handle_endtag(reader.open_tag)
    return reader.surface
