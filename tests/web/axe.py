"""axe-core (pinned in web/package.json) run inside a real page: no serious or critical violation.

The pages carry a strict CSP (script-src 'self', no 'unsafe-eval'), so
axe's source cannot arrive as a <script> tag. It is evaluated through the
DevTools protocol instead (Playwright's page.evaluate), which the page's CSP
does not govern. The CSP itself stays in force for everything the page
loads: a style or script the CSP would block is blocked here too, so axe
sees the page exactly as a requester or a partner does. (A context with
bypass_csp=True would switch the CSP off for the page's own resources as
well, and could pass a page that is broken for its users.)

A failure lists each violation as rule id, impact and target selector,
never the page's text: the pages under test may show what a requester
typed, and test output ends up in CI logs.
"""

from __future__ import annotations

from functools import cache

import pytest
from playwright.sync_api import Page

from tests.repo import REPO

AXE = REPO / "web" / "node_modules" / "axe-core" / "axe.min.js"
FAILING = ("serious", "critical")


@cache
def axe_source() -> str:
    if not AXE.is_file():
        pytest.fail(
            "web/node_modules lacks axe-core: run `cd web && npm ci` (or `make unit`)",
            pytrace=False,
        )
    return AXE.read_text(encoding="utf-8")


# Every node that fails a rule with a failing impact: rule, impact, and a
# selector of our own making. axe's own selectors can hold an attribute's
# value (an input's value: what a person typed), so the node is named by
# its tag, id, classes and position only, which come from Haven's templates.
_RUN = """async (failing) => {
  const describe = (node) => {
    const parts = [];
    for (let e = node; e && e.nodeType === 1 && parts.length < 4; e = e.parentElement) {
      let part = e.localName;
      if (e.id) {
        parts.unshift(part + "#" + CSS.escape(e.id));
        break;
      }
      for (const name of e.classList) part += "." + CSS.escape(name);
      const siblings = e.parentElement ? [...e.parentElement.children] : [e];
      const same = siblings.filter((s) => s.localName === e.localName);
      if (same.length > 1) part += ":nth-of-type(" + (same.indexOf(e) + 1) + ")";
      parts.unshift(part);
    }
    return parts.join(" > ");
  };
  const results = await axe.run(document, {resultTypes: ["violations"], elementRef: true});
  const found = [];
  for (const rule of results.violations) {
    for (const node of rule.nodes) {
      const impact = node.impact || rule.impact;
      if (failing.includes(impact)) {
        const target = node.element ? describe(node.element) : "(inside a frame)";
        found.push(rule.id + " (" + impact + "): " + target);
      }
    }
  }
  return found;
}"""


def violations(page: Page) -> list[str]:
    """The page's serious and critical violations as "rule (impact): selector" lines."""
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(axe_source())
    found: list[str] = page.evaluate(_RUN, list(FAILING))
    return found


def assert_accessible(page: Page, screen: str) -> None:
    """Fail naming the screen and every serious or critical violation axe finds on it now."""
    found = violations(page)
    if found:
        pytest.fail(
            f"axe-core on {screen}: {len(found)} serious or critical\n" + "\n".join(found),
            pytrace=False,
        )
