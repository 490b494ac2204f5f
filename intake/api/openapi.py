"""The OpenAPI 3 document, generated from the schemas in schemas.http and the views.

Each view carries its operation (responses, request body) through the
`operation` decorator and its summary and description in its docstring;
this module walks the app's URL map, so a route without a description
cannot be added unnoticed (a test checks every route is listed).
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from typing import Any, TypeVar

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Flask

from intake.guards.pow import CHALLENGE_HEADER
from schemas.http import ErrorSchema

F = TypeVar("F", bound=Callable[..., Any])
_ATTRIBUTE = "_haven_openapi"
_UNDOCUMENTED_METHODS = frozenset({"HEAD", "OPTIONS"})
# The requester's HTML pages (docs/web-form.md) are not part of the API.
_PAGE_BLUEPRINTS = frozenset({"pages"})

DESCRIPTION = """\
The intake of a Haven network: requesters' devices fetch the signed partner
directory and a proof-of-work challenge, seal a request on the device, and
submit it here. The intake never sees plaintext and never records who sent
what. Every error is JSON: `{"error": {"code", "message", "field"?, "details"?}}`.
Any other path under /v1/ answers 404, and any method not listed 405, with that
same error body. The requester's HTML pages (docs/web-form.md) are outside this
document. See docs/intake-api.md.
"""


def json_body(schema: Any, description: str, **extra: Any) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": schema}},
        **extra,
    }


def header(description: str, kind: str = "string") -> dict[str, Any]:
    return {"description": description, "schema": {"type": kind}}


RETRY_AFTER = {"Retry-After": header("Seconds to wait before trying again.", "integer")}
NO_STORE = {"Cache-Control": header("`no-store`: nothing of this answer is kept.")}

# What every paid request (a submission, a follow-up, a mailbox fetch or
# delete) declares alike: its challenge header, the answers for a body that
# cannot be read, and the refusal of its proof of work.
PAID_PARAMETER = {
    "in": "header",
    "name": CHALLENGE_HEADER,
    "required": True,
    "description": "The `token` of the solved challenge, the same as the body's "
    "`pow.challenge`. Checked before the body is read.",
    "schema": {"type": "string", "minLength": 88, "maxLength": 88},
}
UNREADABLE = {
    "400": json_body(
        ErrorSchema,
        "The body cannot be read (`bad_request`) or is not a JSON document (`malformed_json`).",
    ),
    "413": json_body(ErrorSchema, "The body is larger than the limit (`too_large`)."),
    "415": json_body(
        ErrorSchema, "The body is not `application/json` in UTF-8 (`unsupported_media_type`)."
    ),
}
POW_REFUSED = json_body(
    ErrorSchema,
    "The proof-of-work does not admit the request (`pow_invalid`, `pow_expired`, "
    f"`pow_insufficient`); a missing or refused {CHALLENGE_HEADER} header is answered so "
    "before the body is read.",
)

# Shared answers, as components; every operation refers to these by name.
COMMON_RESPONSES: dict[str, dict[str, Any]] = {
    "NotFound": json_body(ErrorSchema, "No such resource (`not_found`)."),
    "MethodNotAllowed": json_body(
        ErrorSchema,
        "Method not allowed (`method_not_allowed`); `Allow` lists the methods.",
        headers={"Allow": header("The methods this resource answers.")},
    ),
    "Internal": json_body(ErrorSchema, "An internal fault (`internal`); never caused by input."),
}
_COMMON_REFS = {"404": "NotFound", "405": "MethodNotAllowed", "500": "Internal"}


def operation(spec: dict[str, Any]) -> Callable[[F], F]:
    """Attach an OpenAPI operation (without summary or description: the docstring gives them)."""

    def attach(view: F) -> F:
        setattr(view, _ATTRIBUTE, spec)
        return view

    return attach


def _describe(view: Callable[..., Any]) -> dict[str, str]:
    doc = inspect.getdoc(view) or ""
    summary, _, rest = doc.partition("\n")
    described = {"summary": summary.strip()}
    if rest.strip():
        described["description"] = rest.strip()
    return described


def build_openapi(app: Flask, *, title: str, version: str) -> dict[str, Any]:
    spec = APISpec(
        title=title,
        version=version,
        openapi_version="3.0.3",
        plugins=[MarshmallowPlugin()],
        info={"description": DESCRIPTION},
    )
    for name, response in COMMON_RESPONSES.items():
        spec.components.response(name, response)
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.endpoint == "static" or rule.endpoint.partition(".")[0] in _PAGE_BLUEPRINTS:
            continue
        view = app.view_functions[rule.endpoint]
        documented = getattr(view, _ATTRIBUTE, None)
        if documented is None:
            raise RuntimeError(f"route {rule.rule} has no OpenAPI operation")
        methods = sorted((rule.methods or set()) - _UNDOCUMENTED_METHODS)
        operations = {}
        for method in methods:
            op = {**_describe(view), "operationId": rule.endpoint.replace(".", "_"), **documented}
            op["responses"] = {**documented["responses"], **_COMMON_REFS}
            operations[method.lower()] = op
        spec.path(path=rule.rule, operations=operations)
    return spec.to_dict()


def openapi_bytes(document: dict[str, Any]) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode("utf-8")
