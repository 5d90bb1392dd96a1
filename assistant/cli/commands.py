"""The ``assistant`` command's sub-commands. Each takes the parsed arguments and the settings, built once
per command by :func:`command_settings` (the environment's, with the command's ``--llm-*`` and
``--auth-file`` flags)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from assistant.cli.output import ProgressBar, ask_streaming, print_report
from assistant.errors import AssistantError, IndexNotFoundError
from assistant.retrieve.filters import ArticleFilter
from assistant.samples import SAMPLE_INDEX, ensure_sample
from assistant.settings import Settings
from assistant.terminal import render

__all__ = ["command_settings"]


def command_settings(args: argparse.Namespace) -> Settings:
    """The settings of one command, built once: the environment's, with the command's flags."""
    settings = Settings()
    if getattr(args, "auth_file", None):
        settings = settings.replace(server={"auth_file": args.auth_file})
    if getattr(args, "read_only", False):
        settings = settings.replace(server={"allow_writes": False})
    llm = {k: v for k, v in (("provider", getattr(args, "llm_provider", None)), ("model", getattr(args, "llm_model", None)),
                             ("base_url", getattr(args, "llm_url", None))) if v}
    if not llm:
        return settings
    if "provider" not in llm and settings.llm.provider == "none":
        llm["provider"] = "openai" if "base_url" in llm else "ollama"
    return settings.replace(llm=llm)


def _open(args: argparse.Namespace, settings: Settings, *, rebuild: bool = False, existing: bool = False) -> Any:
    """The Assistant over ``args.index`` (imported here: the facade pulls in the models and stores). The
    sample collection is filled from the bundled sample first; with ``existing``, an index that is not
    there is an error instead of a new empty one."""
    from assistant.assistant import Assistant, resolve_index_path

    if existing and args.index != SAMPLE_INDEX:
        path = resolve_index_path(args.index, settings)
        served = settings.store.catalog_url and path.name in Assistant.served_collections(settings)
        if not path.is_dir() and not served:
            raise IndexNotFoundError(f"no index at {path}; add articles first with `assistant ingest PATH --index "
                                     f"{args.index}`, or name another with --index")
    a = Assistant.open(args.index, settings=settings, rebuild=rebuild)
    if args.index == SAMPLE_INDEX and args.command != "ingest":
        _ensure_sample(a)
    return a


def cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    with _open(args, settings) as a:
        bar = ProgressBar("indexing")
        try:
            rep = a.add(args.paths, progress=bar)
        finally:
            bar.close()
        return print_report(rep)


def _ensure_sample(a: Any) -> None:
    """Fill the sample index with the bundled sample articles (a no-op when they are unchanged)."""
    rep = ensure_sample(a)
    if rep.added or rep.replaced:
        print(f"indexed {len(rep.added) + len(rep.replaced)} sample article(s) into {a.path}", file=sys.stderr)


def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    with _open(args, settings) as a:
        where = ArticleFilter.of(article_ids=args.article or None, sources=args.source, date_from=args.date_from,
                                 date_to=args.date_to, languages=args.lang)
        kw = dict(max_citations=args.citations, retriever=args.retriever, mode=args.mode, where=where)
        if not args.json:
            ask_streaming(a, args.question, args.shape, **kw)
            return 0
        data = a.ask(args.question, **kw).to_dict()
        if not args.passages:
            data.pop("passages", None)
        print(json.dumps(data, ensure_ascii=False, indent=2))
        return 0


def cmd_chat(args: argparse.Namespace, settings: Settings) -> int:
    with _open(args, settings) as a:
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
                ask_streaming(a, q, args.shape, max_citations=args.citations, history=history, mode=args.mode)
            except AssistantError as e:
                print(f"error: {e}", file=sys.stderr)
                continue
            history.append(q)
            print()


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.web.app import serve

    return serve(args.index, host=args.host, port=args.port, settings=settings)


def cmd_mcp(args: argparse.Namespace, settings: Settings) -> int:
    """The MCP tools over stdio: stdout carries the protocol only (messages go to stderr)."""
    from assistant.service.service import CollectionService
    from assistant.web.app import open_collection
    from assistant.web.mcp import build_mcp

    a = open_collection(args.index, settings)
    try:
        build_mcp(CollectionService.over(a)).run("stdio")
    finally:
        a.close()
    return 0


def cmd_keys(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.service.keys import ApiKeys

    keys = ApiKeys.of(settings)
    if args.action == "create":
        key, token = keys.create(args.name)
        print(f"created key {key.name!r} in {keys.path}; it is shown once, keep it now:", file=sys.stderr)
        print(token)
    elif args.action == "revoke":
        key = keys.revoke(args.name)
        print(f"revoked key {key.name!r} ({key.prefix}…); a running server refuses it from its next request")
    elif args.json:
        print(json.dumps([k.to_dict() for k in keys.list()], ensure_ascii=False, indent=2))
    else:
        listed = keys.list()
        for k in listed:
            print(f"{k.name}\t{k.prefix}…\tcreated {k.created}\tlast used {k.last_used or 'never'}")
        if not listed:
            print(f"no API keys in {keys.path}; create one with `assistant keys create NAME`", file=sys.stderr)
    return 0


def cmd_articles(args: argparse.Namespace, settings: Settings) -> int:
    with _open(args, settings, existing=True) as a:
        infos = a.articles()
        if args.json:
            print(json.dumps([i.to_dict() for i in infos], ensure_ascii=False, indent=2))
        else:
            for i in infos:
                print(render(f"{i.id}\t{i.n_sentences} sentences\t{i.lang}\t{i.title or ''}", args.shape))
        return 0


def cmd_remove(args: argparse.Namespace, settings: Settings) -> int:
    with _open(args, settings, existing=True) as a:
        for aid in args.ids:
            a.remove(aid)
            print(f"removed {aid}")
        return 0


def cmd_rebuild(args: argparse.Namespace, settings: Settings) -> int:
    with _open(args, settings, rebuild=True, existing=True) as a:
        print(f"{a.path}: {len(a.articles())} article(s) indexed with {a.embedder.model_id}")
        return 0


def _prepare_runtime(settings: Settings) -> None:
    """Build what the default embedder and span reader run on (the OpenVINO graphs, traced once from the
    torch model), so that the first question does not wait for it."""
    from assistant.answer.short import build_short_answers
    from assistant.models.embedding.factory import build_embedder

    embedder = build_embedder(settings.embedding, settings.paths)
    build_short_answers(settings.answer, settings.llm, embedder, None)  # the span reader prepares its graph
    embedder.wait()
    print(f"{embedder.vector_id} is ready", file=sys.stderr)


def cmd_models(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.models.fetch import fetch_gemma, gemma_path

    path = gemma_path(settings.paths.models)
    if args.action == "fetch":
        print(fetch_gemma(Path(args.dest) if args.dest else path, force=args.force))
        if not args.dest:
            _prepare_runtime(settings)
    else:
        print(f"{path}\t{'present' if (path / 'modules.json').exists() else 'missing: run `assistant models fetch`'}")
    return 0


def cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.evaluation.compare import compare_runs
    from assistant.evaluation.results import load_run

    if args.compare:
        a, b = args.compare
        print(compare_runs(load_run(a), load_run(b), a, b).render())
        return 0
    if not args.questions or not args.out:
        print("error: give QUESTIONS and --out DIR (or --compare A/results.json B/results.json)", file=sys.stderr)
        return 2
    from assistant.evaluation.report import render_report
    from assistant.evaluation.run import run_evaluation

    bar = ProgressBar(unit="art")
    try:
        run = run_evaluation(
            args.questions, articles=args.articles, index=args.index, mode=args.mode, retriever=args.retriever,
            unanswerable=args.unanswerable, on_topic=args.on_topic, limit=args.limit, max_articles=args.max_articles,
            max_citations=args.citations, seed=args.seed, gold_from=args.gold_from, progress=bar, settings=settings,
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
          f"MRR@10 {f(m.mrr_at_10)}, citation precision {f(m.citation_precision)}, "
          f"wrongly abstained {f(m.wrongly_abstained)}"
          + (f", unanswerable wrongly answered {f(m.unanswerable_answered)}, trade-off {f(m.tradeoff)}"
             if m.n_unanswerable else "")
          + (f", on-topic answered {f(m.on_topic_answered)} (n={m.n_on_topic})" if m.n_on_topic else ""))
    print(f"short answers ({run.config['short_producer'] or 'none'}): coverage {f(m.short_coverage)}, "
          f"EM {f(m.short_em)}, F1 {f(m.short_f1)} (whole answer: EM {f(m.em)}, F1 {f(m.f1)})"
          + (f", F1 against {run.config['gold_from']} {f(m.short_f1_other)}" if run.config.get("gold_from") else ""))
    print(f"wrote {report.path}, {results}" + "".join(f", {p}" for p in report.plots))
    return 0


