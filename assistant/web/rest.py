"""A plain HTTP JSON API beside the chat, on the same server (``/api/v1``), for apps that do not speak
Gradio's protocol; a thin adapter over :class:`~assistant.service.service.CollectionService`:

- ``POST /api/v1/ask``: ``{"question", "history", "collection", "mode", "max_citations", "article_ids",
  "sources", "date_from", "date_to", "languages"}`` → ``Answer.to_dict()`` without the passages; with
  ``Accept: text/event-stream``, Server-Sent Events: ``delta`` events (``{"text": ...}``) as the answer
  grows, then one ``answer`` event (the same JSON), or an ``error`` event;
- ``GET /api/v1/articles?collection=``: the articles (``ArticleInfo`` without server paths);
- ``POST /api/v1/articles?collection=``: upload files (multipart, field ``files``; the chat's checks: the
  ingest extensions, ``server.max_upload_mb``, safe names under ``<index>/uploads/``) → the ingest report;
- ``DELETE /api/v1/articles/{article_id}?collection=``: remove one article (and its kept upload);
- ``GET /api/v1/health``: whether the model has loaded, the collections.

The OpenAPI description of these routes and of the OpenAI-compatible ones is served by
assistant/web/api.py. Credentials: assistant/web/access.py (an API key, or an account's Basic login).
A body over ``server.max_upload_mb`` (a file) or 64 KB (a question) is refused with 413; uploads and
removals are refused with 403 when ``server.allow_writes`` is off. Errors are JSON:
``{"error": {"type": "DateError", "message": "..."}}`` with 400 for bad input, 401 without a valid key or
login, 403 for writes on a read-only server, 404 for an unknown article or collection, 409 when another
process writes the index, 413 for a body too large, 503 when the vector server does not answer, 507 when
the index's disk is full, 500 (message only, no trace) for anything else.
"""

from __future__ import annotations

import json
import logging
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.convertors import Convertor, register_url_convertor
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from assistant.errors import AssistantError
from assistant.service.options import AskOptions
from assistant.service.service import CollectionService, article_record
from assistant.service.uploads import safe_filename
from assistant.web.access import INTERNAL, Access, Refused, guard, http_status, read_body
from assistant.web.conversation import api_answer

__all__ = ["rest_router", "AskRequest", "PREFIX", "MAX_QUESTION_BYTES", "rest_error", "error_responses",
           "streamed_operation", "path_param", "inline_schema"]

log = logging.getLogger(__name__)

PREFIX = "/api/v1"
MAX_QUESTION_BYTES = 64_000
MAX_FILES = 10  # files a request may upload

_ERROR_SCHEMA = {"type": "object", "required": ["error"], "properties": {"error": {
    "type": "object", "required": ["type", "message"],
    "properties": {"type": {"type": "string"}, "message": {"type": "string"}}}}}
_WHY = {400: "Bad input: the message says which field and how to fix it.", 401: "No valid API key or login.",
        403: "Writes are off on this server (server.allow_writes).", 404: "No such article or collection.",
        409: "Another process is writing this collection; try again.", 413: "The body is too large.",
        500: "An internal error (details in the server log).", 503: "The vector server does not answer.",
        507: "The index's disk is full."}


def error_responses(*statuses: int, schema: dict[str, Any] | None = None) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for these error statuses (and 401 and 500, which any call can get)."""
    return {s: {"description": _WHY[s], "content": {"application/json": {"schema": schema or _ERROR_SCHEMA}}}
            for s in sorted({*statuses, 401, 500})}


# a path parameter: any text without control characters (no id or collection name holds one)
PATH_TEXT = {"type": "string", "pattern": "^[^\\x00-\\x1f\\x7f]+$"}


class AnyText(Convertor[str]):
    """``{name:text}``: the rest of the path, whatever it holds (Starlette's ``path`` stops at a line
    break, and what does not match a route gets the web server's 404 instead of ours)."""

    regex = "[\\s\\S]+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("text", AnyText())


def path_param(name: str, description: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": PATH_TEXT, "description": description}


def inline_schema(model: type[BaseModel]) -> dict[str, Any]:
    """``model``'s JSON schema with its ``$defs`` put in place (embedded in an operation, a ``#/$defs``
    reference would point at the root of the OpenAPI document)."""
    schema = model.model_json_schema()
    defs = schema.pop("$defs", {})

    def put(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith("#/$defs/"):
                return put(defs[ref.removeprefix("#/$defs/")])
            return {k: put(v) for k, v in node.items()}
        if isinstance(node, list):
            return [put(v) for v in node]
        return node

    return put(schema)


# one Server-Sent Event: its data (JSON text, or [DONE] at the end of OpenAI's stream) and its name
SSE_EVENT = {"type": "object", "required": ["data"], "properties": {"data": {"type": "string"}, "event": {"type": "string"}}}


def streamed_operation(body: type[BaseModel], answer: str, *statuses: int, schema: dict[str, Any] | None = None
                       ) -> dict[str, Any]:
    """OpenAPI for a POST that takes ``body`` as JSON and answers JSON or Server-Sent Events."""
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": inline_schema(body)}}},
            "responses": {"200": {"description": answer, "content": {
                "application/json": {"schema": {"type": "object"}}, "text/event-stream": {"schema": SSE_EVENT}}},
                **error_responses(*statuses, schema=schema)}}


def rest_error(status: int, kind: str, message: str, param: str | None = None) -> Response:
    return JSONResponse({"error": {"type": kind, "message": message}}, status_code=status)


class AskRequest(AskOptions):
    """The body of ``POST /api/v1/ask``."""

    question: str = Field(..., description="The question, in Arabic or English.")


def _ok(description: str, schema: dict[str, Any] | None = None, media: str = "application/json") -> dict[str, Any]:
    return {"description": description, "content": {media: {"schema": schema or {"type": "object"}}}}


def _sse(event: str, data: Any) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def rest_router(service: CollectionService, access: Access) -> APIRouter:
    """The ``/api/v1`` routes (see the module doc)."""
    guarded = guard(access, service, rest_error)
    settings = service.settings
    max_upload = int(settings.server.max_upload_mb * 1_000_000)
    router = APIRouter(prefix=PREFIX)
    collection_param = {"name": "collection", "in": "query", "required": False, "schema": {"type": "string"},
                        "description": "The collection (index); empty: the one the server started with."}

    def writable() -> None:
        if not settings.server.allow_writes:
            raise Refused(403, "Forbidden", "this server is read-only (server.allow_writes is off)")

    @router.post("/ask", summary="Answer a question with citations", openapi_extra=streamed_operation(
        AskRequest, "The answer (Answer.to_dict() without passages); with Accept: text/event-stream, Server-Sent "
        "Events (delta, answer, error).", 400, 404, 409, 413, 503))
    @guarded
    async def ask(request: Request) -> Any:
        req = await read_body(request, AskRequest, MAX_QUESTION_BYTES)
        if "text/event-stream" in request.headers.get("accept", ""):
            events = await run_in_threadpool(service.ask_stream, req.question, req)  # bad options: an error now
            return StreamingResponse(_answer_events(events, service), media_type="text/event-stream",
                                     headers={"Cache-Control": "no-store"})
        return api_answer(await run_in_threadpool(service.ask, req.question, req))

    @router.get("/articles", summary="List the articles of a collection", openapi_extra={
        "parameters": [collection_param],
        "responses": {"200": _ok("The articles (without server paths).", {"type": "array", "items": {"type": "object"}}),
                      **error_responses(400, 404)}})
    @guarded
    async def articles(request: Request) -> Any:
        infos = await run_in_threadpool(service.articles, request.query_params.get("collection") or "")
        return [article_record(i) for i in infos]

    @router.post("/articles", summary="Upload article files into a collection", openapi_extra={
        "parameters": [collection_param], "requestBody": {"required": True, "content": {"multipart/form-data": {
            "schema": {"type": "object", "properties": {"files": {"type": "array", "minItems": 1, "maxItems": MAX_FILES, "items": {
                "type": "string", "format": "binary"}}}, "required": ["files"]}}}},
        "responses": {"200": _ok("The ingest report: added, replaced, unchanged, failed (name, why)."),
                      **error_responses(400, 403, 404, 409, 413, 503, 507)}})
    @guarded
    async def upload(request: Request) -> Any:
        writable()
        length = int(request.headers.get("content-length") or 0)
        if length > MAX_FILES * max_upload + 1_000_000:
            raise Refused(413, "TooLarge", f"the upload is {length} bytes; each file may hold {max_upload} "
                          "(server.max_upload_mb), ten files at a time")
        collection = request.query_params.get("collection") or ""
        service.collection(collection)  # an unknown collection: 404 before the body is read
        try:
            form = await request.form(max_part_size=max_upload + 1)
        except MultiPartException as e:  # a part over the size, or a body that is not multipart
            too_big = "size" in str(e).lower()
            raise Refused(413 if too_big else 400, "TooLarge" if too_big else "InvalidRequest",
                          f"{e}; each file may hold {max_upload / 1e6:.1f} MB (server.max_upload_mb)" if too_big
                          else f"the upload is not multipart form data ({e}); send the files as field 'files'") from e
        except HTTPException as e:  # Starlette's own 400 for a malformed body
            raise Refused(e.status_code, "InvalidRequest", f"the upload is not well-formed multipart form data "
                          f"({e.detail}); send the files as field 'files'") from e
        try:  # the form's spooled files are closed whatever happens (they were left to the collector)
            files = [f for f in form.getlist("files") if isinstance(f, UploadFile)]
            if not files:
                raise Refused(400, "InvalidRequest", "send the article files as multipart form field 'files'")
            if len(files) > MAX_FILES:
                raise Refused(400, "InvalidRequest", f"{len(files)} files were sent; send at most {MAX_FILES} at a time")
            with tempfile.TemporaryDirectory(prefix="rest-upload-") as tmp:
                paths = []
                for i, f in enumerate(files):  # each part in its own folder, under a safe name
                    name = safe_filename(f.filename or "") or "upload.txt"
                    data = await f.read()
                    if len(data) > max_upload:
                        raise Refused(413, "TooLarge", f"{name} is over the {max_upload / 1e6:.1f} MB upload "
                                      "limit (server.max_upload_mb)")
                    (Path(tmp) / str(i)).mkdir()
                    (Path(tmp) / str(i) / name).write_bytes(data)
                    paths.append(str(Path(tmp) / str(i) / name))
                report = await run_in_threadpool(service.upload, paths, collection)
        finally:
            await form.close()
        return report.to_dict()

    @router.delete("/articles/{article_id:text}", summary="Remove an article (and its uploaded file)", openapi_extra={
        "parameters": [path_param("article_id", "The article's id (see GET /api/v1/articles)."), collection_param],
        "responses": {"200": _ok("What was removed: {removed, collection}."),
                      **error_responses(400, 403, 404, 409, 503, 507)}})
    @guarded
    async def remove(request: Request) -> Any:
        writable()
        article_id = request.path_params["article_id"]
        collection = request.query_params.get("collection") or ""
        await run_in_threadpool(service.remove, article_id, collection)
        return {"removed": article_id, "collection": collection or service.initial}

    @router.get("/health", summary="Whether the server is ready", openapi_extra={
        "responses": {"200": _ok("status, model_ready, collections, articles (of the first collection)."),
                      **error_responses()}})
    @guarded
    async def health(request: Request) -> Any:
        return await run_in_threadpool(service.health)

    return router


def _answer_events(events: Iterator[Any], service: CollectionService) -> Iterator[str]:
    """The answer as Server-Sent Events: ``delta``s, then ``answer`` (or ``error``)."""
    try:
        for event in events:
            if event.answer is not None:
                yield _sse("answer", api_answer(event.answer))
            elif event.delta:
                yield _sse("delta", {"text": event.delta})
    except AssistantError as e:
        yield _sse("error", {"error": {"type": type(e).__name__, "message": service.public_message(e),
                                       "status": http_status(e)}})
    except Exception:
        log.exception("streaming an answer failed")
        yield _sse("error", {"error": {"type": "InternalError", "message": INTERNAL, "status": 500}})
