"""The axe-core helper itself: it finds violations under Haven's strict CSP, and reports no page text.

The accessibility tests pass only because axe finds nothing: this shows
that it runs at all on a page whose CSP forbids inline and injected
scripts, and that what it reports could go into a CI log.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, Route

from tests.web.axe import assert_accessible, violations

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SECRET = "Канарейка-91c4 адрес"
# A page with a critical violation (an unlabelled field holding typed text)
# and a serious one (no language), served with the CSP Haven's pages carry.
BROKEN = f"""<!doctype html><html><head><meta charset="utf-8"><title>t</title></head>
<body><main><h1>Форма</h1><form><input type="text" name="message" value="{SECRET}">
<input type="text" name="{SECRET}" data-x="{SECRET}"></form></main></body></html>"""
GOOD = """<!doctype html><html lang="ru"><head><meta charset="utf-8"><title>t</title></head>
<body><main><h1>Форма</h1><form><label for="m">Сообщение</label>
<input type="text" id="m" name="message"></form></main></body></html>"""
URL = "http://haven.test/"


def serve(new_context: Callable[..., BrowserContext], body: str) -> tuple[BrowserContext, str]:
    context = new_context()

    def fulfill(route: Route) -> None:
        route.fulfill(
            status=200,
            content_type="text/html; charset=utf-8",
            headers={"Content-Security-Policy": CSP},
            body=body,
        )

    context.route(URL, fulfill)
    return context, URL


def test_axe_runs_under_the_strict_csp_and_names_rules_not_text(
    new_context: Callable[..., BrowserContext],
) -> None:
    context, url = serve(new_context, BROKEN)
    page = context.new_page()
    refused: list[str] = []
    page.on("console", lambda message: refused.append(message.text))
    page.goto(url)
    # The CSP is in force: a script the page itself would add is refused.
    page.evaluate(
        "() => { const s = document.createElement('script'); s.textContent = 'window.ran = 1';"
        " document.head.append(s); }"
    )
    assert page.evaluate("window.ran === undefined")
    assert any("Content Security Policy" in text for text in refused)

    found = violations(page)
    assert any(line.startswith("label (critical): ") for line in found), found
    assert any(line.startswith("html-has-lang (serious): ") for line in found), found
    reported = json.dumps(found, ensure_ascii=False)
    for piece in (SECRET, "Канарейка", "91c4"):
        assert piece not in reported
    with pytest.raises(pytest.fail.Exception, match="label"):
        assert_accessible(page, "a broken page")


def test_a_page_without_violations_passes(new_context: Callable[..., BrowserContext]) -> None:
    context, url = serve(new_context, GOOD)
    page = context.new_page()
    page.goto(url)
    assert violations(page) == []
    assert_accessible(page, "a good page")
