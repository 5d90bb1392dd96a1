"""Ranking and abstention on every dev set, this checkout beside another (the code before a change).

For each set: ``assistant eval`` (hybrid, extractive) with ``--unanswerable N`` questions asked of an index
without their articles (assistant/evaluation/qasets.py ``hold_out``), and the on-topic case: 40 questions
asked with their own paragraph filtered out and its siblings kept (only where sets have several
paragraphs per title: XQuAD, ARCD). Printed as one table: first-citation hit@1 after abstention,
retrieval hit@1 / hit@5, wrongly abstained, withheld answered, on-topic answered.

``--baseline DIR`` runs the same measurement with the code of another checkout (e.g. a ``git worktree``
of the commit before the change) in a subprocess (:func:`bench.common.in_other_tree`), with the same data
and indexes folder, and prints both side by side: "one run" for both columns. Its settings come from the
defaults of that checkout. ``--baseline-json FILE``: the old column from an earlier ``--out``.

Usage: python -m bench.ranking_table [--baseline ../old] [--sets ...] [--unanswerable 100] [--out out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

from bench.common import DEV_SETS, ROOT, TUNING_SET, arguments, in_other_tree, set_file, shared_data, write_result

TUNED = {TUNING_SET: "trained the LoRA adapter and calibrated abstention (ar→ar)"}


def on_topic(a, qset, n: int, seed: int) -> float | None:  # noqa: ANN001
    """Share of ``n`` questions answered when the search may use every article but their own paragraph
    (``ask(article_ids=...)``; its siblings under the same title stay); None when the set has one
    paragraph per title. The abstention null is the whole index's (one paragraph hardly moves it)."""
    import random

    titles: dict[str, list[str]] = {}
    for art in qset.articles:
        titles.setdefault(art.title or art.id, []).append(art.id)
    title_of = {art.id: art.title or art.id for art in qset.articles}
    pool = [q for q in qset.questions if len(titles[title_of[q.article_id]]) > 1 and q.gold_sentence_ids]
    if not pool:
        return None
    picked = random.Random(seed).sample(pool, min(n, len(pool)))
    ids = [info.id for info in a.articles()]
    answered = sum(not a.ask(q.question, article_ids=[i for i in ids if i != q.article_id]).abstained for q in picked)
    return answered / len(picked)


def measure(data: Path, sets: list[str], unanswerable: int, seed: int):  # noqa: ANN201 - (settings, figures)
    """The figures of this process's ``assistant`` package (public API only: it runs on older checkouts)."""
    from assistant import Assistant, Settings
    from assistant.evaluation.qasets import load_squad
    from assistant.evaluation.run import run_evaluation

    settings = Settings()
    with tempfile.TemporaryDirectory() as tmp, Assistant.open(Path(tmp) / "empty", settings=settings) as a:
        embedder = a.embedder  # built once, for every set, as Assistant.open builds it in that checkout
    out: dict = {"model": embedder.model_id, "sets": {}}
    for name in sets:
        run = run_evaluation(set_file(data, name), unanswerable=unanswerable, seed=seed, settings=settings,
                             embedder=embedder)
        m = run.metrics["all"]
        qset = load_squad(set_file(data, name), settings.chunking.max_sentence_chars)
        with Assistant.open(run.config["index"], settings=settings, embedder=embedder) as a:
            topic = on_topic(a, qset, 40, seed)
        out["sets"][name] = {
            "n": m.n, "first_hit": m.first_hit, "hit1": m.rank_hits[0], "hit5": m.rank_hits[4],
            "abstained": m.abstained, "withheld_answered": m.unanswerable_answered,
            "n_withheld": m.n_unanswerable, "on_topic_answered": topic,
        }
        print(f"  {name}: done", file=sys.stderr, flush=True)
    return settings, out


def _f(x: float | None) -> str:
    return "–" if x is None else f"{x:.3f}"


def table(new: dict, old: dict | None) -> str:
    cols = [("first-citation hit@1", "first_hit"), ("retrieval hit@1", "hit1"), ("retrieval hit@5", "hit5"),
            ("wrongly abstained", "abstained"), ("withheld answered", "withheld_answered"),
            ("on-topic answered", "on_topic_answered")]
    head = "| set | n | " + " | ".join(c for c, _ in cols) + " |"
    lines = [f"new: {new['model']}" + (f"; old: {old['model']}" if old else ""), "",
             head, "|---|---:|" + "---:|" * len(cols)]
    for name, m in new["sets"].items():
        o = old["sets"].get(name) if old else None
        cells = [f"{_f(o[k])} → {_f(m[k])}" if o else _f(m[k]) for _, k in cols]
        note = f" (tuning set: {TUNED[name]})" if name in TUNED else ""
        lines.append(f"| {name}{note} | {m['n']} (withheld {m['n_withheld']}) | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = arguments(__doc__, sets=DEV_SETS)
    ap.add_argument("--unanswerable", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--baseline", type=Path, default=None, help="another checkout whose code gives the old column")
    ap.add_argument("--baseline-json", type=Path, default=None, help="the old column from an earlier --out")
    ap.add_argument("--measure-only", action="store_true", help=argparse.SUPPRESS)  # the baseline subprocess
    args = ap.parse_args(argv)
    data = shared_data(args.data, args.sets)
    if args.measure_only:
        settings, figures = measure(data, args.sets, args.unanswerable, args.seed)
        write_result(args.out, settings, args, figures)
        return 0
    old = None
    if args.baseline_json:
        saved = json.loads(args.baseline_json.read_text(encoding="utf-8"))["results"]
        old = saved.get("new", saved)  # a whole table's file, or a --measure-only one
    if args.baseline:
        print(f"baseline: the code of {args.baseline}", file=sys.stderr, flush=True)
        argv_old = ["--measure-only", "--data", str(data), "--sets", *args.sets,
                    "--unanswerable", str(args.unanswerable), "--seed", str(args.seed)]
        # the same indexes folder, so the baseline reuses the eval indexes' cached vectors
        root = os.environ.get("ASSISTANT_INDEX_ROOT", str(ROOT / "indexes"))
        old = in_other_tree(args.baseline, "ranking_table", argv_old, env={"ASSISTANT_INDEX_ROOT": root})
    settings, new = measure(data, args.sets, args.unanswerable, args.seed)
    print(table(new, old))
    write_result(args.out, settings, args, {"new": new, "old": old})
    return 0


if __name__ == "__main__":
    sys.exit(main())
