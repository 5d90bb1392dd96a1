"""Issue 22's table: every dev set no training touched, two or more configurations side by side, one run.

Per set and configuration, ``assistant eval`` (hybrid retriever, extractive answers) with ``--unanswerable N``
(questions asked of an index without their articles: "withheld") and ``--on-topic N`` (questions asked of
an index without their own paragraph but with the rest of their article), and for xquad-dev.en-ar the
English gold of xquad-dev.en (``--gold-from``). Columns: first-citation hit@1 after abstention (an
abstention is a miss), retrieval hit@1 / hit@5, wrongly abstained (answerable questions refused),
withheld answered, on-topic answered, short-answer EM / F1 (and F1 against the English gold for en-ar),
``Assistant.ask`` p50 / p95 warm. Then each configuration against the first (old → new): differences of the
rates, ratios of the latencies.

Configurations, in this order:

- **old**: the ``assistant`` package of another checkout. ``--baseline-ref REF`` (default ``main``) makes a
  ``git worktree`` of REF in a temporary folder for the run and removes it after; ``--baseline DIR`` names
  a checkout; ``--baseline-json FILE`` takes the "new" column of an earlier ``--out`` as old; ``--no-baseline``
  leaves it out. It runs in a subprocess with that checkout's package and this script
  (:func:`bench.common.in_other_tree` with ``package_only``), so old and new are measured the same way,
  with that checkout's default settings (and the environment's). A figure its evaluator cannot give
  (on-topic questions, before ``--on-topic`` existed) prints as "–".
- **new**: this checkout, its default settings.
- each ``--variant NAME=SECTION.FIELD=VALUE[,SECTION.FIELD=VALUE...]``: this checkout with those settings
  changed (``Settings.replace``; VALUE is read as JSON when it parses, else as a string; no commas inside
  a value), e.g. ``--variant rerank-off=retrieval.rerank=false``. A variant that changes the embedding
  model gets its own embedder; one that changes how sentences are cut would re-index the shared eval
  indexes, so do not.

Latency is warm: before each set a pass over its first ``--warmup`` questions loads the models and
graphs, and the first question of the measured pass (which computes the index's abstention nulls) is
left out. Every configuration uses the same indexes (``indexes/eval-<set>-<model tag>``, made by
:func:`bench.common.set_index` from the vectors of the other sets' indexes, and its ``-holdout`` /
``-ontopic`` siblings, built from its cached vectors): only the first run of a set embeds, and only what
no other set's index holds.

Never on tydiqa-goldp-ar-dev: it trained the LoRA adapter and the span reader and calibrated abstention,
and issue 22 trains the reader on it (``--sets`` refuses it).

Usage: python -m bench.reader_table [--baseline-ref main] [--sets ...] [--limit N] [--unanswerable 100]
       [--on-topic 100] [--variant NAME=KEY=VALUE,...] [--out runs/reader-table.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import (
    HELD_OUT,
    PAIR,
    PARALLEL_GOLD,
    ROOT,
    TUNING_SET,
    arguments,
    in_other_tree,
    load_set,
    set_file,
    set_index,
    shared_data,
    worktree,
    write_result,
)

Variant = tuple[str, dict[str, Any]]

COLUMNS = (  # (heading, key, kind): "rate" differences, "ms" ratios
    ("first-citation hit@1", "first_hit", "rate"),
    ("retrieval hit@1", "hit1", "rate"),
    ("retrieval hit@5", "hit5", "rate"),
    ("wrongly abstained", "wrongly_abstained", "rate"),
    ("withheld answered", "withheld_answered", "rate"),
    ("on-topic answered", "on_topic_answered", "rate"),
    ("short EM", "short_em", "rate"),
    ("short F1", "short_f1", "rate"),
    ("short F1 (English gold)", "short_f1_en", "rate"),
    ("ask p50 ms", "ask_p50", "ms"),
    ("ask p95 ms", "ask_p95", "ms"),
)


def parse_variant(spec: str) -> Variant:
    """``NAME=SECTION.FIELD=VALUE[,SECTION.FIELD=VALUE...]`` → (NAME, changes for ``Settings.replace``)."""
    name, sep, rest = spec.partition("=")
    name = name.strip()
    if not sep or not name or not rest:
        raise argparse.ArgumentTypeError(f"{spec!r}: give NAME=SECTION.FIELD=VALUE[,...], e.g. "
                                         "rerank-off=retrieval.rerank=false")
    if name in ("old", "new"):
        raise argparse.ArgumentTypeError(f"{spec!r}: 'old' and 'new' name the baseline and this checkout")
    changes: dict[str, Any] = {}
    for item in rest.split(","):
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise argparse.ArgumentTypeError(f"{spec!r}: {item!r} is not KEY=VALUE")
        try:
            value = json.loads(raw)
        except ValueError:
            value = raw
        section, dot, field = key.partition(".")
        if dot:
            changes.setdefault(section, {})[field] = value
        else:
            changes[key] = value
    return name, changes


def _embedder(settings: Any) -> Any:  # noqa: ANN401 - the checkout's own Embedder
    """The embedder ``Assistant.open`` builds from ``settings`` in this process's ``assistant`` package
    (public API only, so it runs on older checkouts too)."""
    from assistant import Assistant

    with tempfile.TemporaryDirectory() as tmp, Assistant.open(Path(tmp) / "empty", settings=settings) as a:
        return a.embedder


def figures(run: Any, gold_from: bool) -> dict[str, Any]:  # noqa: ANN401 - the checkout's EvalRun
    """The table's cells of one evaluation run (a metric an older evaluator lacks is None)."""
    from assistant.evaluation.metrics import percentile

    m = run.metrics["all"]
    rank = list(m.rank_hits or [])
    wrong = getattr(m, "wrongly_abstained", None)
    lat = [r.latency_s for r in run.results if r.kind == "answerable"][1:]  # the first computes the nulls
    return {
        "n": m.n, "n_withheld": m.n_unanswerable, "n_on_topic": getattr(m, "n_on_topic", None),
        "first_hit": m.first_hit, "hit1": rank[0] if rank else None, "hit5": rank[4] if len(rank) > 4 else None,
        "wrongly_abstained": m.abstained if wrong is None else wrong,
        "withheld_answered": m.unanswerable_answered, "on_topic_answered": getattr(m, "on_topic_answered", None),
        "short_em": getattr(m, "short_em", None), "short_f1": getattr(m, "short_f1", None),
        "short_f1_en": getattr(m, "short_f1_other", None) if gold_from else None,
        "ask_p50": percentile(lat, 50), "ask_p95": percentile(lat, 95), "n_timed": len(lat),
        "short_producer": run.config.get("short_producer"), "seconds": run.config.get("seconds"),
    }


def measure(data: Path, sets: list[str], variants: list[Variant], *, limit: int | None, unanswerable: int,
            on_topic: int, seed: int, warmup: int, label: str = "new") -> tuple[Any, dict[str, Any]]:
    """Every configuration of this process's ``assistant`` package: the default settings (named "new"; the
    progress lines call it ``label``) and each variant. Returns (default settings, figures)."""
    import inspect

    from assistant import Settings
    from assistant.evaluation.run import run_evaluation

    can = inspect.signature(run_evaluation).parameters
    base = Settings()
    base_embedder = _embedder(base)
    out: dict[str, Any] = {}
    for name, changes in [("new", {}), *variants]:
        settings = base.replace(**changes) if changes else base
        embedder = base_embedder if settings.embedding == base.embedding else _embedder(settings)
        conf: dict[str, Any] = {"model": embedder.vector_id, "changes": changes, "sets": {},
                                "on_topic_supported": "on_topic" in can}
        for set_name in sets:
            t0 = time.perf_counter()
            gold = set_file(data, PARALLEL_GOLD[set_name]) if set_name in PARALLEL_GOLD else None
            kwargs: dict[str, Any] = {"settings": settings, "embedder": embedder, "seed": seed}
            if gold is not None:
                kwargs["gold_from"] = gold
            # a first run builds the set's index from the vectors its siblings hold (xquad-dev.ar's from
            # xquad-dev.en-ar's): the model embeds only what no index of the set's model has
            set_index(settings, embedder, set_name, load_set(data, set_name, settings)).close()
            if warmup:  # loads the models and the reader's graph
                run_evaluation(set_file(data, set_name), limit=warmup, **kwargs)
            if "on_topic" in can:
                kwargs["on_topic"] = on_topic
            run = run_evaluation(set_file(data, set_name), limit=limit, unanswerable=unanswerable, **kwargs)
            conf["sets"][set_name] = figures(run, gold is not None)
            shown = label if name == "new" else name
            print(f"  {shown} {set_name}: {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
        out[name] = conf
    return base, out


def _cell(x: float | None, kind: str) -> str:
    if x is None:
        return "–"
    return f"{x * 1000:.0f}" if kind == "ms" else f"{x:.3f}"


def _delta(old: float | None, new: float | None, kind: str) -> str:
    if old is None or new is None:
        return "–"
    if kind == "ms":
        return f"×{new / old:.2f}" if old > 0 else "–"
    return f"{new - old:+.3f}"


def table(configs: dict[str, Any], order: list[str], sets: list[str]) -> str:
    """The Markdown table (a row per set and configuration), then each configuration against the first."""
    def sizes(m: dict[str, Any]) -> str:
        topic = m.get("n_on_topic")
        return f"{m['n']} / {m['n_withheld']} / {'–' if topic is None else topic}"

    head = "| set | pair | config | n (answerable / withheld / on-topic) | " + " | ".join(h for h, _, _ in COLUMNS) + " |"
    rule = "|---|---|---|---:|" + "---:|" * len(COLUMNS)
    lines = [", ".join(f"{n}: {configs[n].get('label') or configs[n]['model']}" for n in order), "", head, rule]
    for s in sets:
        for name in order:
            m = configs[name]["sets"].get(s)
            if m is not None:
                cells = [_cell(m.get(k), kind) for _, k, kind in COLUMNS]
                lines.append(f"| {s} | {PAIR.get(s, '')} | {name} | {sizes(m)} | " + " | ".join(cells) + " |")
    if len(order) > 1:
        first = order[0]
        lines += ["", f"Against {first}: rates new − {first}, latencies new / {first}.", "",
                  "| set | " + first + " → | " + " | ".join(h for h, _, _ in COLUMNS) + " |",
                  "|---|---|" + "---:|" * len(COLUMNS)]
        for s in sets:
            o = configs[first]["sets"].get(s)
            for name in order[1:]:
                m = configs[name]["sets"].get(s)
                if o is not None and m is not None:
                    cells = [_delta(o.get(k), m.get(k), kind) for _, k, kind in COLUMNS]
                    lines.append(f"| {s} | {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = arguments(__doc__, sets=HELD_OUT, out=Path("runs") / "reader-table.json")
    ap.add_argument("--limit", type=int, default=None, metavar="N", help="only the first N questions of each set")
    ap.add_argument("--unanswerable", type=int, default=100, metavar="N", help="withheld questions per set")
    ap.add_argument("--on-topic", type=int, default=100, metavar="N", help="on-topic unanswerable questions per set")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--warmup", type=int, default=3, metavar="N",
                    help="questions asked before each measured pass (not timed)")
    ap.add_argument("--variant", type=parse_variant, action="append", default=[], metavar="NAME=KEY=VALUE,...",
                    help="this checkout with settings changed, e.g. rerank-off=retrieval.rerank=false (repeatable)")
    old = ap.add_mutually_exclusive_group()
    old.add_argument("--baseline-ref", default="main", metavar="REF",
                     help="the old column: the code of this git ref, in a temporary worktree (default: main)")
    old.add_argument("--baseline", type=Path, default=None, metavar="DIR", help="the old column: this checkout's code")
    old.add_argument("--baseline-json", type=Path, default=None, metavar="FILE",
                     help="the old column: the new one of an earlier --out")
    old.add_argument("--no-baseline", action="store_true", help="no old column: this checkout (and variants) only")
    ap.add_argument("--measure-only", action="store_true", help=argparse.SUPPRESS)  # the baseline's subprocess
    args = ap.parse_args(argv)
    if TUNING_SET in args.sets:
        ap.error(f"{TUNING_SET} trained the adapter and the span reader and calibrated abstention: no figure on it "
                 f"here (the sets: {' '.join(HELD_OUT)})")
    names = [n for n, _ in args.variant]
    if len(set(names)) != len(names):
        ap.error("two --variant with the same name")
    data = shared_data(args.data, args.sets)
    sizes = {"limit": args.limit, "unanswerable": args.unanswerable, "on_topic": args.on_topic, "seed": args.seed,
             "warmup": args.warmup}
    if args.measure_only:
        settings, figs = measure(data, args.sets, [], **sizes, label="old")
        write_result(args.out, settings, args, figs["new"])
        return 0

    from assistant import Settings

    for name, changes in args.variant:  # a bad key fails now, not after the baseline's run
        try:
            Settings().replace(**changes)
        except Exception as e:  # noqa: BLE001 - pydantic's ValidationError, said plainly
            ap.error(f"--variant {name}: {e}")

    configs: dict[str, Any] = {}
    argv_old = ["--measure-only", "--data", str(data), "--sets", *args.sets,
                *[f"--{k.replace('_', '-')}={v}" for k, v in sizes.items() if v is not None]]
    # the same indexes folder, so the baseline reuses the eval indexes and their cached vectors
    env = {"ASSISTANT_INDEX_ROOT": os.environ.get("ASSISTANT_INDEX_ROOT", str(ROOT / "indexes"))}
    if args.baseline_json:
        saved = json.loads(args.baseline_json.read_text(encoding="utf-8"))
        res = saved["results"]
        configs["old"] = dict(res["configs"]["new"] if "configs" in res else res)  # its "this checkout" column
        configs["old"]["label"] = f"{configs['old']['model']} (from {args.baseline_json})"
    elif args.baseline:
        print(f"old: the code of {args.baseline}", file=sys.stderr, flush=True)
        configs["old"] = in_other_tree(args.baseline, "reader_table", argv_old, env=env, package_only=True)
        configs["old"]["label"] = f"{configs['old']['model']} (code of {args.baseline})"
    elif not args.no_baseline:
        with worktree(args.baseline_ref) as (tree, commit):
            print(f"old: {args.baseline_ref} ({commit[:10]}) in {tree}", file=sys.stderr, flush=True)
            configs["old"] = in_other_tree(tree, "reader_table", argv_old, env=env, package_only=True)
        configs["old"]["label"] = f"{configs['old']['model']} ({args.baseline_ref} {commit[:10]})"
        configs["old"]["commit"] = commit
    settings, mine = measure(data, args.sets, args.variant, **sizes)
    mine["new"]["label"] = f"{mine['new']['model']} (this checkout)"
    configs.update(mine)
    order = list(configs)
    print(table(configs, order, args.sets))
    write_result(args.out, settings, args, {"configs": configs, "order": order, "sets": args.sets, **sizes})
    return 0


if __name__ == "__main__":
    sys.exit(main())
