"""The search alone on an existing index: ``Retriever.search`` with the query vector given (no embedding),
over bench/scale.py's 40 questions, warm; p50/p95 of two passes, and optionally a profile of the second.

    python bench/search_latency.py INDEX_FOLDER [--profile]

(bench/scale.py --work W keeps its indexes: W/index-embedded, W/index-server with its Chroma server's data.)
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import scale

from assistant import Assistant, Settings
from assistant.models.embedding.factory import build_embedder


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("index", type=Path)
    ap.add_argument("--profile", action="store_true", help="print a pyinstrument profile of the second pass")
    args = ap.parse_args()
    settings = Settings()
    embedder = build_embedder(settings.embedding)
    with Assistant.open(args.index, settings=settings, embedder=embedder) as a:
        _, questions = scale.base_corpus()
        questions = questions[:40]
        vectors = [embedder.embed_query(q) for q in questions]
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
            print(f"pass {n}: search without the embedding p50 {statistics.median(times):.1f} ms, "
                  f"p95 {scale.pct(times, 0.95):.1f} ms")
            if profiler is not None:
                profiler.stop()
                print(profiler.output_text(unicode=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
