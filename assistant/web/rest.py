"""A plain HTTP JSON API beside the chat, on the same server (``/api/v1``), for apps that do not speak
Gradio's protocol:

- ``POST /api/v1/ask``: ``{"question", "history", "collection", "mode", "max_citations", "article_ids",
  "sources", "date_from", "date_to", "languages"}`` → ``Answer.to_dict()`` without the passages;
- ``GET /api/v1/articles?collection=``: the articles (``ArticleInfo`` without server paths);
- ``POST /api/v1/articles?collection=``: upload files (multipart, field ``files``; the chat's checks: the
  ingest extensions, ``server.max_upload_mb``, safe names under ``<index>/uploads/``) → the ingest report;
- ``DELETE /api/v1/articles/{id}?collection=``: remove one article;
- ``GET /api/v1/health``: whether the model has loaded, the collections;
- ``GET /api/v1/openapi.json`` (the OpenAPI 3 description) and ``GET /api/v1/docs`` (a page listing it,
  served with no outside scripts: the server may be offline).

The same login rules as the chat: when the server has accounts (always beyond loopback), every call needs
HTTP Basic credentials of one of them; on loopback without accounts the API is open. A body over
``server.max_upload_mb`` (a file) or 64 KB (a question) is refused with 413. Errors are JSON:
``{"error": {"type": "DateError", "message": "..."}}`` with 400 for bad input, 401 without a valid login,
404 for an unknown article or collection, 409 when another process writes the index, 503 when the vector
server does not answer, 507 when the index's disk is full, 500 (message only, no trace) for anything else.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hmac
import html
import logging
import os
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException

from assistant.errors import (
    ArticleNotFoundError,
    AssistantError,
    IndexLockedError,
    StorageFullError,
    StoreUnavailableError,
)

if TYPE_CHECKING:
    from assistant.web.chat import ChatApp

__all__ = ["mount_rest", "PREFIX"]

log = logging.getLogger(__name__)

PREFIX = "/api/v1"
MAX_QUESTION_BYTES = 64_000


def _status(e: AssistantError) -> int:
    if isinstance(e, ArticleNotFoundError):
        return 404
    if isinstance(e, IndexLockedError):
        return 409
    if isinstance(e, StorageFullError):
        return 507
    if isinstance(e, StoreUnavailableError):
        return 503
    if "no collection" in str(e):
        return 404
    return 400


def _error(status: int, kind: str, message: str) -> Any:
    return JSONResponse({"error": {"type": kind, "message": message}}, status_code=status)


def _authorized(header: str | None, accounts: list[tuple[str, str]]) -> bool:
    if not accounts:
        return True
    if not header or not header.lower().startswith("basic "):
        return False
    try:
        user, _, password = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return False
    # every account compared, in constant time, whichever matches
    ok = False
    for u, p in accounts:
        ok |= hmac.compare_digest(u.encode(), user.encode()) & hmac.compare_digest(p.encode(), password.encode())
    return ok


class AskRequest(BaseModel):
    """The body of ``POST /api/v1/ask``."""

    model_config = ConfigDict(extra="forbid")

    question: str = Field(..., description="The question, in Arabic or English.")
    history: list[str] = Field(default_factory=list, description="Earlier questions, oldest first.")
    collection: str = Field("", description="The collection (index); empty: the one the server started with.")
    mode: str = Field("", description='"extractive" or "generative"; empty: the server\'s setting.')
    max_citations: int = Field(0, ge=0, le=20, description="Most sentences cited; 0: the server's setting.")
    article_ids: list[str] = Field(default_factory=list, description="Only these articles; empty: all.")
    sources: list[str] = Field(default_factory=list, description="Only articles from these sources; empty: all.")
    date_from: str = Field("", description='Only articles dated on or after (2019-06-01, "1 يونيو 2019").')
    date_to: str = Field("", description="Only articles dated on or before.")
    languages: list[str] = Field(default_factory=list, description='Only articles in these languages ("ar", "en").')


class _Refused(Exception):
    def __init__(self, status: int, kind: str, message: str):
        super().__init__(message)
        self.status, self.kind = status, kind


def _guarded(accounts: list[tuple[str, str]]) -> Callable[[Callable[..., Awaitable[Any]]], Callable[..., Awaitable[Any]]]:
    """Wrap an endpoint: the login check first, then every failure as a JSON error (Starlette's exception
    handlers cannot be added to a server that is already running, so each endpoint answers for itself)."""

    def wrap(fn: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        @functools.wraps(fn)
        async def endpoint(request: Request, *args: Any, **kwargs: Any) -> Any:
            if not _authorized(request.headers.get("authorization"), accounts):
                r = _error(401, "Unauthorized", "this server needs a login: send HTTP Basic credentials of one of "
                           "its accounts")
                r.headers["WWW-Authenticate"] = 'Basic realm="cited-assistant"'
                return r
            try:
                return await fn(request, *args, **kwargs)
            except _Refused as e:
                return _error(e.status, e.kind, str(e))
            except AssistantError as e:
                return _error(_status(e), type(e).__name__, str(e))
            except Exception:
                log.exception("%s %s failed", request.method, request.url.path)
                return _error(500, "InternalError", "the server could not answer this request; see its log")

        return endpoint

    return wrap


def mount_rest(app: FastAPI, chat: ChatApp, accounts: list[tuple[str, str]] | None) -> None:
    """Add the ``/api/v1`` routes to the server's FastAPI ``app`` (see the module doc)."""
    guarded = _guarded(list(accounts or []))
    max_upload = int(chat.settings.server.max_upload_mb * 1_000_000)
    router = APIRouter(prefix=PREFIX)
    collection_param = {"name": "collection", "in": "query", "required": False, "schema": {"type": "string"},
                        "description": "The collection (index); empty: the one the server started with."}

    @router.post("/ask", summary="Answer a question with citations", openapi_extra={"requestBody": {
        "required": True, "content": {"application/json": {"schema": AskRequest.model_json_schema()}}}})
    @guarded
    async def ask(request: Request) -> Any:
        body = await request.body()
        if len(body) > MAX_QUESTION_BYTES:
            raise _Refused(413, "TooLarge", f"the request is {len(body)} bytes; a question request may hold "
                           f"{MAX_QUESTION_BYTES}")
        try:
            req = AskRequest.model_validate_json(body or b"{}")
        except ValidationError as e:
            detail = "; ".join(f"{'.'.join(str(x) for x in err['loc']) or 'body'}: {err['msg']}" for err in e.errors())
            raise _Refused(400, "InvalidRequest", detail) from e
        return await run_in_threadpool(
            chat.api_ask, req.question, req.collection, req.max_citations, req.mode, req.article_ids, req.history,
            req.sources, req.date_from, req.date_to, req.languages)

    @router.get("/articles", summary="List the articles of a collection",
                openapi_extra={"parameters": [collection_param]})
    @guarded
    async def articles(request: Request) -> Any:
        return await run_in_threadpool(chat.api_articles, request.query_params.get("collection") or "")

    @router.post("/articles", summary="Upload article files into a collection", openapi_extra={
        "parameters": [collection_param], "requestBody": {"required": True, "content": {"multipart/form-data": {
            "schema": {"type": "object", "properties": {"files": {"type": "array", "items": {
                "type": "string", "format": "binary"}}}, "required": ["files"]}}}}})
    @guarded
    async def upload(request: Request) -> Any:
        length = int(request.headers.get("content-length") or 0)
        if length > 10 * max_upload + 1_000_000:
            raise _Refused(413, "TooLarge", f"the upload is {length} bytes; each file may hold {max_upload} "
                           "(server.max_upload_mb), ten files at a time")
        collection = request.query_params.get("collection") or chat.collections.initial
        chat.collections.get(collection)  # an unknown collection: 404 before the body is read
        try:
            form = await request.form(max_part_size=max_upload + 1)
        except MultiPartException as e:  # a part over the size, or a body that is not multipart
            too_big = "size" in str(e).lower()
            raise _Refused(413 if too_big else 400, "TooLarge" if too_big else "InvalidRequest",
                           f"{e}; each file may hold {max_upload / 1e6:.1f} MB (server.max_upload_mb)" if too_big
                           else f"the upload is not multipart form data ({e}); send the files as field 'files'") from e
        try:  # the form's spooled files are closed whatever happens (they were left to the collector)
            files = [f for f in form.getlist("files") if isinstance(f, UploadFile)]
            if not files:
                raise _Refused(400, "InvalidRequest", "send the article files as multipart form field 'files'")
            with tempfile.TemporaryDirectory(prefix="rest-upload-") as tmp:
                paths = []
                for f in files:
                    name = os.path.basename(f.filename or "") or "upload.txt"
                    data = await f.read()
                    if len(data) > max_upload:
                        raise _Refused(413, "TooLarge", f"{name} is over the {max_upload / 1e6:.1f} MB upload "
                                       "limit (server.max_upload_mb)")
                    (Path(tmp) / name).write_bytes(data)
                    paths.append(str(Path(tmp) / name))
                report = await run_in_threadpool(chat.ingest_uploads, paths, collection)
        finally:
            await form.close()
        return report.to_dict()

    @router.delete("/articles/{article_id:path}", summary="Remove an article",
                   openapi_extra={"parameters": [collection_param]})
    @guarded
    async def remove(request: Request) -> Any:
        article_id = request.path_params["article_id"]
        a = chat.collections.get(request.query_params.get("collection") or chat.collections.initial)
        await run_in_threadpool(a.remove, article_id)
        return {"removed": article_id, "collection": a.path.name}

    @router.get("/health", summary="Whether the server is ready")
    @guarded
    async def health(request: Request) -> Any:
        first = chat.collections.get(chat.collections.initial)
        return {"status": "ok", "model_ready": bool(getattr(first, "ready", True)),
                "collections": chat.collections.names(), "articles": len(first.articles())}

    def spec() -> dict[str, Any]:
        return get_openapi(title="Cited news assistant", version="1", routes=router.routes,
                           description="Answers with citations to the exact sentences of the articles.")

    @router.get("/openapi.json", include_in_schema=False)
    @guarded
    async def openapi(request: Request) -> Any:
        return spec()

    @router.get("/docs", include_in_schema=False)
    @guarded
    async def docs(request: Request) -> Any:
        rows = "".join(
            f"<li><code>{html.escape(m.upper())} {html.escape(path)}</code>: {html.escape(op.get('summary', ''))}</li>"
            for path, ops in spec()["paths"].items() for m, op in ops.items())
        return HTMLResponse(f"<!doctype html><title>API</title><h1>Cited news assistant API</h1><ul>{rows}</ul>"
                            f'<p>The OpenAPI description: <a href="{PREFIX}/openapi.json">{PREFIX}/openapi.json</a></p>')

    app.include_router(router)
