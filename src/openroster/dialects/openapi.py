"""The OpenAPI documents: where an app serves them, and the dialects' request-body schemas."""

from __future__ import annotations

from typing import Any, TypedDict

from pydantic import BaseModel

_DEFS = "#/$defs/"


class DocsPages(TypedDict):
    docs_url: None
    redoc_url: None
    openapi_url: str


#: Where the server and the control plane serve their docs page and their OpenAPI document.
DOCS_URL = "/docs"
OPENAPI_URL = "/openapi.json"
#: What FastAPI serves of them itself: the OpenAPI document only. Its docs pages load their
#: scripts from a CDN; the apps serve a docs page of their own instead (control/apidocs.py), and
#: no ReDoc.
DOCS_PAGES = DocsPages(docs_url=None, redoc_url=None, openapi_url=OPENAPI_URL)


def body_schema(model: type[BaseModel]) -> dict[str, Any]:
    """``model``'s JSON schema, self-contained: every ``$ref`` replaced by the schema it names.

    A route's ``openapi_extra`` body is copied into the document as is, so a
    reference to a nested model would point at a component the document does
    not define (and tools that read the document could not follow it).
    """
    schema = model.model_json_schema()
    defs: dict[str, Any] = schema.pop("$defs", {})

    def resolve(node: Any, seen: frozenset[str]) -> Any:
        if isinstance(node, list):
            return [resolve(v, seen) for v in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(_DEFS):
            name = ref.removeprefix(_DEFS)
            if name in seen:
                raise ValueError(f"{model.__name__}: {name} refers to itself; it cannot be inlined")
            rest = {k: resolve(v, seen) for k, v in node.items() if k != "$ref"}
            return {**resolve(defs[name], seen | {name}), **rest}
        return {k: resolve(v, seen) for k, v in node.items()}

    resolved: dict[str, Any] = resolve(schema, frozenset())
    return resolved
