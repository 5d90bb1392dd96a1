"""The API doors of the chat's server, added to it once it runs (:func:`mount_api`):

- ``/api/v1``: our REST API (assistant/web/rest.py);
- ``/v1``: the OpenAI-compatible chat (assistant/web/openai_chat.py);
- ``/mcp``: the MCP tools over streamable HTTP (assistant/web/mcp.py);
- ``/api/v1/openapi.json`` and ``/api/v1/docs``: the OpenAPI description of the REST and OpenAI routes,
  and a page listing it (no outside scripts: the server may be offline).

All take the same credentials (assistant/web/access.py) and call one
:class:`~assistant.service.service.CollectionService`.
"""

from __future__ import annotations

import html
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from assistant.service.keys import ApiKeys
from assistant.service.service import CollectionService
from assistant.web.access import Access, ErrorBody, guard
from assistant.web.auth import is_loopback
from assistant.web.mcp import MCP_PATH, build_mcp, mcp_http
from assistant.web.openai_chat import MODEL_PREFIX, openai_error, openai_router
from assistant.web.rest import PREFIX, rest_error, rest_router

__all__ = ["mount_api", "openapi_spec", "not_allowed_routes"]

TITLE = "Cited news assistant"


def openapi_spec(routers: list[APIRouter], collections: list[str] | None = None) -> dict[str, Any]:
    """The OpenAPI 3 description of these routers' routes. With ``collections`` (the server's now), the
    fields that name a collection or a model list the ones there are: anything else is a 404."""
    routes = [r for router in routers for r in router.routes]
    spec = get_openapi(title=TITLE, version="1", routes=routes,
                       description="Answers with citations to the exact sentences of the articles: our REST API "
                                   "(/api/v1) and an OpenAI-compatible chat (/v1). Send an API key as "
                                   "'Authorization: Bearer <key>' (or an account's HTTP Basic login) when the "
                                   "server asks for one (401).")
    if collections:
        _name_the_collections(spec, collections)
    return spec


def _name_the_collections(spec: dict[str, Any], names: list[str]) -> None:
    """Put the server's collections (and models, ``cited/<name>``) as the ``enum`` of the fields naming one."""
    choices = {"collection": ["", *names], "model": [MODEL_PREFIX + n for n in names]}

    def visit(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("in") in ("query", "path") and node.get("name") in choices:
                node["schema"] = {"type": "string", "enum": choices[node["name"]]}
            for key, sub in node.get("properties", {}).items():
                if key in choices and isinstance(sub, dict) and sub.get("type") == "string":
                    sub["enum"] = choices[key]
            for v in node.values():
                visit(v)
        elif isinstance(node, list):
            for v in node:
                visit(v)

    visit(spec["paths"])


_METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"}


def not_allowed_routes(router: APIRouter, error: ErrorBody) -> list[Route]:
    """For each path of ``router``, a route that answers the methods it does not document with 405, the
    door's error body and an ``Allow`` header listing exactly the documented ones (Starlette's own 405
    names only the methods of the first route matching the path)."""
    documented: dict[str, set[str]] = {}
    for r in router.routes:
        if isinstance(r, APIRoute) and r.include_in_schema:
            documented.setdefault(r.path, set()).update(r.methods)
    routes = []
    for path, methods in documented.items():
        allow = ", ".join(sorted(methods))

        async def refuse(request: Request, allow: str = allow) -> Response:
            r = error(405, "MethodNotAllowed", f"{request.method} is not allowed here; use {allow}", None)
            r.headers["Allow"] = allow
            return r

        routes.append(Route(path, refuse, methods=sorted(_METHODS - methods - {"HEAD"}), include_in_schema=False))
    return routes


def mount_api(app: FastAPI, service: CollectionService, accounts: list[tuple[str, str]], *, host: str) -> Access:
    """Add the doors to the running server's ``app``; returns the access rule they share."""
    access = Access(accounts, ApiKeys.of(service.settings), loopback=is_loopback(host))
    doors = [rest_router(service, access), openai_router(service, access)]
    described = APIRouter(prefix=PREFIX)
    guarded = guard(access, service, rest_error)

    @described.get("/openapi.json", include_in_schema=False)
    @guarded
    async def openapi(request: Request) -> Any:
        return openapi_spec(doors, service.names())

    @described.get("/docs", include_in_schema=False)
    @guarded
    async def docs(request: Request) -> Any:
        rows = "".join(
            f"<li><code>{html.escape(m.upper())} {html.escape(path)}</code>: {html.escape(op.get('summary', ''))}</li>"
            for path, ops in openapi_spec(doors)["paths"].items() for m, op in ops.items())
        return HTMLResponse(f"<!doctype html><title>API</title><h1>{TITLE} API</h1><ul>{rows}</ul>"
                            f'<p>The OpenAPI description: <a href="{PREFIX}/openapi.json">{PREFIX}/openapi.json</a>. '
                            f"MCP (streamable HTTP): <code>{MCP_PATH}</code>.</p>")

    for router in [*doors, described]:
        app.include_router(router)
    for router, error in zip(doors, (rest_error, openai_error), strict=True):
        app.router.routes.extend(not_allowed_routes(router, error))
    endpoint = mcp_http(build_mcp(service), access, host=host)
    app.router.routes.append(Route(MCP_PATH, endpoint=endpoint, methods=["GET", "POST", "DELETE"]))
    return access
