"""First-citation hit@1 / hit@3 on the shared dev sets, hybrid vs dense-only vs BM25-only, one run.

Every sentence of every context in a file is a candidate (one index per file); one question at a time.
Usage: python bench/retrieval_hits.py [--sets xquad-dev.ar ...] [--out runs/hits.json]
Indexes are kept under indexes/bench-<set>-<model> so a second run only asks.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from benchlib import bench_index, bench_tag

from assistant import Assistant, Settings
from assistant.evaluation.qasets import load_squad
from assistant.models.embedding.factory import build_embedder

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "qa"
SETS = ["xquad-dev.ar", "xquad-dev.en-ar", "xquad-dev.en", "arcd-train", "tydiqa-goldp-ar-dev"]
MODES = ["hybrid", "dense", "bm25"]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sets", nargs="*", default=SETS)
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--limit", type=int, default=0, help="first N questions of each set (0: all)")
    args = ap.parse_args()
    if not SHARED.exists():
        print(f"skipped: {SHARED} is absent (the shared dev sets live beside the project)")
        return 0
    settings = Settings()
    embedder = build_embedder(settings.embedding)
    tag = bench_tag(embedder.vector_id)
    results: dict[str, dict] = {}
    print(f"model {embedder.model_id}")
    print(f"{'set':24s} {'n':>5s}  " + "  ".join(f"{m:>13s}" for m in MODES))
    for name in args.sets:
        qs = load_squad(SHARED / f"{name}.json", settings.chunking.max_sentence_chars)
        a = Assistant.open(bench_index(settings, name, embedder.vector_id), settings=settings, embedder=embedder)
        # sets that share contexts (xquad-dev.ar and .en-ar) share vectors: seed from the other bench indexes
        a.reuse_embeddings([p for p in sorted(settings.index_root.glob(f"bench-*-{tag}")) if p != a.path])
        t0 = time.perf_counter()
        rep = a.add(qs.articles)
        t_ingest = time.perf_counter() - t0
        questions = [q for q in qs.questions if q.gold_sentence_ids]
        if args.limit:
            questions = questions[: args.limit]
        row: dict[str, dict] = {}
        qvecs = [embedder.embed_query(q.question) for q in questions]  # shared by the three modes
        for mode in MODES:
            h1 = h3 = 0
            for q, qv in zip(questions, qvecs):
                got = a.retriever.search(q.question, 3, mode=mode, query_vector=qv).passages
                ranked = [p.sentence.id for p in got]
                h1 += bool(ranked[:1]) and ranked[0] in q.gold_sentence_ids
                h3 += any(s in q.gold_sentence_ids for s in ranked[:3])
            n = len(questions)
            row[mode] = {"hit@1": round(h1 / n, 3), "hit@3": round(h3 / n, 3)}
        results[name] = {"n": len(questions), "ingest_s": round(t_ingest, 1), "added": len(rep.added), **row}
        cells = "  ".join(f"{row[m]['hit@1']:.3f}/{row[m]['hit@3']:.3f}" for m in MODES)
        print(f"{name:24s} {len(questions):5d}  {cells}", flush=True)
        a.close()
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"model": embedder.model_id, "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
