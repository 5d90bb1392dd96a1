"""The Model Context Protocol door, for agents and desktop assistants: :func:`build_mcp` makes the tools
over :class:`~assistant.service.service.CollectionService`; ``assistant mcp`` serves them over stdio
(assistant/cli/commands.py), and the chat's server at ``/mcp`` over streamable HTTP (:func:`mcp_http`,
stateless: any app server can answer any request; credentials as the other doors, assistant/web/access.py).

Tools (each returns structured content; a failure is a tool error whose message names no server path):

- ``search(query, collection, k, filters)``: the best sentences, with scores and exact offsets;
- ``ask(question, collection, max_citations, history, filters)``: the cited answer (``Answer.to_dict()``
  without the passages: text with ``[n]`` markers, citations with offsets, the short answer);
- ``list_articles(collection)``: the articles' records;
- ``get_article(article_id, collection, first_sentence, last_sentence)``: an article's record, its text
  (or a range of its sentences) and its sentences with ids and offsets;
- ``add_article(text, title, source, date, lang, article_id, collection)``: only when the server allows
  writes (``server.allow_writes``).
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
from collections.abc import Callable
from typing import Any

import anyio.to_thread
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.transport_security import TransportSecuritySettings
from starlette.types import Receive, Scope, Send

from assistant.errors import AssistantError
from assistant.service.options import AskOptions, Filters
from assistant.service.service import CollectionService, article_record
from assistant.types import Article
from assistant.web.access import CHALLENGE, INTERNAL, Access
from assistant.web.auth import is_loopback
from assistant.web.conversation import api_answer

__all__ = ["build_mcp", "mcp_http", "MCP_PATH"]

log = logging.getLogger(__name__)

MCP_PATH = "/mcp"
INSTRUCTIONS = ("Answers questions about a collection of Arabic and English news articles, citing the exact "
                "sentences (article id, sentence id, character offsets). Use `ask` for a cited answer, `search` "
                "for the sentences alone, `get_article` to read around a citation.")


def build_mcp(service: CollectionService, *, allow_writes: bool | None = None) -> MCPServer:
    """The MCP server's tools over ``service``; ``add_article`` only when writes are allowed
    (default: ``server.allow_writes``)."""
    writes = service.settings.server.allow_writes if allow_writes is None else allow_writes
    mcp = MCPServer(name="cited-assistant", instructions=INSTRUCTIONS)

    def tool(description: str) -> Callable[[Callable[..., dict[str, Any]]], Callable[..., dict[str, Any]]]:
        """Register a tool; our errors become tool errors (their type and message without server paths)."""

        def register(fn: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
            @functools.wraps(fn)
            def call(*args: Any, **kwargs: Any) -> dict[str, Any]:
                try:
                    return fn(*args, **kwargs)
                except AssistantError as e:
                    raise ToolError(f"{type(e).__name__}: {service.public_message(e)}") from e

            mcp.add_tool(call, description=description)
            return call

        return register

    @tool("The sentences of the collection that best match a query (hybrid dense + BM25 retrieval), best "
          "first, each with its score, article, sentence id and offsets.")
    def search(query: str, collection: str = "", k: int = 8, filters: Filters | None = None) -> dict[str, Any]:
        found = service.search(query, max(1, min(int(k), 50)), collection=collection, filters=filters)
        return {"passages": [{"article_id": p.sentence.article_id, "sentence_id": p.sentence.id,
                              "text": p.sentence.text, "start": p.sentence.start, "end": p.sentence.end,
                              "score": p.score} for p in found]}

    @tool("A cited answer, in the question's language (Arabic or English): text with [n] markers, the citations "
          "(article id, sentence id, start and end offsets into the article text, the sentence) and a short answer; "
          "abstained when the articles do not say.")
    def ask(question: str, collection: str = "", max_citations: int = 0, history: list[str] | None = None,
            filters: Filters | None = None, mode: str = "") -> dict[str, Any]:
        options = AskOptions.of(collection=collection, max_citations=max_citations, mode=mode,
                                history=list(history or []), **(filters or Filters()).model_dump())
        return api_answer(service.ask(question, options))

    @tool("The articles of a collection: id, title, source, date, language, sentence count.")
    def list_articles(collection: str = "") -> dict[str, Any]:
        return {"collection": collection or service.initial,
                "articles": [article_record(i) for i in service.articles(collection)]}

    @tool("One article: its record, its text and its sentences (id, start, end, text). first_sentence/last_sentence "
          "(0-based, inclusive) give a range of sentences: then text is that range, and start/end its offsets in "
          "the article text.")
    def get_article(article_id: str, collection: str = "", first_sentence: int = 0,
                    last_sentence: int | None = None) -> dict[str, Any]:
        if first_sentence < 0 or (last_sentence is not None and last_sentence < first_sentence):
            raise ToolError("first_sentence must be 0 or more and last_sentence at least first_sentence")
        info, text = service.article(article_id, collection)
        sentences = service.sentences(article_id, collection)
        last = len(sentences) - 1 if last_sentence is None else min(last_sentence, len(sentences) - 1)
        chosen = sentences[max(0, first_sentence): last + 1]
        start, end = (chosen[0].start, chosen[-1].end) if chosen else (0, 0)
        whole = first_sentence <= 0 and last_sentence is None
        return {"article": article_record(info), "text": text if whole else text[start:end],
                "start": 0 if whole else start, "end": len(text) if whole else end, "n_sentences": len(sentences),
                "sentences": [{"n": s.index, "id": s.id, "start": s.start, "end": s.end, "text": s.text}
                              for s in chosen]}

    if writes:
        @tool("Add one article (plain text) to the collection; the same cleaning and checks as files. Returns the "
              "ingest report (added, replaced, unchanged, failed).")
        def add_article(text: str, title: str = "", source: str = "", date: str = "", lang: str = "",
                        article_id: str = "", collection: str = "") -> dict[str, Any]:
            article = Article(id=article_id, text=text, title=title or None, source=source or None,
                              date=date or None, lang=lang or None)
            return service.add_article(article, collection).to_dict()

    return mcp


class McpEndpoint:
    """The streamable HTTP transport of an MCP server as one ASGI app, behind ``access`` (see
    :func:`mcp_http`)."""

    def __init__(self, mcp: MCPServer, access: Access, *, host: str):
        loopback = is_loopback(host)
        security = TransportSecuritySettings(
            enable_dns_rebinding_protection=loopback,
            allowed_hosts=["127.0.0.1:*", "localhost:*", "[::1]:*"] if loopback else [],
            allowed_origins=["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"] if loopback else [])
        mcp.streamable_http_app(streamable_http_path=MCP_PATH, stateless_http=True, transport_security=security,
                                host=host)
        self.manager = mcp.session_manager
        self.access = access
        self._started: asyncio.Future[None] | None = None
        self._running: list[asyncio.Task[None]] = []  # held, so the manager's task is not collected

    async def _run_manager(self, ready: asyncio.Future[None]) -> None:
        try:
            async with self.manager.run():
                if not ready.done():
                    ready.set_result(None)
                await asyncio.Event().wait()  # until the server's loop ends
        except BaseException as e:  # a manager that could not start: the requests waiting get the error
            if not ready.done():
                ready.set_exception(e if isinstance(e, Exception) else RuntimeError("the MCP transport stopped"))
            raise

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        try:
            refused = await anyio.to_thread.run_sync(self.access.refusal, headers)
        except AssistantError as e:
            log.error("checking an MCP request's credentials failed: %s", e)
            refused = (500, "InternalError", INTERNAL)
        if refused is not None:
            status, _, message = refused
            body = json.dumps({"jsonrpc": "2.0", "id": None, "error": {"code": -32001, "message": message}})
            extra = [(b"www-authenticate", CHALLENGE.encode())] if status == 401 else []
            await send({"type": "http.response.start", "status": status,
                        "headers": [(b"content-type", b"application/json"), *extra]})
            await send({"type": "http.response.body", "body": body.encode()})
            return
        if self._started is None:
            loop = asyncio.get_running_loop()
            self._started = loop.create_future()
            self._running.append(loop.create_task(self._run_manager(self._started)))
        await asyncio.shield(self._started)  # a request cancelled while waiting does not cancel the start
        await self.manager.handle_request(scope, receive, send)


def mcp_http(mcp: MCPServer, access: Access, *, host: str) -> McpEndpoint:
    """The streamable HTTP transport of ``mcp`` as one ASGI endpoint, behind ``access``. Stateless (no
    session pins a client to one server). Its session manager is started on the server's own event loop
    at the first request (the chat's server is already running when the doors are added)."""
    return McpEndpoint(mcp, access, host=host)
