"""The requester's pages: every page in every language, the form's DOM contract, the catalogs."""

from __future__ import annotations

import base64
import json
import re
from html import unescape
from html.parser import HTMLParser

import pytest
from babel.messages.extract import extract_from_dir
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from intake import IntakeSettings
from intake.headers import CONTENT_SECURITY_POLICY, PAGE_CONTENT_SECURITY_POLICY
from intake.pages.catalog import read_catalog
from schemas.forms import form_definition
from schemas.i18n import LANGUAGE_CODES
from schemas.routing import CATEGORIES, CATEGORY_LABELS
from tests.intake.conftest import ops_of
from tests.repo import REPO

pytestmark = pytest.mark.broker

INTAKE = REPO / "intake"
# Every page, as (language, step, category): the language page is GET "/";
# every later step is a POST to "/" saying where the requester is.
LANGUAGE_PAGE = ("ru", "", "")
HELP_PAGES = [(lang, "help", "") for lang in LANGUAGE_CODES]
FORMS = [(lang, "form", category) for lang in LANGUAGE_CODES for category in CATEGORIES]
BUNDLE_KEYS = {
    "required",
    "too_long",
    "too_many",
    "invalid_choice",
    "directory_refused",
    "sealing",
    "working",
    "sending",
    "busy_retry",
    "network_error",
    "refused",
    "sent",
}
CONTROL_TAGS = {"input", "select", "textarea"}
NO_JS_NOTE = (
    "With JavaScript on, your answers are encrypted on this phone. If JavaScript is off, our "
    "server encrypts them as they arrive and sees the text for an instant. It never stores or "
    "records it."
)


class Page(HTMLParser):
    """Every element with its attributes, text by id, and the config script's text."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.stack: list[tuple[str, dict[str, str]]] = []
        self.texts: dict[str, str] = {}
        self.label_for: set[str] = set()
        self.inside_label: set[str] = set()
        self.config_text = ""
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        self.elements.append((tag, attributes))
        if tag == "label" and "for" in attributes:
            self.label_for.add(attributes["for"])
        if tag in CONTROL_TAGS and any(t == "label" for t, _ in self.stack):
            self.inside_label.add(attributes.get("id", ""))
        if tag not in {"input", "meta", "link", "br"}:
            self.stack.append((tag, attributes))

    def handle_endtag(self, tag: str) -> None:
        while self.stack:
            open_tag, _ = self.stack.pop()
            if open_tag == tag:
                break

    def handle_data(self, data: str) -> None:
        for _, attributes in self.stack:
            if "id" in attributes:
                self.texts[attributes["id"]] = self.texts.get(attributes["id"], "") + data
        if self.stack and self.stack[-1][1].get("id") == "haven-config":
            self.config_text += data

    def by_id(self, element_id: str) -> tuple[str, dict[str, str]]:
        found = [(t, a) for t, a in self.elements if a.get("id") == element_id]
        assert len(found) == 1, element_id
        return found[0]

    def ids(self) -> set[str]:
        return {a["id"] for _, a in self.elements if "id" in a}

    def controls(self) -> list[tuple[str, dict[str, str]]]:
        return [
            (t, a)
            for t, a in self.elements
            if t in CONTROL_TAGS and a.get("type") not in {"hidden", "submit", "button"}
        ]


def open_page(client: FlaskClient, lang: str, step: str, category: str = "") -> TestResponse:
    """A page as its buttons reach it: the first by GET "/", the others by a POST to "/"."""
    if not step:
        return client.get("/")
    data = {"lang": lang, "step": step}
    if category:
        data["category"] = category
    return client.post("/", data=data)


def assert_page_headers(response: TestResponse) -> None:
    assert response.mimetype == "text/html"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Content-Security-Policy"] == PAGE_CONTENT_SECURITY_POLICY
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert "Set-Cookie" not in response.headers


@pytest.mark.parametrize(("lang", "step", "category"), [LANGUAGE_PAGE, *HELP_PAGES, *FORMS])
def test_every_page_renders_without_traces(
    client: FlaskClient, lang: str, step: str, category: str
) -> None:
    response = open_page(client, lang, step, category)
    assert response.status_code == 200
    assert_page_headers(response)
    html = response.get_data(as_text=True)
    page = Page(html)
    assert ("meta", {"name": "referrer", "content": "no-referrer"}) in page.elements
    tag, quick_exit = page.by_id("quick-exit")
    assert tag == "a" and quick_exit["href"] == "https://yandex.ru/pogoda/"
    scripts = [a["src"] for t, a in page.elements if t == "script" and "src" in a]
    assert "/static/quick-exit.js" in scripts
    # The crypto bundle only where there is a form to seal.
    assert ("/static/haven-form.js" in scripts) == (step == "form")
    # The history keeps URLs and titles: neither names the step or the help
    # asked for. Every form posts to "/"; no link names a language or category.
    assert "<title>Haven</title>" in html
    assert {a["action"] for t, a in page.elements if t == "form"} <= {"/"}
    for tag, attributes in page.elements:
        for name in ("src", "href", "action"):
            target = attributes.get(name, "")
            assert not any(c in target for c in CATEGORIES), (tag, target)
            assert not any(f"/{code}/" in target for code in LANGUAGE_CODES), (tag, target)
    # Nothing from anywhere else, nothing inline but the JSON config.
    for tag, attributes in page.elements:
        for name in ("src", "href", "action"):
            value = attributes.get(name, "")
            assert not value.startswith(("http:", "//")), (tag, value)
            if value.startswith("https:"):
                assert attributes.get("id") == "quick-exit"
        if tag == "script":
            assert "src" in attributes or attributes.get("type") == "application/json"
        assert not any(name.startswith("on") for name in attributes), (tag, attributes)
        assert "style" not in attributes
    assert page.elements[0] == ("html", {"lang": lang})


@pytest.mark.parametrize("lang", LANGUAGE_CODES)
def test_the_home_page_says_what_is_collected_and_links_every_category(
    client: FlaskClient, lang: str
) -> None:
    html = open_page(client, lang, "help").get_data(as_text=True)
    elements = Page(html).elements
    hidden = {a["name"]: a["value"] for t, a in elements if a.get("type") == "hidden"}
    assert hidden.pop("ticket")
    assert hidden == {"lang": lang, "step": "form"}
    buttons = [a.get("value") for t, a in elements if t == "button" and a["name"] == "category"]
    assert buttons == list(CATEGORIES)
    for category in CATEGORIES:
        assert CATEGORY_LABELS[category][lang] in html
    assert "IP" in html
    assert "JavaScript" in html


def test_the_language_page_links_every_language_in_russian_and_ukrainian(
    client: FlaskClient,
) -> None:
    html = client.get("/").get_data(as_text=True)
    elements = Page(html).elements
    assert [a["value"] for t, a in elements if t == "button" and a["name"] == "lang"] == [
        "ru",
        "uk",
        "en",
    ]
    assert [a["value"] for t, a in elements if a.get("type") == "hidden"] == ["help"]
    assert "Выберите язык" in html
    assert "Оберіть мову" in html


@pytest.mark.parametrize(("lang", "step", "category"), FORMS)
def test_form_page_matches_the_dom_contract(
    client: FlaskClient, settings: IntakeSettings, lang: str, step: str, category: str
) -> None:
    html = open_page(client, lang, step, category).get_data(as_text=True)
    page = Page(html)
    # A visible note: without JavaScript the server sees the text for an instant.
    assert read_catalog().gettext(lang, NO_JS_NOTE) in html
    tag, form = page.by_id("haven-form")
    assert tag == "form"
    assert form["method"] == "post"
    assert form["action"] == "/"
    assert form["autocomplete"] == "off"
    assert "novalidate" in form
    definition = form_definition(category)
    names = {a["name"] for _, a in page.controls()}
    expected = {f["name"] for f in definition["fields"]} | {
        "routing.region",
        "routing.language",
        "routing.urgency",
    }
    assert names == expected
    ids = page.ids()
    for tag, attributes in page.controls():
        control_id = attributes["id"]
        # Every control is labelled, and points at its help and its error.
        assert control_id in page.label_for or control_id in page.inside_label, control_id
        described = attributes["aria-describedby"].split()
        assert set(described) <= ids, described
        assert f"help-{attributes['name']}" in described
        assert f"error-{attributes['name']}" in described
        assert attributes["autocomplete"] == "off"
        assert "aria-invalid" not in attributes
        if tag == "input" and attributes["type"] == "radio":
            continue
    for field in definition["fields"]:
        name = field["name"]
        assert page.texts.get(f"error-{name}", "") == ""
        assert page.texts[f"help-{name}"].startswith(field["help"][lang])
        kinds = {(t, a.get("type")) for t, a in page.controls() if a["name"] == name}
        if field["type"] == "multi_choice":
            assert kinds == {("input", "checkbox")}
        elif field["type"] == "choice":
            many = len(field["choices"]) > 6
            assert kinds == ({("select", None)} if many else {("input", "radio")})
        elif field["type"] == "country":
            assert kinds == {("select", None)}
            options = [
                a["value"]
                for t, a in page.elements
                if t == "option" and a.get("value") in field["countries"]
            ]
            assert len(options) >= len(field["countries"])
        elif field["type"] == "textarea":
            assert kinds == {("textarea", None)}
    # The routing fields: the page's language chosen by default.
    checked_language = [
        a["value"] for t, a in page.controls() if a["name"] == "routing.language" and "checked" in a
    ]
    assert checked_language == [lang]
    hidden = {a["name"]: a["value"] for t, a in page.elements if a.get("type") == "hidden"}
    assert hidden["step"] == "review"
    # Where the requester is rides in the body of the next POST, not in the URL.
    assert (hidden["lang"], hidden["category"]) == (lang, category)
    assert re.fullmatch(r"[A-Za-z0-9_-]{76}", hidden["ticket"])
    submits = [a for t, a in page.elements if t == "button" and a.get("type") == "submit"]
    # The form's own button, and the receipt's "read answers" (a form of its own).
    assert [a for a in submits if "name" not in a] == [{"type": "submit"}]
    assert [a.get("value") for a in submits if "name" in a] == ["status"]
    # The sections the bundle shows, hidden until then.
    for section in ("haven-review", "haven-progress", "haven-sent", "haven-receipt"):
        tag, attributes = page.by_id(section)
        assert tag == "section" and "hidden" in attributes
    assert page.by_id("haven-error")[1]["role"] == "alert"
    assert "hidden" in page.by_id("haven-error")[1]
    assert page.by_id("haven-pow-progress")[0] == "progress"
    assert page.by_id("haven-status")[1]["aria-live"] == "polite"
    for element_id in ("haven-sent-id", "haven-edit", "haven-send", "haven-receipt-code"):
        page.by_id(element_id)
    config = json.loads(page.config_text)
    assert config["lang"] == lang
    assert config["category"] == category
    assert base64.b64decode(config["network_key"]) == settings.network_verify_key.raw
    assert config["directory_url"] == "/v1/directory"
    assert config["challenge_url"] == "/v1/challenge"
    assert config["submit_url"] == "/v1/requests"
    assert config["pow_worker_url"] == "/static/haven-pow-worker.js"
    assert config["receipt_worker_url"] == "/static/haven-receipt-worker.js"
    assert config["form"] == json.loads(json.dumps(definition))
    assert set(config["messages"]) >= BUNDLE_KEYS
    assert all(isinstance(t, str) and t for t in config["messages"].values())


def test_the_config_json_cannot_end_its_script_early(client: FlaskClient) -> None:
    html = open_page(client, "en", "form", "desertion").get_data(as_text=True)
    script = html.split('<script type="application/json" id="haven-config">', 1)[1]
    body = script.split("</script>", 1)[0]
    assert "<" not in body


@pytest.mark.parametrize(
    ("path", "lang"),
    [
        ("/de/", "ru"),
        ("/de/desertion", "ru"),
        ("/uk/nothing", "uk"),
        ("/en/desertion/more", "en"),
        ("/ru/static", "ru"),
        ("/CANARY-path", "ru"),
    ],
)
def test_unknown_pages_are_404_pages_in_the_language_of_the_path(
    client: FlaskClient, path: str, lang: str
) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert_page_headers(response)
    html = response.get_data(as_text=True)
    assert Page(html).elements[0] == ("html", {"lang": lang})
    assert read_catalog().gettext(lang, "Page not found") in html
    assert "CANARY" not in html


@pytest.mark.parametrize("path", ["/ru/", "/uk/desertion", "/en/political_prisoner"])
def test_the_paths_that_named_a_language_or_a_category_are_gone(
    client: FlaskClient, path: str
) -> None:
    assert client.get(path).status_code == 404
    assert client.post(path, data={"step": "review"}).status_code == 404


@pytest.mark.parametrize(
    ("data", "field", "lang"),
    [
        ({"step": "help"}, "lang", "ru"),
        ({"lang": "de", "step": "help"}, "lang", "ru"),
        ({"lang": "uk"}, "step", "uk"),
        ({"lang": "en", "step": "CANARY"}, "step", "en"),
        ({"lang": "uk", "step": "form"}, "category", "uk"),
        ({"lang": "en", "step": "review", "category": "CANARY"}, "category", "en"),
    ],
)
def test_a_step_that_does_not_say_where_it_is_is_a_400_page_naming_the_field(
    client: FlaskClient, data: dict[str, str], field: str, lang: str
) -> None:
    response = client.post("/", data=data)
    assert response.status_code == 400
    assert_page_headers(response)
    html = unescape(response.get_data(as_text=True))
    assert Page(html).elements[0] == ("html", {"lang": lang})
    assert f"«{field}»" in html or f"“{field}”" in html
    assert "CANARY" not in html  # the field is named, its value never repeated
    assert 'endpoint="pages.step",outcome="invalid"' in ops_of(client).get("/metrics").get_data(
        as_text=True
    )


def test_the_api_keeps_json_errors_and_its_strict_policy(client: FlaskClient) -> None:
    for path in ("/v1/nothing", "/v1", "/v1/challenge"):
        response = client.get(path)
        assert response.mimetype == "application/json"
        assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert (
        ops_of(client).get("/metrics").headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    )


def test_other_methods_on_pages_are_405_pages(client: FlaskClient) -> None:
    response = client.put("/")
    assert response.status_code == 405
    assert_page_headers(response)
    assert response.headers["Allow"]


def test_static_files_have_their_types_and_are_never_stored(client: FlaskClient) -> None:
    css = client.get("/static/haven.css")
    assert css.status_code == 200
    assert css.mimetype == "text/css"
    assert len(css.data) < 10 * 1024
    script = client.get("/static/quick-exit.js")
    assert script.mimetype == "text/javascript"
    assert b"location.replace" in script.data
    for response in (css, script):
        assert response.headers["Cache-Control"] == "no-store"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert "Set-Cookie" not in response.headers
    assert client.get("/static/app.py").status_code == 404
    assert client.get("/static/..%2Fapp.py").status_code == 404
    # Nothing but system fonts and this origin.
    assert b"url(" not in css.data and b"@import" not in css.data


def test_only_the_receipt_worker_may_compile_webassembly(client: FlaskClient) -> None:
    """Argon2id runs as WebAssembly in the receipt worker: 'wasm-unsafe-eval' there, nowhere else."""
    worker = client.get("/static/haven-receipt-worker.js")
    assert worker.status_code == 200
    assert worker.mimetype == "text/javascript"
    assert worker.headers["Cache-Control"] == "no-store"
    policy = worker.headers["Content-Security-Policy"]
    assert policy == PAGE_CONTENT_SECURITY_POLICY.replace(
        "script-src 'self';", "script-src 'self' 'wasm-unsafe-eval';"
    )
    assert "'wasm-unsafe-eval'" not in PAGE_CONTENT_SECURITY_POLICY
    for other in (
        client.get("/static/haven-form.js"),
        client.get("/static/haven-pow-worker.js"),
        open_page(client, "ru", "form", "desertion"),
    ):
        assert "wasm" not in other.headers["Content-Security-Policy"]


def test_page_views_are_counted_by_endpoint_and_outcome_only(client: FlaskClient) -> None:
    client.get("/")
    open_page(client, "ru", "help")
    client.post("/?CANARY=1", data={"lang": "ru", "step": "form", "category": "desertion"})
    client.get("/ru/CANARY")
    text = ops_of(client).get("/metrics").get_data(as_text=True)
    assert 'endpoint="pages.language",outcome="ok"' in text
    # One endpoint for every later step: not even a metric says which.
    assert 'endpoint="pages.step",outcome="ok"' in text
    assert 'endpoint="unmatched",outcome="not_found"' in text
    assert "CANARY" not in text


def _extracted_msgids() -> set[str]:
    keywords = {"_": None, "N_": None, "ru": None, "uk": None, "en": None}
    return {
        message
        for _, _, message, _, _ in extract_from_dir(
            str(INTAKE),
            method_map=[("**/templates/**.html", "jinja2.ext:babel_extract"), ("**.py", "python")],
            keywords=keywords,
        )
        if isinstance(message, str)
    }


def test_every_page_string_is_translated_in_every_language() -> None:
    catalog = read_catalog()
    used = _extracted_msgids()
    assert len(used) > 50
    for lang in LANGUAGE_CODES:
        texts = catalog.msgids(lang)
        missing = sorted(msgid for msgid in used if not texts.get(msgid, "").strip())
        assert not missing, (lang, missing)
        empty = sorted(msgid for msgid, text in texts.items() if not text.strip())
        assert not empty, (lang, empty)
        # Placeholders survive translation.
        for msgid, text in texts.items():
            assert set(re.findall(r"\{\w+\}", msgid)) == set(re.findall(r"\{\w+\}", text))
    # The catalogs hold no text that nothing uses any more.
    assert set(catalog.msgids("ru")) == set(catalog.msgids("uk")) == set(catalog.msgids("en"))
    assert set(catalog.msgids("ru")) == used


@pytest.mark.parametrize("lang", LANGUAGE_CODES)
def test_bundle_messages_are_there_in_every_language(lang: str) -> None:
    messages = read_catalog().bundle_messages(lang)
    assert set(messages) >= BUNDLE_KEYS
    assert all(text.strip() for text in messages.values())
    if lang != "en":
        english = read_catalog().bundle_messages("en")
        assert messages["sent"] != english["sent"]
