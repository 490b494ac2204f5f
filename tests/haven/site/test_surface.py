"""What counts as code on a page: every way HTML can make a browser run or load something."""

from __future__ import annotations

import hashlib

import pytest

from haven.site.surface import describe, normalise_csp, read_surface
from haven.site.walk import same_origin_path


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def kinds(html: str) -> list[str]:
    return [describe(code) for code in read_surface(html.encode()).items]


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ('<script src="/a.js"></script>', "script src=/a.js type="),
        # Any other attribute too: `nomodule` or a wrong `integrity` stops it running.
        ('<script src="/a.js" nomodule></script>', 'script src=/a.js type= with=nomodule=""'),
        ('<script type="module">go()</script>', f"inline-script sha256={sha('go()')} type=module"),
        ("<style>p{}</style>", f"inline-style sha256={sha('p{}')}"),
        ('<body onload="go()">', f"handler attribute=onload sha256={sha('go()')} tag=body"),
        ('<p style="color:red">', f"style-attribute sha256={sha('color:red')} tag=p"),
        (
            '<a href=" JavaScript:go()">',
            f"script-url attribute=href sha256={sha(' JavaScript:go()')} tag=a",
        ),
        ('<iframe src="https://x.example/"></iframe>', "embed src=https://x.example/ tag=iframe"),
        ('<object data="/x.swf"></object>', "embed src=/x.swf tag=object"),
        ('<base href="https://x.example/">', "base href=https://x.example/"),
        ('<link rel="modulepreload" href="/m.js">', "link href=/m.js rel=modulepreload"),
        (
            '<meta http-equiv="refresh" content="0;url=https://x.example/">',
            "meta content=0;url=https://x.example/ http_equiv=refresh",
        ),
        ('<svg><script href="/s.js"></script></svg>', "script src=/s.js type="),
        # Left open at the end: still a script, with its text.
        ("<script>go()", f"inline-script sha256={sha('go()')} type="),
    ],
)
def test_each_way_to_run_code_is_an_item(html: str, expected: str) -> None:
    assert kinds(html) == [expected]


def test_text_and_form_controls_are_not_code() -> None:
    page = '<h1>Haven</h1><button name="lang" value="ru">Русский</button><a href="/">x</a>'
    assert kinds(page) == []


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        # The bundle finds its form and config by id, and without them leaves
        # the form to post what is typed to the intake in the clear.
        ('<form id="haven-form">', ["id id=haven-form tag=form", 'form with=id="haven-form"']),
        ('<input form="other">', ["form-tie attribute=form tag=input value=other"]),
        ('<button formaction="/x">', ["form-tie attribute=formaction tag=button value=/x"]),
        # An SVG script runs its href, not a src beside it.
        (
            '<svg><script href="/leak.js" src="/static/quick-exit.js"></script></svg>',
            ['script src=/static/quick-exit.js type= with=href="/leak.js"'],
        ),
    ],
)
def test_what_the_bundle_finds_its_way_by_is_signed(html: str, expected: list[str]) -> None:
    assert kinds(html) == expected


def test_a_page_loads_its_scripts_stylesheets_and_the_configured_worker() -> None:
    page = (
        '<link rel="stylesheet" href="/static/haven.css"><script src="/static/haven-form.js"></script>'
        '<script type="application/json" id="haven-config">{"pow_worker_url":"/static/w.js"}</script>'
    )
    assert read_surface(page.encode()).loads == [
        "/static/haven.css",
        "/static/haven-form.js",
        "/static/w.js",
    ]


@pytest.mark.parametrize(
    ("reference", "path"),
    [
        ("/static/a.js", "/static/a.js"),
        ("static/a.js", "/static/a.js"),
        ("//evil.example/a.js", None),
        ("https://evil.example/a.js", None),
        ("data:text/javascript,go()", None),
    ],
)
def test_only_the_sites_own_files_are_fetched(reference: str, path: str | None) -> None:
    assert same_origin_path(reference) == path


def test_policies_compare_by_their_directives_not_their_spacing() -> None:
    assert normalise_csp(" default-src  'none' ;script-src 'self';; ") == (
        "default-src 'none'; script-src 'self'"
    )


# Each of these runs /leak.js in Chromium (checked against the system's
# Chromium while reviewing) where Python's parser sees nothing, or sees the
# signed quick-exit script. Each must show up as something not signed.
@pytest.mark.parametrize(
    "html",
    [
        '<script src="/leak.js" src="/static/quick-exit.js"></script>',
        '<!-- a --!><script src="/leak.js"></script><!-- -->',
        '<!--><script src="/leak.js"></script><!-- -->',
        '<!---><script src="/leak.js"></script><!-- -->',
        '<![CDATA[ x ><script src="/leak.js"></script> ]]>',
        '<p title=="a><script src="/leak.js"></script>',
        "<script src==/static/quick-exit.js></script>",
    ],
)
def test_what_a_browser_runs_is_never_read_as_the_signed_page(html: str) -> None:
    signed = kinds('<script src="/static/quick-exit.js"></script>')
    assert kinds(html) not in ([], signed)


def test_a_browser_keeps_the_first_of_two_attributes() -> None:
    html = '<script src="/leak.js" src="/static/quick-exit.js"></script>'
    assert kinds(html) == ["script src=/leak.js type="]


def test_an_escaped_value_is_not_an_ambiguous_tag() -> None:
    # What the intake's templates write: escaped values, base64 padding.
    assert kinds('<input type="hidden" name="ticket" value="ab==&lt;&gt;">') == []


def test_only_csp_whitespace_is_spacing() -> None:
    assert normalise_csp("  default-src 'none';\tscript-src  'self' ;; ") == (
        "default-src 'none'; script-src 'self'"
    )
    # A browser reads "default-src\xa0'none'" as one unknown directive, and drops it.
    assert normalise_csp("default-src\xa0'none'") != "default-src 'none'"
