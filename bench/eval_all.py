"""`assistant eval` on every shared dev set with every retriever, then one summary table and plots.

Equivalent to running, for each SET and RETRIEVER,

    assistant eval ../shared/data/qa/SET.json --retriever RETRIEVER --unanswerable 50 --out runs/eval/SET/RETRIEVER

but in one process: the embedding model is loaded once, and each set's index (indexes/eval-SET-<model>,
the one every bench uses) is built once and reused by the three retrievers and by later runs.

With --warm-from GLOB (e.g. 'indexes/bench-{set}-*', the retrieval bench's indexes before they were the
eval indexes), embeddings already cached in another index of the same set are copied into the eval index
first: the cache is keyed by model id and text, so only model time is saved.

Usage:
    python -m bench.eval_all [--sets xquad-dev.ar ...] [--retrievers hybrid dense bm25] [--unanswerable 50]
                             [--runs runs/eval] [--docs docs] [--warm-from GLOB] [--summarize-only]
Writes runs/eval/<set>/<retriever>/{report.md,results.json,*.png}, runs/eval/summary.md and
docs/eval-{by-pair,hit-at-k,latency}.png.
"""

from __future__ import annotations

import glob
import sys
import time
from pathlib import Path

from assistant import Assistant, Settings
from assistant.evaluation.report import render_report, summary_plots, summary_table
from assistant.evaluation.results import load_run
from assistant.evaluation.run import run_evaluation
from assistant.models.embedding.factory import build_embedder
from bench.common import DEV_SETS, arguments, index_path, set_file, shared_data, write_result

RETRIEVERS = ["hybrid", "dense", "bm25"]


def warm(settings: Settings, embedder, name: str, pattern: str) -> int:  # noqa: ANN001
    """Copy cached embeddings from indexes matching ``pattern`` (``{set}`` is replaced by ``name``;
    read-only) into the set's eval index; returns how many were offered."""
    sources = sorted(glob.glob(pattern.format(set=name)))
    if not sources:
        return 0
    with Assistant.open(index_path(settings, name, embedder.vector_id), settings=settings, embedder=embedder) as a:
        return a.reuse_embeddings(sources)


class Ticker:
    """Progress as log lines: at the end of each stage and every 30 s (the log is read with tail)."""

    def __init__(self, label: str):
        self.label = label
        self.last = 0.0

    def __call__(self, done: int, total: int, stage: str) -> None:
        now = time.perf_counter()
        if done == total or now - self.last > 30:
            self.last = now
            print(f"  {self.label}: {stage} {done}/{total}", flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = arguments(__doc__, sets=DEV_SETS)
    ap.add_argument("--retrievers", nargs="+", default=RETRIEVERS)
    ap.add_argument("--unanswerable", type=int, default=50)
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--runs", type=Path, default=Path("runs/eval"),
                    help="folder of the runs (<set>/<retriever>/) and summary.md")
    ap.add_argument("--docs", type=Path, default=Path("docs"))
    ap.add_argument("--warm-from", default=None, help="glob of indexes to copy cached embeddings from, "
                    "{set} is replaced by the set name (e.g. 'indexes/bench-{set}-*')")
    ap.add_argument("--summarize-only", action="store_true", help="only rebuild the summary from saved runs")
    args = ap.parse_args(argv)
    settings = Settings()
    if not args.summarize_only:
        data = shared_data(args.data, args.sets)
        embedder = build_embedder(settings.embedding, settings.paths)
        print(f"model {embedder.model_id}", flush=True)
        for name in args.sets:
            if args.warm_from:
                print(f"{name}: {warm(settings, embedder, name, args.warm_from)} cached vectors offered", flush=True)
            for retriever in args.retrievers:
                t0 = time.perf_counter()
                run = run_evaluation(set_file(data, name), retriever=retriever, unanswerable=args.unanswerable,
                                     limit=args.limit, settings=settings, embedder=embedder,
                                     progress=Ticker(f"{name} {retriever}"))
                out = args.runs / name / retriever
                run.save(out)
                render_report(run, out)
                m = run.metrics["all"]
                print(f"{name:22s} {retriever:7s} n={m.n:4d} hit@1 {m.first_hit:.3f} hit@k {m.hit_at_k:.3f} "
                      f"MRR {m.mrr_at_10:.3f} prec {m.citation_precision or 0:.3f} "
                      f"unans-wrong {m.unanswerable_answered if m.unanswerable_answered is not None else float('nan'):.3f} "
                      f"({time.perf_counter() - t0:.0f} s)", flush=True)
    found = [args.runs / n / r / "results.json" for n in args.sets for r in args.retrievers]
    found = [p for p in found if p.exists()]
    runs = [load_run(p) for p in found]
    if not runs:
        print("no runs found", file=sys.stderr)
        return 1
    table = summary_table(runs)
    (args.runs / "summary.md").write_text(table + "\n", encoding="utf-8")
    plots = summary_plots(runs, args.docs)
    print(table)
    print("wrote", args.runs / "summary.md", *plots)
    write_result(args.out, settings, args, {"summary": table, "runs": [str(p) for p in found]})
    return 0


if __name__ == "__main__":
    sys.exit(main())
