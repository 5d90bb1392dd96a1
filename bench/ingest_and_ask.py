"""Ingest and ask: ratios against baselines measured in the same run (this machine is noisy).

1. Ingest throughput: `Assistant.add` of N articles vs the raw embedder on the same (sentence, title)
   inputs. Overhead = ingest / raw - 1 (target <= 25%).
2. Re-ingest of the unchanged corpus vs the first ingest (target >= 50x faster).
3. Warm `ask` p50/p95 on a ~10k-sentence index vs one query embedding of the same questions
   (target p50 <= 2x).
4. Peak RSS after each stage.

``--write-only`` times the write path alone instead: ``Assistant.add`` of N articles into fresh indexes
whose embedding cache is seeded from a first ingest, so no model runs (splitting, the catalog, the
vector store writes through llama-index, BM25). That stage uses only the public API (``Assistant`` and
``Settings``), so ``--compare OLD_TREE`` runs it on another checkout's package too
(:func:`bench.common.in_other_tree`), alternating with this one.

The 10k index repeats the shared contexts under distinct article ids: repeated text is embedded once
(the index's embedding cache), so it builds in minutes; search still runs over all 10k vectors.

Usage: python -m bench.ingest_and_ask [--articles 40] [--sentences 10000] [--questions 60]
"""

from __future__ import annotations

import argparse
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from assistant import Article, Assistant, Settings
from assistant.evaluation.metrics import percentile
from bench.common import arguments, in_other_tree, load_set, shared_data, write_result

SETS = ("arcd-train", "xquad-dev.ar", "xquad-dev.en")  # stage 1 reads arcd-train; the latency index all three


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    ap = arguments(__doc__)
    ap.add_argument("--articles", type=int, default=40, help="articles for the throughput stage")
    ap.add_argument("--sentences", type=int, default=10000, help="size of the latency index")
    ap.add_argument("--questions", type=int, default=60)
    ap.add_argument("--repeats", type=int, default=2, help="raw/ingest pairs; the best of each is kept")
    ap.add_argument("--seed-cache", nargs="*", default=[], metavar="INDEX",
                    help="index folders whose cached embeddings (same model) seed the latency index, so that "
                    "building it costs no model time (e.g. indexes/eval-*)")
    ap.add_argument("--latency-only", action="store_true", help="skip stages 1-2 (ingest throughput)")
    ap.add_argument("--write-only", action="store_true",
                    help="only time Assistant.add with a seeded embedding cache (no model time), --repeats times")
    ap.add_argument("--compare", metavar="OLD_TREE", type=Path, help="with --write-only: alternate runs of this "
                    "script on OLD_TREE's package and on this one, --rounds times, and print the ratio")
    ap.add_argument("--rounds", type=int, default=3, help="alternations for --compare")
    args = ap.parse_args(argv)
    if args.repeats < 1:
        ap.error("--repeats must be at least 1")
    data = shared_data(args.data, SETS)
    settings = Settings()
    if args.compare:
        return compare(args, settings)
    arcd = load_set(data, "arcd-train", settings)
    tmp = Path(tempfile.mkdtemp(prefix="bench-"))
    try:
        if args.write_only:
            write_result(args.out, settings, args, write_stage(arcd.articles[: args.articles], settings, tmp,
                                                               args.repeats))
            return 0
        # the package's internals (not needed by --write-only, which runs on older checkouts too)
        from assistant.models.embedding.factory import build_embedder
        from assistant.store.nodes import Prepared

        t0 = time.perf_counter()
        embedder = build_embedder(settings.embedding, settings.paths)
        print(f"model {embedder.model_id}: loaded in {time.perf_counter() - t0:.1f}s, peak RSS {rss_mb():.0f} MB")
        xq, xen = load_set(data, "xquad-dev.ar", settings), load_set(data, "xquad-dev.en", settings)
        results: dict = {"model": embedder.model_id}
        if not args.latency_only:
            # 1. throughput: raw embedder vs ingest, same inputs, memo cleared before each
            articles = arcd.articles[: args.articles]
            inputs = [(s.text, a.title) for a in articles for s in Prepared(a, settings).sentences]
            clear = getattr(embedder, "clear_memo", lambda: None)
            raws, firsts = [], []
            for r in range(args.repeats):  # alternate raw / ingest and keep the best of each: the machine is noisy
                clear()
                t = time.perf_counter()
                embedder.embed_documents([x for x, _ in inputs], [ti for _, ti in inputs])
                raws.append(time.perf_counter() - t)
                clear()
                a = Assistant.open(tmp / f"throughput{r}", settings=settings, embedder=embedder)
                t = time.perf_counter()
                rep = a.add(articles)
                firsts.append(time.perf_counter() - t)
                assert len(rep.added) == len(articles), rep
                if r < args.repeats - 1:
                    a.close()
            raw, first = min(raws), min(firsts)
            t = time.perf_counter()
            again = a.add(articles)
            second = time.perf_counter() - t
            assert len(again.unchanged) == len(articles)
            a.close()
            print(f"\n1. ingest {len(articles)} articles / {len(inputs)} sentences")
            print(f"   raw embedder      {raw:7.2f} s  ({len(inputs) / raw:.1f} sentences/s)  runs {[round(x, 1) for x in raws]}")
            print(f"   Assistant.add     {first:7.2f} s  ({len(inputs) / first:.1f} sentences/s)  runs {[round(x, 1) for x in firsts]}")
            print(f"   overhead          {first / raw - 1:+7.1%}   (target <= +25%)")
            print(f"2. re-ingest unchanged {second:.3f} s: {first / second:.0f}x faster than the first ingest (target >= 50x)")
            print(f"   peak RSS {rss_mb():.0f} MB")
            results["ingest"] = {"articles": len(articles), "sentences": len(inputs), "raw_s": raws,
                                 "add_s": firsts, "overhead": first / raw - 1, "reingest_s": second,
                                 "peak_rss_mb": rss_mb()}

        # 3. latency on a ~10k-sentence index
        base = arcd.articles + xq.articles + xen.articles
        per_round = sum(len(Prepared(x, settings).sentences) for x in base)
        rounds = max(1, -(-args.sentences // per_round))
        big = Assistant.open(tmp / "latency", settings=settings, embedder=embedder)
        big.index.catalog.seed_vectors(args.seed_cache)
        t = time.perf_counter()
        for r in range(rounds):
            big.add([Article(id=f"r{r}:{x.id}", text=x.text, title=x.title, source=x.source, lang=x.lang) for x in base])
        build = time.perf_counter() - t
        n_sent = big.index.catalog.count()[1]
        print(f"\n3. latency index: {n_sent} sentences ({per_round} distinct x {rounds}), built in {build:.0f} s")
        questions = [q.question for q in (arcd.questions[::7] + xq.questions[::5] + xen.questions[::5])][: args.questions]
        for q in questions[:3]:
            big.ask(q)  # warm-up
        embed_t, ask_t = [], []
        for q in questions:
            t = time.perf_counter()
            embedder.embed_query(q)
            embed_t.append(time.perf_counter() - t)
            t = time.perf_counter()
            big.ask(q)
            ask_t.append(time.perf_counter() - t)
        e50, e95 = statistics.median(embed_t), percentile(embed_t, 95)
        a50, a95 = statistics.median(ask_t), percentile(ask_t, 95)
        print(f"   one query embedding  p50 {e50 * 1000:6.1f} ms  p95 {e95 * 1000:6.1f} ms")
        print(f"   warm ask             p50 {a50 * 1000:6.1f} ms  p95 {a95 * 1000:6.1f} ms")
        print(f"   ratio ask/embedding  p50 {a50 / e50:.2f}x  p95 {a95 / e95:.2f}x   (target p50 <= 2x)")
        print(f"4. peak RSS {rss_mb():.0f} MB")
        big.close()
        results["latency"] = {"sentences": n_sent, "build_s": build, "questions": len(questions),
                              "embed_p50_s": e50, "embed_p95_s": e95, "ask_p50_s": a50, "ask_p95_s": a95,
                              "peak_rss_mb": rss_mb()}
        write_result(args.out, settings, args, results)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


def compare(args: argparse.Namespace, settings: Settings) -> int:
    """Alternate ``--write-only`` runs before/after (each its own process), pool their times, print the ratio."""
    times: dict[str, dict[str, list[float]]] = {label: {"wall_ms": [], "cpu_ms": []} for label in ("before", "after")}
    argv = ["--write-only", "--articles", str(args.articles), "--repeats", str(args.repeats)]
    if args.data is not None:
        argv += ["--data", str(args.data)]
    for r in range(args.rounds):
        for label, tree in (("before", args.compare), ("after", None)):
            got = in_other_tree(tree, "ingest_and_ask", argv)
            for k in ("wall_ms", "cpu_ms"):
                times[label][k] += got[k]
            print(f"round {r + 1} {label:6} {tree or 'this checkout'}: wall {got['wall_ms']} ms, cpu {got['cpu_ms']} ms",
                  flush=True)
    for what in ("wall_ms", "cpu_ms"):
        b, a = times["before"][what], times["after"][what]
        print(f"write stage {what[:-3]}, {len(b)} runs each: median before {statistics.median(b):.0f} ms, after "
              f"{statistics.median(a):.0f} ms, ratio {statistics.median(a) / statistics.median(b):.3f}; "
              f"best before {min(b):.0f} ms, after {min(a):.0f} ms, ratio {min(a) / min(b):.3f}")
    write_result(args.out, settings, args, {"old_tree": str(args.compare), **times})
    return 0


def write_stage(articles: list[Article], settings: Settings, tmp: Path, repeats: int) -> dict:
    """Time ``add`` with every vector already cached: the write path alone. Public API only (it runs on
    older checkouts for ``--compare``): the seed index's embedder serves the others."""
    with Assistant.open(tmp / "seed", settings=settings) as seed:
        seed.add(articles)
        n = seed.index.catalog.count()[1]
        embedder = seed.embedder
    times, cpu = [], []
    for r in range(repeats):
        with Assistant.open(tmp / f"write{r}", settings=settings, embedder=embedder) as a:
            a.index.catalog.seed_vectors([tmp / "seed"])
            t, c = time.perf_counter(), time.process_time()
            rep = a.add(articles)
            times.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
            assert len(rep.added) == len(articles), rep
    print(f"write stage: {len(articles)} articles / {n} sentences, cache seeded (no model time)")
    print(f"   add  min {min(times) * 1000:7.1f} ms  median {statistics.median(times) * 1000:7.1f} ms  "
          f"runs {[round(x * 1000) for x in times]}")
    print(f"   cpu  min {min(cpu) * 1000:7.1f} ms  median {statistics.median(cpu) * 1000:7.1f} ms  "
          f"cpu runs {[round(x * 1000) for x in cpu]}  (process CPU time: less disturbed by other jobs)")
    return {"articles": len(articles), "sentences": n, "wall_ms": [round(x * 1000) for x in times],
            "cpu_ms": [round(x * 1000) for x in cpu]}


if __name__ == "__main__":
    sys.exit(main())
