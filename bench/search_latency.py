"""The search alone on an existing index: ``Retriever.search`` with the query vector given (no embedding),
over bench/scale.py's 40 questions, warm; p50/p95 of two passes, and optionally a profile of the second.

    python -m bench.search_latency INDEX_FOLDER [--profile]

(``python -m bench.scale --work W`` keeps its indexes: W/index-embedded, W/index-server with its Chroma
server's data.)
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

from assistant import Assistant, Settings
from assistant.evaluation.metrics import percentile
from assistant.models.embedding.factory import build_embedder
from bench.common import arguments, shared_data, write_result
from bench.scale import base_corpus


def main(argv: list[str] | None = None) -> int:
    ap = arguments(__doc__)
    ap.add_argument("index", type=Path)
    ap.add_argument("--profile", action="store_true", help="print a pyinstrument profile of the second pass")
    args = ap.parse_args(argv)
    data = shared_data(args.data)
    settings = Settings()
    embedder = build_embedder(settings.embedding, settings.paths)
    passes = []
    with Assistant.open(args.index, settings=settings, embedder=embedder) as a:
        _, questions = base_corpus(data)
        questions = questions[:40]
        vectors = embedder.embed_queries(questions)
        for q, v in zip(questions[:3], vectors):
            a.retriever.search(q, 10, query_vector=v)  # warm-up
        print(f"{args.index}: {a.index.catalog.count()[1]:,} sentences, {len(questions)} questions")
        for n in (1, 2):
            profiler = None
            if n == 2 and args.profile:
                from pyinstrument import Profiler

                profiler = Profiler(interval=0.0005)
                profiler.start()
            times = []
            for q, v in zip(questions, vectors):
                t = time.perf_counter()
                a.retriever.search(q, 10, query_vector=v)
                times.append((time.perf_counter() - t) * 1000)
            passes.append({"p50_ms": statistics.median(times), "p95_ms": percentile(times, 95)})
            print(f"pass {n}: search without the embedding p50 {passes[-1]['p50_ms']:.1f} ms, "
                  f"p95 {passes[-1]['p95_ms']:.1f} ms")
            if profiler is not None:
                profiler.stop()
                print(profiler.output_text(unicode=False))
    write_result(args.out, settings, args, {"index": str(args.index), "passes": passes})
    return 0


if __name__ == "__main__":
    sys.exit(main())
