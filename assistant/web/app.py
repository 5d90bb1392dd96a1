"""The web chat: a thin Gradio adapter over :class:`~assistant.Assistant`. Serving it: :func:`serve`.

``python app.py`` or ``assistant serve`` → http://127.0.0.1:7860. The package, one module a job:

- :mod:`assistant.web.markup`, :mod:`~assistant.web.links`, :mod:`~assistant.web.answers`,
  :mod:`~assistant.web.articles`, :mod:`~assistant.web.conversation`: what the page shows, as pure functions
  (HTML, exports);
- :mod:`assistant.web.chat`: :class:`ChatApp`, the event handlers as plain methods, over the service every
  door calls (:class:`assistant.service.service.CollectionService`: collections, uploads, asking);
- :mod:`assistant.web.api`: the API doors beside the page: REST (:mod:`~assistant.web.rest`), the
  OpenAI-compatible chat (:mod:`~assistant.web.openai_chat`), MCP (:mod:`~assistant.web.mcp`), with the
  credentials of :mod:`~assistant.web.access`;
- :mod:`assistant.web.auth`: who may log in, and the loopback-only rule;
- :mod:`assistant.web.layout`: :func:`build_ui`, the Gradio page and its ``/ask`` ``/articles`` endpoints;
- this module: :func:`launch`, :func:`open_collection`, :func:`serve` (and the names above, for importers).

For other programs the page also serves two API endpoints (see ``docs/ui.md``)::

    from gradio_client import Client
    Client("http://127.0.0.1:7860/").predict("How many foreign troops are in Afghanistan?", api_name="/ask")

Exposure (SECURITY.md): the chat binds 127.0.0.1 unless told otherwise, and :func:`launch` refuses any
other interface without a login (``server.auth_user``/``auth_password`` or ``server.auth_file``).
Uploaded files are checked (type, ``server.max_upload_mb``), renamed to a safe name, and stored in the
collection's own ``uploads/`` folder before they are indexed. The Evaluate section (:meth:`ChatApp.evaluate`)
keeps its uploads and results under ``<index_root>/eval-runs/``; it is a page action, not an API endpoint.
Settings are the caller's: entry points (``app.py``, ``assistant serve``) build them once.
"""

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.assistant import Assistant
from assistant.models.embedding.protocol import Embedder
from assistant.samples import SAMPLE_INDEX, ensure_sample
from assistant.settings import Settings
from assistant.telemetry import quiet_telemetry
from assistant.web.auth import auth_file_warning, login_for
from assistant.web.layout import build_ui
from assistant.web.markup import CSS

if TYPE_CHECKING:
    import gradio as gr

__all__ = ["launch", "serve", "open_collection"]


def launch(demo: "gr.Blocks", settings: Settings, *, host: str | None = None, port: int | None = None,
           prevent_thread_lock: bool = False, quiet: bool = False) -> Any:
    """Serve the page (on ``settings.server.host:port`` unless given); never shared through Gradio's tunnel.

    Any interface but loopback needs a login: without accounts (see :func:`resolve_auth`) this raises
    ConfigError before anything listens. Accounts, when set, are required on loopback too. The API doors
    (assistant/web/api.py: REST ``/api/v1``, OpenAI-compatible ``/v1``, MCP ``/mcp``) are served beside the
    chat, taking the same accounts or an API key (assistant/web/access.py)."""
    host = host or settings.server.host
    accounts = login_for(host, settings.server)
    demo.queue(default_concurrency_limit=1)
    result = demo.launch(
        server_name=host,
        server_port=port or settings.server.port,
        auth=accounts or None,
        auth_message="Log in to the cited news assistant." if accounts else None,
        share=False,
        max_file_size=int(settings.server.max_upload_mb * 1_000_000),
        css=CSS,
        ssr_mode=False,
        mcp_server=False,
        pwa=False,
        enable_monitoring=False,
        show_error=False,
        footer_links=["api"],
        prevent_thread_lock=True,  # the REST API is added to the running server, then we wait (or return)
        quiet=quiet,
    )
    chat = getattr(demo, "chat_app", None)
    if chat is not None:  # the API doors: REST, OpenAI-compatible chat, MCP (assistant/web/api.py)
        from assistant.web.api import mount_api

        mount_api(demo.app, chat.service, accounts, host=host)
    if not prevent_thread_lock:
        demo.block_thread()
    return result


def open_collection(index: str | Path, settings: Settings, *, embedder: Embedder | None = None) -> Assistant:
    """Open the index to serve; the ``sample`` index is (re)filled from the bundled sample articles, and
    re-embedded when it was built with another model (it is derived data: nothing of the user's is lost)."""
    a = Assistant.open(index, settings=settings, embedder=embedder, rebuild=str(index) == SAMPLE_INDEX)
    if str(index) == SAMPLE_INDEX:
        rep = ensure_sample(a)
        if rep.added or rep.replaced:
            print(f"indexed {len(rep.added) + len(rep.replaced)} sample article(s) into {a.path}", file=sys.stderr)
    return a


def serve(index: str | Path = SAMPLE_INDEX, *, settings: Settings, host: str | None = None,
          port: int | None = None) -> int:
    """Open ``index`` and serve the chat over it until interrupted (what ``python app.py`` runs)."""
    quiet_telemetry()  # an entry point: gradio's and the models' telemetry off (importing sets nothing)
    host = host or settings.server.host
    accounts = login_for(host, settings.server)  # refuses here, before the model loads
    if accounts:
        print(f"login required: {len(accounts)} account(s) ({', '.join(u for u, _ in accounts)}); serving on "
              f"{host}", file=sys.stderr)
        if (warning := auth_file_warning(settings.server)) is not None:
            print(warning, file=sys.stderr)
    else:
        print(f"serving on {host} only (this machine); no login. To serve on a network, set server.auth_user and "
              "server.auth_password, or server.auth_file, and --host", file=sys.stderr)
    a = open_collection(index, settings)
    try:
        launch(build_ui(a), settings, host=host, port=port)
    finally:
        a.close()
    return 0
