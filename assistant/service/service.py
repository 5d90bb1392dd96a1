"""The one service every door calls: :class:`CollectionService`.

The chat page (assistant/web/chat.py), the REST API (web/rest.py), the OpenAI-compatible chat
(web/openai_chat.py) and the MCP tools (web/mcp.py) are thin adapters over it: they turn their protocol's
input into :class:`~assistant.service.options.AskOptions`, call one method, and turn the result (or the
:class:`~assistant.errors.AssistantError`) into their protocol's shape. What a door may do (ask, list,
read, upload, remove) is decided here once, so the doors cannot drift: removing an article drops its kept
upload whichever door asked. Messages that leave through a door name no server path
(:meth:`CollectionService.public_message`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from assistant.assistant import Assistant
from assistant.errors import ArticleNotFoundError, ConfigError
from assistant.ingest.fetching import is_url
from assistant.service.collections import Collections
from assistant.service.keys import keys_file
from assistant.service.options import AskOptions, Filters
from assistant.service.uploads import UPLOADS_DIR, drop_upload, store_uploads
from assistant.settings import Settings
from assistant.types import Answer, Article, ArticleInfo, IngestReport, Passage, Sentence, StreamEvent

__all__ = ["CollectionService", "article_record"]

Progress = Callable[[int, int, str], None]


def article_record(info: ArticleInfo) -> dict[str, Any]:
    """An article's record as a door shows it: ``ArticleInfo`` without the server-side ``path``."""
    return {k: v for k, v in info.to_dict().items() if k != "path"}


class CollectionService:
    """Collections, asking, articles, uploads and removal, for every door (see the module doc)."""

    def __init__(self, collections: Collections):
        self.collections = collections

    @classmethod
    def over(cls, initial: Assistant, index_root: Path | None = None) -> CollectionService:
        """The service over ``initial`` and the other index folders under ``index_root``."""
        return cls(Collections(initial, index_root))

    @property
    def settings(self) -> Settings:
        return self.collections.settings

    @property
    def initial(self) -> str:
        return self.collections.initial

    def names(self) -> list[str]:
        """Every collection, the one the server started with first."""
        return self.collections.names()

    def collection(self, name: str = "") -> Assistant:
        """The collection ``name`` (empty: the initial one); CollectionNotFoundError when there is none."""
        return self.collections.get(name or self.initial)

    # --- asking ---------------------------------------------------------------------------------------
    def ask(self, question: str, options: AskOptions | None = None) -> Answer:
        """The cited answer (see :meth:`Assistant.ask`)."""
        a, kwargs = self._asking(options)
        return a.ask(question, **kwargs)

    def ask_stream(self, question: str, options: AskOptions | None = None) -> Iterator[StreamEvent]:
        """Text deltas, then the final answer (see :meth:`Assistant.ask_stream`). Errors in the options
        (an unknown collection, a bad date) are raised before the first event."""
        a, kwargs = self._asking(options)
        return a.ask_stream(question, **kwargs)

    def _asking(self, options: AskOptions | None) -> tuple[Assistant, dict[str, Any]]:
        """The collection the options name and the facade's arguments for them (the filter built now,
        so a bad date is an error before anything is asked)."""
        o = options or AskOptions()
        return self.collection(o.collection), {"mode": o.mode or None, "max_citations": o.max_citations or None,
                                               "history": o.history, "where": o.to_filter()}

    def search(self, question: str, k: int = 10, *, collection: str = "", filters: Filters | None = None
               ) -> list[Passage]:
        """The ``k`` best sentences (hybrid retrieval), best first, with their scores and offsets."""
        where = (filters or Filters()).to_filter()
        return self.collection(collection).search(question, k, where=where)

    # --- articles -------------------------------------------------------------------------------------
    def articles(self, collection: str = "") -> list[ArticleInfo]:
        return self.collection(collection).articles()

    def article(self, article_id: str, collection: str = "") -> tuple[ArticleInfo, str]:
        """An article's record and full text (citation offsets point into it)."""
        return self.collection(collection).article(article_id)

    def sentences(self, article_id: str, collection: str = "") -> list[Sentence]:
        """An article's sentences in order, with their ids and offsets."""
        return self.collection(collection).sentences(article_id)

    def texts(self, article_ids: Sequence[str], collection: str = "") -> dict[str, str]:
        """The full texts of those articles still there (one removed meanwhile is left out)."""
        out: dict[str, str] = {}
        for aid in dict.fromkeys(article_ids):
            try:
                out[aid] = self.article(aid, collection)[1]
            except ArticleNotFoundError:
                pass
        return out

    # --- writing --------------------------------------------------------------------------------------
    def upload(self, paths: Sequence[str], collection: str = "", progress: Progress | None = None) -> IngestReport:
        """Check, keep and index uploaded files (the chat's upload, the REST API's and MCP's).

        Each file is checked (an extension of ``ingest.extensions``, at most ``server.max_upload_mb``),
        copied under a safe name (:func:`~assistant.service.uploads.safe_filename`) into
        ``<index folder>/uploads/`` and indexed from there; its article id is that name without extension.
        A file refused or unreadable is listed in ``failed`` with its reason (by name: server paths are not
        shown) and not kept. A served collection keeps no upload at all: the article's text is in the
        shared catalog, and a copy on one app server's disk would be missing on the others."""
        a = self.collection(collection)
        folder = a.path / UPLOADS_DIR
        saved, refused = self.store(paths, folder)
        report = a.add(saved, progress=progress) if saved else IngestReport()
        for dest in saved:
            if a.served or any(where == str(dest) for where, _ in report.failed):
                dest.unlink(missing_ok=True)  # nothing of it was indexed, or its text is in the shared catalog
        prefix = str(folder) + os.sep
        report.failed = refused + [(w[len(prefix):] if w.startswith(prefix) else w, why) for w, why in report.failed]
        return report

    def store(self, paths: Sequence[str], folder: Path, extensions: Sequence[str] | None = None
              ) -> tuple[list[Path], list[tuple[str, str]]]:
        """:func:`~assistant.service.uploads.store_uploads` with this server's limits; ``extensions``: the
        types taken (default ``ingest.extensions``)."""
        return store_uploads(paths, folder, extensions=extensions or self.settings.ingest.extensions,
                             max_bytes=self.settings.server.max_upload_mb * 1_000_000)

    def add_url(self, url: str, collection: str = "") -> IngestReport:
        """Fetch the web page at ``url`` into the collection (http(s) only; no private addresses unless
        ``ingest.allow_private_urls``)."""
        url = (url or "").strip()
        if not is_url(url):
            raise ConfigError(f"{url!r} is not a web page's address; give one starting with https:// or http://")
        a = self.collection(collection)
        return a.add(url)

    def add_article(self, article: Article, collection: str = "") -> IngestReport:
        """Index one article given as text (MCP's ``add_article``); the same cleaning and checks as files.
        Without an id it gets one from its text (``text-`` and 12 hex digits), so sending it twice stores
        it once."""
        if not article.id:
            article = dataclasses.replace(article, id="text-" + hashlib.sha256(article.text.encode("utf-8", "surrogatepass")).hexdigest()[:12])
        return self.collection(collection).add(article)

    def remove(self, article_id: str, collection: str = "") -> None:
        """Remove an article, and its uploaded file when no other article comes from it."""
        a = self.collection(collection)
        try:
            info = a.article(article_id)[0]
        except ArticleNotFoundError:
            raise ArticleNotFoundError(f"no article {article_id!r} in collection {a.path.name!r}; list the articles "
                                       "to see their ids") from None
        a.remove(article_id)
        drop_upload(a, info)

    # --- the server -----------------------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        first = self.collection()
        return {"status": "ok", "model_ready": bool(getattr(first, "ready", True)), "collections": self.names(),
                "articles": first.count()[0]}

    def public_message(self, e: BaseException, *extra_folders: Path) -> str:
        """``e``'s message as a door may show it (:meth:`hide_paths`)."""
        return self.hide_paths(str(e), *extra_folders)

    def hide_paths(self, message: str, *extra_folders: Path) -> str:
        """``message`` without server paths: the index root and the collections' folders (and
        ``extra_folders``) are cut out, so no server path leaves the server through a door."""
        open_paths = [(a.path, name) for name, a in self.collections.opened().items()]
        folders = [*((f, "") for f in extra_folders), *((p, f"collection {n!r}") for p, n in open_paths),
                   (Path(self.settings.index_root), ""), (self.collections.root, "")]
        for folder, name in folders:
            for form in dict.fromkeys([str(folder.resolve()), str(folder)]):  # the longer form first
                message = message.replace(form + os.sep, "").replace(form, name or "the server's index folder")
        # the server's other files: models, keys, logins, then anything under the home or temp folders
        server = self.settings.server
        others = [(self.settings.paths.models, "<models>"), (keys_file(self.settings), "<keys file>"),
                  *([(Path(server.auth_file), "<auth file>")] if server.auth_file else []),
                  (Path.home(), "~"), (Path(tempfile.gettempdir()), "<tmp>")]
        for folder, name in others:
            for form in dict.fromkeys([str(folder.resolve()), str(folder)]):
                if len(form) > 1:
                    message = message.replace(form, name)
        for address, name in self.settings.store.server_addresses().items():  # a served collection's servers
            message = message.replace(address, name)
        return message
