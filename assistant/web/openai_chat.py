"""The OpenAI-compatible chat (``/v1``), for chat front ends and SDKs that speak OpenAI's protocol (Open
WebUI, LibreChat, the ``openai`` client); a thin adapter over
:class:`~assistant.service.service.CollectionService`:

- ``GET /v1/models``: one model per collection, named ``cited/<collection>``; ``GET /v1/models/{model}``;
- ``POST /v1/chat/completions``: the last user message is the question, the earlier user messages its
  history (follow-ups work); ``stream`` as in OpenAI's protocol (``chat.completion.chunk`` events, then
  ``[DONE]``). ``temperature`` and other fields we do not use are ignored. The request may carry our
  options as extra fields (``extra_body`` in the ``openai`` client): ``article_ids``, ``sources``,
  ``date_from``, ``date_to``, ``languages``, ``mode``, ``max_citations``
  (:class:`~assistant.service.options.AskOptions`).

The reply's ``content`` is the answer with ``[n]`` markers, followed by its sources, one line each (``[n]
title: the cited sentence``). The structured answer is in the extra field ``cited`` of the message (and of
the last stream chunk): ``Answer.to_dict()`` without the passages, i.e. ``text``, ``abstained``,
``citations`` (``n``, ``article_id``, ``sentence_id``, ``start``, ``end``, ``text``, ``title``, ...;
``article_text[start:end] == text``) and ``short`` (the short answer). Streamed, the content deltas are
the answer as it was written; in the generative mode the checked answer (``cited.text``, what the
sources block numbers) may drop a sentence the check refused: ``cited`` is the answer of record. Errors
have OpenAI's shape:
``{"error": {"message", "type", "param", "code"}}``. Credentials: assistant/web/access.py (the
``openai`` client's ``api_key`` is sent as a Bearer key).
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Iterator
from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, field_validator
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from assistant.errors import AssistantError, CollectionNotFoundError
from assistant.service.options import AnswerOptions, AskOptions
from assistant.service.service import CollectionService
from assistant.types import Answer
from assistant.web.access import INTERNAL, Access, guard, read_body
from assistant.web.conversation import api_answer
from assistant.web.rest import MAX_QUESTION_BYTES, error_responses, path_param, streamed_operation

__all__ = ["openai_router", "ChatRequest", "MODEL_PREFIX", "sources_text"]

log = logging.getLogger(__name__)

MODEL_PREFIX = "cited/"
_TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
          404: "invalid_request_error", 413: "invalid_request_error", 409: "conflict_error"}
_ERROR_SCHEMA = {"type": "object", "required": ["error"], "properties": {"error": {
    "type": "object", "required": ["message", "type"], "properties": {
        "message": {"type": "string"}, "type": {"type": "string"}, "param": {"type": ["string", "null"]},
        "code": {"type": ["string", "null"]}}}}}


def openai_error(status: int, kind: str, message: str, param: str | None = None) -> Response:
    """An error in OpenAI's shape; ``code`` is our error's type (``DateError``, ``Unauthorized``...)."""
    return JSONResponse({"error": {"message": message, "type": _TYPES.get(status, "server_error"), "param": param,
                                   "code": kind}}, status_code=status)


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")

    role: Literal["system", "developer", "user", "assistant", "tool", "function"] = Field(
        ..., description="Only user messages are read: the last is the question, the earlier ones its history.")
    content: str | list[dict[str, Any]] | None = Field(None, description="Text, or a list of parts of type text.")

    def text(self) -> str:
        if isinstance(self.content, list):
            return " ".join(str(p.get("text", "")) for p in self.content if p.get("type") == "text")
        return self.content or ""


class ChatRequest(AnswerOptions):
    """The body of ``POST /v1/chat/completions``: OpenAI's fields we read, and our options as extra fields
    (the collection is the model's; ``history`` goes before the conversation's earlier questions)."""

    model_config = ConfigDict(extra="ignore")

    model: str = Field(..., description="cited/<collection> (see GET /v1/models).")
    messages: list[ChatMessage] = Field(
        ..., min_length=1, description="The conversation, holding at least one user message: the last one is the "
        "question (an empty one is answered with an abstention, as an empty question is).",
        json_schema_extra={"contains": {"type": "object", "properties": {"role": {"const": "user"}}, "required": ["role"]}})

    @field_validator("messages")
    @classmethod
    def _has_a_question(cls, messages: list[ChatMessage]) -> list[ChatMessage]:
        if not any(m.role == "user" for m in messages):
            raise ValueError("the conversation holds no user message: the last user message is the question")
        return messages
    stream: bool = Field(False, description="Server-Sent Events of chat.completion.chunk objects, then [DONE].")


def _model_id(name: str) -> str:
    return MODEL_PREFIX + name


def _model(name: str) -> dict[str, Any]:
    return {"id": _model_id(name), "object": "model", "created": 0, "owned_by": "cited-assistant"}


def sources_text(answer: Answer) -> str:
    """The sources block after the answer in ``content``: ``[n] title: sentence``, one line each."""
    lines = [f"[{c.n}] {c.title + ': ' if c.title else ''}{c.text}" for c in answer.citations]
    return ("\n\n" + "\n".join(lines)) if lines else ""


def openai_router(service: CollectionService, access: Access) -> APIRouter:
    """The ``/v1`` routes (see the module doc)."""
    guarded = guard(access, service, openai_error)
    router = APIRouter(prefix="/v1")

    def collection_of(model: str) -> str:
        name = model[len(MODEL_PREFIX):] if model.startswith(MODEL_PREFIX) else model
        if name not in service.names():
            raise CollectionNotFoundError(f"the model {model!r} does not exist; the models are "
                                          f"{', '.join(_model_id(n) for n in service.names())}")
        return name

    @router.get("/models", summary="OpenAI: the models (one per collection)", openapi_extra={
        "responses": {"200": {"description": "{object: list, data: [{id, object, created, owned_by}]}",
                              "content": {"application/json": {"schema": {"type": "object"}}}},
                      **error_responses(schema=_ERROR_SCHEMA)}})
    @guarded
    async def models(request: Request) -> Any:
        return {"object": "list", "data": [_model(n) for n in await run_in_threadpool(service.names)]}

    @router.get("/models/{model:text}", summary="OpenAI: one model", openapi_extra={
        "parameters": [path_param("model", "cited/<collection>")],
        "responses": {"200": {"description": "{id, object, created, owned_by}",
                              "content": {"application/json": {"schema": {"type": "object"}}}},
                      **error_responses(404, schema=_ERROR_SCHEMA)}})
    @guarded
    async def model(request: Request) -> Any:
        return _model(collection_of(request.path_params["model"]))

    @router.post("/chat/completions", summary="OpenAI: a cited answer to the last user message",
                 openapi_extra=streamed_operation(
                     ChatRequest, "A chat.completion (message.cited: the structured answer); with stream, Server-Sent "
                     "Events of chat.completion.chunk, then [DONE].", 400, 404, 409, 413, 503, schema=_ERROR_SCHEMA))
    @guarded
    async def completions(request: Request) -> Any:
        req = await read_body(request, ChatRequest, MAX_QUESTION_BYTES)
        users = [m.text() for m in req.messages if m.role == "user"]
        answer_options = req.model_dump(include=set(AnswerOptions.model_fields))
        options = AskOptions.model_validate({**answer_options, "collection": collection_of(req.model),
                                             "history": [*req.history, *users[:-1]]})
        reply_id, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
        if req.stream:
            events = await run_in_threadpool(service.ask_stream, users[-1], options)  # bad options: an error now
            return StreamingResponse(_chunks(events, service, reply_id, created, req.model),
                                     media_type="text/event-stream", headers={"Cache-Control": "no-store"})
        answer = await run_in_threadpool(service.ask, users[-1], options)
        message = {"role": "assistant", "content": answer.text + sources_text(answer), "cited": api_answer(answer)}
        return {"id": reply_id, "object": "chat.completion", "created": created, "model": req.model,
                "choices": [{"index": 0, "message": message, "finish_reason": "stop", "logprobs": None}]}

    return router


def _chunks(events: Iterator[Any], service: CollectionService, reply_id: str, created: int, model: str) -> Iterator[str]:
    """The answer as OpenAI's stream: a role chunk, content deltas, the sources, a last chunk carrying
    ``cited`` (and ``finish_reason``), then ``[DONE]``. An error after the start is one chunk holding
    ``error`` (what OpenAI's servers send), then ``[DONE]``."""

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
        data = {"id": reply_id, "object": "chat.completion.chunk", "created": created, "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}], **extra}
        return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"

    yield chunk({"role": "assistant", "content": ""})
    sent = ""
    try:
        for event in events:
            if event.answer is not None:  # the sources after what was sent, one blank line between
                yield chunk({"content": sources_text(event.answer)[1 if sent.endswith("\n") else 0:]})
                yield chunk({}, "stop", cited=api_answer(event.answer))
            elif event.delta:
                sent = event.delta
                yield chunk({"content": event.delta})
    except AssistantError as e:
        yield f"data: {json.dumps({'error': {'message': service.public_message(e), 'type': 'server_error', 'param': None, 'code': type(e).__name__}}, ensure_ascii=False)}\n\n"
    except Exception:
        log.exception("streaming a chat completion failed")
        yield f"data: {json.dumps({'error': {'message': INTERNAL, 'type': 'server_error', 'param': None, 'code': 'InternalError'}})}\n\n"
    yield "data: [DONE]\n\n"
