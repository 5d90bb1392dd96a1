"""Served lexical search (BM25 in PostgreSQL, issue 25) next to bm25s, on the dev sets, one run.

Per set: the embedded eval index (``indexes/eval-<set>-<model tag>``, bm25s, embedded Chroma) and a served
copy (the catalog and BM25 in PostgreSQL, the vectors on a Chroma server; its embeddings copied from the
embedded index, so no model time). Every question is searched in both (hybrid, the shipped settings, one
query vector shared): hybrid hit@1 / hit@5, and the latency of the lexical search alone and of the whole
search without the query embedding.

Needs a PostgreSQL database (``--catalog-url``; ``. scripts/services.sh; start_services`` starts Debian's
cluster and prints one) and starts ``chroma run`` in a temp folder unless ``--chroma-url`` names one.

    python -m bench.served_lexical --catalog-url postgresql://assistant_ci:assistant_ci@127.0.0.1:5432/assistant_ci
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

from assistant import Assistant, Settings
from assistant.evaluation.metrics import percentile
from assistant.models.embedding.factory import build_embedder
from assistant.text.normalize import tokenize
from bench.common import HELD_OUT, arguments, load_set, set_index, shared_data, start_chroma, write_result


def ms(xs: list[float], q: float) -> float:
    return round(1000 * (percentile(xs, q) or 0.0), 1)


def main(argv: list[str] | None = None) -> int:
    ap = arguments(__doc__, sets=list(HELD_OUT))
    ap.add_argument("--catalog-url", default=os.environ.get("ASSISTANT_TEST_PG_URL"),
                    help="PostgreSQL URL (default: $ASSISTANT_TEST_PG_URL)")
    ap.add_argument("--chroma-url", default=None, help="a Chroma server (default: start one in a temp folder)")
    ap.add_argument("--limit", type=int, default=0, help="first N questions of each set (0: all)")
    args = ap.parse_args(argv)
    if not args.catalog_url:
        raise SystemExit("--catalog-url is needed (or ASSISTANT_TEST_PG_URL): see the docstring")
    data = shared_data(args.data, args.sets)
    settings = Settings()
    embedder = build_embedder(settings.embedding, settings.paths)
    tmp = Path(tempfile.mkdtemp(prefix="served-lexical-"))
    proc = None
    chroma_url = args.chroma_url
    if not chroma_url:
        proc, chroma_url = start_chroma(tmp / "chroma")
    served_settings = settings.replace(store={"catalog_url": args.catalog_url, "chroma_url": chroma_url})
    results: dict[str, dict] = {}
    print(f"model {embedder.model_id}; PostgreSQL + {chroma_url}")
    print(f"{'set':18s} {'n':>4s}  {'bm25s hit@1/@5':>15s}  {'SQL hit@1/@5':>13s}  {'lexical p50/p95 ms':>19s} "
          f"{'(SQL)':>12s}  {'search p50 ms':>13s} {'(served)':>9s}")
    try:
        for name in args.sets:
            qs = load_set(data, name, settings)
            embedded = set_index(settings, embedder, name, qs)
            served = Assistant.open(tmp / "machine" / f"bench-{name}", settings=served_settings, embedder=embedder)
            served.reuse_embeddings([embedded.path])
            served.add(qs.articles)
            questions = [q for q in qs.questions if q.gold_sentence_ids][: args.limit or None]
            qvecs = embedder.embed_queries([q.question for q in questions])
            row: dict[str, dict] = {}
            k_lex = settings.retrieval.lexical_k
            for label, a in (("bm25s", embedded), ("sql", served)):
                h1 = h5 = 0
                lex_t: list[float] = []
                search_t: list[float] = []
                lexical = a.index.snapshot().lexical
                assert lexical is not None
                for q, qv in zip(questions, qvecs):
                    t0 = time.perf_counter()
                    lexical.search(tokenize(q.question), k_lex)
                    lex_t.append(time.perf_counter() - t0)
                    t0 = time.perf_counter()
                    got = a.retriever.search(q.question, 5, mode="hybrid", query_vector=qv).passages
                    search_t.append(time.perf_counter() - t0)
                    ranked = [p.sentence.id for p in got]
                    h1 += bool(ranked) and ranked[0] in q.gold_sentence_ids
                    h5 += any(s in q.gold_sentence_ids for s in ranked[:5])
                n = len(questions)
                row[label] = {"hit@1": round(h1 / n, 3), "hit@5": round(h5 / n, 3), "lexical_p50_ms": ms(lex_t, 50),
                              "lexical_p95_ms": ms(lex_t, 95), "search_p50_ms": ms(search_t, 50),
                              "search_p95_ms": ms(search_t, 95)}
            results[name] = {"n": len(questions), "sentences": embedded.index.catalog.count()[1], **row}
            b, s = row["bm25s"], row["sql"]
            print(f"{name:18s} {len(questions):4d}  {b['hit@1']:.3f}/{b['hit@5']:.3f}    {s['hit@1']:.3f}/{s['hit@5']:.3f}"
                  f"   {b['lexical_p50_ms']:6.1f}/{b['lexical_p95_ms']:6.1f} {s['lexical_p50_ms']:6.1f}/"
                  f"{s['lexical_p95_ms']:5.1f}  {b['search_p50_ms']:13.1f} {s['search_p50_ms']:9.1f}", flush=True)
            embedded.close()
            served.close()
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=30)
    write_result(args.out, settings, args, {"model": embedder.model_id, "sets": results})
    return 0


if __name__ == "__main__":
    sys.exit(main())
