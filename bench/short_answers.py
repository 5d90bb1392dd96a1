"""Short answers end to end on every dev set: coverage, EM and F1 per producer, beside the whole answer.

One process, one embedding model: for each set and producer, ``run_evaluation`` asks every question of
the set's eval index (built once, shared with the other benches) through ``Assistant.ask``
with ``answer.short_producer`` set, and scores what a reader sees first: the short answer when there is
one, else the whole answer (today's answer: the cited sentences), against the gold answers. The
producer ``none`` is today's answer, run in the same process: its F1 is the whole-sentence baseline and
its latency the baseline of the latency ratio. xquad-dev.en-ar is also scored against the English gold
answers of xquad-dev.en (same question ids).

    python -m bench.short_answers [--sets ...] [--producers none rules reader] [--out runs/short/table.json]

The span reader was trained on tydiqa-goldp-ar-dev: that set is left out of the table.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from assistant import Settings
from assistant.evaluation.metrics import percentile
from assistant.evaluation.run import run_evaluation
from assistant.models.embedding.factory import build_embedder
from bench.common import HELD_OUT, PARALLEL_GOLD, ROOT, arguments, set_file, shared_data, write_result


def f(v: float | None) -> str:
    return "—" if v is None else f"{v:.3f}"


def main(argv: list[str] | None = None) -> int:
    ap = arguments(__doc__, sets=HELD_OUT, out=ROOT / "runs" / "short" / "table.json")
    ap.add_argument("--producers", nargs="+", default=["none", "rules", "reader"])
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--save", default=None, help="also save each run's results.json under DIR/<set>-<producer>/")
    args = ap.parse_args(argv)
    data = shared_data(args.data, [*args.sets, *(PARALLEL_GOLD[s] for s in args.sets if s in PARALLEL_GOLD)])
    base = Settings()
    embedder = build_embedder(base.embedding, base.paths)
    rows = []
    for name in args.sets:
        for producer in args.producers:
            settings = base.replace(answer={"short_producer": producer})
            t0 = time.perf_counter()
            parallel = set_file(data, PARALLEL_GOLD[name]) if name in PARALLEL_GOLD else None
            run = run_evaluation(set_file(data, name), settings=settings, embedder=embedder, limit=args.limit,
                                 gold_from=parallel)
            if args.save:
                run.save(Path(args.save) / f"{name}-{producer}")
            m = run.metrics["all"]
            lat = [r.latency_s for r in run.results if r.kind == "answerable"]
            row = {"set": name, "producer": producer, "n": m.n, "coverage": m.short_coverage, "em": m.short_em,
                   "f1": m.short_f1, "f1_covered": m.short_f1_covered, "whole_em": m.em, "whole_f1": m.f1,
                   "f1_other": m.short_f1_other, "first_hit": m.first_hit, "abstained": m.abstained,
                   "ask_p50_ms": 1000 * percentile(lat, 50), "seconds": round(time.perf_counter() - t0, 1)}
            rows.append(row)
            print(json.dumps(row), flush=True)
    write_result(args.out, base, args, rows)
    base_f1 = {r["set"]: r["whole_f1"] for r in rows if r["producer"] == "none"}
    base_lat = {r["set"]: r["ask_p50_ms"] for r in rows if r["producer"] == "none"}
    print()
    print("| set | producer | coverage | EM | F1 | F1 covered | whole-sentence F1 | F1 / whole | "
          "F1 vs English gold | ask p50 (vs none) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        b = base_f1.get(r["set"]) or r["whole_f1"]
        ratio = f"{r['f1'] / b:.2f}×" if b else "—"
        lat = f"{r['ask_p50_ms']:.0f} ms"
        if r["set"] in base_lat and r["producer"] != "none":
            lat += f" ({r['ask_p50_ms'] - base_lat[r['set']]:+.0f} ms)"
        print(f"| {r['set']} | {r['producer']} | {f(r['coverage'])} | {f(r['em'])} | {f(r['f1'])} | "
              f"{f(r['f1_covered'])} | {f(b)} | {ratio} | {f(r['f1_other'])} | {lat} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
