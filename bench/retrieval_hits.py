"""First-citation hit@1 / hit@3 on the shared dev sets, hybrid vs dense-only vs BM25-only, one run.

Every sentence of every context in a file is a candidate (one index per file: the set's eval index,
``indexes/eval-<set>-<model tag>``, built on the first run and reused); one question at a time.

    python -m bench.retrieval_hits [--sets xquad-dev.ar ...] [--limit N] [--out runs/hits.json]
"""

from __future__ import annotations

import sys
import time

from assistant import Settings
from assistant.models.embedding.factory import build_embedder
from bench.common import DEV_SETS, arguments, load_set, set_index, shared_data, write_result

MODES = ["hybrid", "dense", "bm25"]


def main(argv: list[str] | None = None) -> int:
    ap = arguments(__doc__, sets=DEV_SETS)
    ap.add_argument("--limit", type=int, default=0, help="first N questions of each set (0: all)")
    args = ap.parse_args(argv)
    data = shared_data(args.data, args.sets)
    settings = Settings()
    embedder = build_embedder(settings.embedding, settings.paths)
    results: dict[str, dict] = {}
    print(f"model {embedder.model_id}")
    print(f"{'set':24s} {'n':>5s}  " + "  ".join(f"{m:>13s}" for m in MODES))
    for name in args.sets:
        qs = load_set(data, name, settings)
        t0 = time.perf_counter()
        a = set_index(settings, embedder, name, qs)
        t_index = time.perf_counter() - t0
        questions = [q for q in qs.questions if q.gold_sentence_ids]
        if args.limit:
            questions = questions[: args.limit]
        row: dict[str, dict] = {}
        qvecs = embedder.embed_queries([q.question for q in questions])  # shared by the three modes
        for mode in MODES:
            h1 = h3 = 0
            for q, qv in zip(questions, qvecs):
                got = a.retriever.search(q.question, 3, mode=mode, query_vector=qv).passages
                ranked = [p.sentence.id for p in got]
                h1 += bool(ranked[:1]) and ranked[0] in q.gold_sentence_ids
                h3 += any(s in q.gold_sentence_ids for s in ranked[:3])
            n = len(questions)
            row[mode] = {"hit@1": round(h1 / n, 3), "hit@3": round(h3 / n, 3)}
        results[name] = {"n": len(questions), "index_s": round(t_index, 1), **row}
        cells = "  ".join(f"{row[m]['hit@1']:.3f}/{row[m]['hit@3']:.3f}" for m in MODES)
        print(f"{name:24s} {len(questions):5d}  {cells}", flush=True)
        a.close()
    write_result(args.out, settings, args, {"model": embedder.model_id, "sets": results})
    return 0


if __name__ == "__main__":
    sys.exit(main())
