"""Sentences/s through ``Assistant.add`` (issue 24), from one run on the same articles: torch fp32, the bf16
of a git ref (before the pipelined ingest: ``--baseline-ref``), this checkout's bf16 and int8; and where
this checkout's bf16 time goes.

The articles are paragraphs of the dev sets' contexts (xquad-dev.ar, xquad-dev.en, arcd-train, then TyDi QA
Arabic) until ``--sentences`` sentences; each path adds them to a fresh index with nothing cached, the
model loaded and warm before the clock starts (one warm-up sentence in another index). The ref's column
runs this script in a subprocess with that checkout's ``assistant`` package (bench/common.py,
``in_other_tree``). int8 runs on the int8 graph (``embedding.precision = int8``: built once with ``nncf``).

The time split (this checkout, bf16) is timers around: the model (in the pipeline's worker thread), the
tokenizer (measured alone on the same texts), reading and splitting, building the nodes, the SQLite
transactions, the vector store (Chroma), the BM25 rebuild, and the main thread waiting for the model.

    python -m bench.ingest_speed [--sentences 2000] [--paths torch-f32 ref-bf16 bf16 int8]
                                 [--baseline-ref REF] [--out runs/ingest_speed.json]
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

from assistant import Article, Assistant, Settings
from assistant.models.embedding.factory import build_embedder
from assistant.text.sentences import split_article
from bench.common import arguments, in_other_tree, load_set, shared_data, worktree, write_result

SOURCES = ("xquad-dev.ar", "xquad-dev.en", "arcd-train", "tydiqa-goldp-ar-dev")
PATHS = {  # name: embedding settings
    "torch-f32": {"runtime": "torch", "device": "cpu"},
    "ref-bf16": {"runtime": "openvino", "precision": "bf16"},
    "bf16": {"runtime": "openvino", "precision": "bf16"},
    "int8": {"runtime": "openvino", "precision": "int8"},
}
BASELINE_REF = "5996060"  # the last commit before the pipelined ingest


def articles(data: Path, sentences: int) -> list[Article]:
    """Context paragraphs of :data:`SOURCES` as articles, in file order, until ``sentences`` sentences."""
    out: list[Article] = []
    seen: set[str] = set()
    count = 0
    for name in SOURCES:
        for art in load_set(data, name).articles:
            if count >= sentences:
                return out
            if art.text in seen:
                continue
            seen.add(art.text)
            out.append(Article(id=f"{name}:{art.id}", text=art.text, title=art.title))
            count += len(split_article(art.id, art.text))
    return out


@contextmanager
def timers(spent: dict[str, float]) -> Iterator[None]:
    """Time, into ``spent``, the functions of the write path (this checkout's modules)."""
    from assistant import assistant as facade
    from assistant.store import pipeline, writer
    from assistant.store.catalog import Catalog
    from assistant.store.vectors import VectorStore

    def timed(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def run(*a: Any, **k: Any) -> Any:
            t = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                spent[name] += time.perf_counter() - t
        return run

    def timed_block(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:  # a context manager, enter to exit
        @contextmanager
        def run(*a: Any, **k: Any) -> Iterator[Any]:
            t = time.perf_counter()
            try:
                with fn(*a, **k) as got:
                    yield got
            finally:
                spent[name] += time.perf_counter() - t
        return run

    patches = [(facade.Assistant, "_prepare", "reading and splitting", timed),
               (writer, "sentence_nodes", "nodes", timed), (writer, "chunk_nodes", "nodes", timed),
               (Catalog, "transaction", "SQLite", timed_block), (Catalog, "sentence_ids_of", "SQLite", timed),
               (Catalog, "chunk_ids_of", "SQLite", timed),
               (VectorStore, "add_nodes", "vector store", timed), (VectorStore, "delete", "vector store", timed),
               (writer.Writer, "refresh_lexical", "BM25 rebuild", timed),
               (writer.Writer, "embed", "model (worker thread)", timed),
               (pipeline.IngestPipeline, "_store", "main thread: waiting + storing", timed),
               (writer.Writer, "store", "storing", timed)]
    saved = [(owner, attr, owner.__dict__[attr]) for owner, attr, _, _ in patches]
    try:
        for owner, attr, name, wrap in patches:
            fn = owner.__dict__[attr]
            if isinstance(fn, staticmethod):
                setattr(owner, attr, staticmethod(wrap(name, fn.__func__)))
            else:
                setattr(owner, attr, wrap(name, fn))
        yield
    finally:
        for owner, attr, fn in saved:
            setattr(owner, attr, fn)


def measure(path: str, arts: list[Article], split: bool) -> dict[str, Any]:
    """``Assistant.add`` of ``arts`` into a fresh index on ``path``'s settings: seconds, sentences/s."""
    settings = Settings().replace(embedding=PATHS[path], answer={"short_producer": "none"})
    embedder = build_embedder(settings.embedding, settings.paths)
    spent: dict[str, float] = defaultdict(float)
    with tempfile.TemporaryDirectory(prefix="ingest-speed-") as tmp:
        settings = settings.replace(index_root=tmp)
        with Assistant.open("warm", settings=settings, embedder=embedder) as a:
            a.add([Article(id="warm", text="A warm-up sentence, so the model is loaded and run once.")])
        with Assistant.open("speed", settings=settings, embedder=embedder) as a:
            with timers(spent) if split else nullcontext():
                t = time.perf_counter()
                report = a.add(arts)
                took = time.perf_counter() - t
            n = a.index.catalog.count()[1]
            assert not report.failed, report.failed[:3]
    row: dict[str, Any] = {"path": path, "vector_id": embedder.vector_id, "sentences": n, "seconds": round(took, 1),
                           "sentences_per_s": round(n / took, 2)}
    if split:
        from assistant.models.embedding.framed import frame_document  # this checkout's (the ref's may lack it)

        tokenizer = getattr(embedder, "_tokenizer", None)
        if tokenizer is not None:  # the OpenVINO runtime's tokenizer, alone on the texts the model read
            texts = [frame_document(s.text, x.title) for x in arts for s in split_article(x.id, x.text)]
            t = time.perf_counter()
            tokenizer.encode(texts)
            spent["tokenizer (alone)"] = time.perf_counter() - t
        spent["main thread: waiting for the model"] = (spent.pop("main thread: waiting + storing", 0.0)
                                                       - spent.get("storing", 0.0))
        row["split"] = {k: round(v, 2) for k, v in sorted(spent.items(), key=lambda kv: -kv[1])}
    return row


def main(argv: list[str] | None = None) -> int:
    ap = arguments(__doc__)
    ap.add_argument("--sentences", type=int, default=2000)
    ap.add_argument("--paths", nargs="+", default=list(PATHS), choices=list(PATHS))
    ap.add_argument("--baseline-ref", default=BASELINE_REF, metavar="REF",
                    help=f"the code of ref-bf16 (default {BASELINE_REF}, before the pipelined ingest)")
    ap.add_argument("--measure-only", action="store_true", help="measure --paths with this package, no baseline")
    args = ap.parse_args(argv)
    data = shared_data(args.data, SOURCES)
    arts = articles(data, args.sentences)
    rows: list[dict[str, Any]] = []
    for path in args.paths:
        if path == "ref-bf16" and not args.measure_only:
            with worktree(args.baseline_ref) as (tree, commit):
                print(f"ref-bf16: the code of {args.baseline_ref} ({commit[:10]})", file=sys.stderr, flush=True)
                got = in_other_tree(tree, "ingest_speed", ["--measure-only", "--paths", "ref-bf16", "--data", str(data),
                                                           "--sentences", str(args.sentences)], package_only=True)
            rows += [{**r, "commit": commit} for r in got]
            continue
        rows.append(measure(path, arts, split=path == "bf16" and not args.measure_only))
        print(f"{path}: {rows[-1]['sentences']} sentences in {rows[-1]['seconds']} s", file=sys.stderr, flush=True)
    if args.measure_only:
        write_result(args.out, None, args, rows, quiet=True)
        return 0
    base = next((r for r in rows if r["path"] == "ref-bf16"), None)
    print(f"\n{len(arts)} articles; Assistant.add into a fresh index, nothing cached\n")
    print("| path | sentences | seconds | sentences/s | vs ref bf16 |\n|---|---:|---:|---:|---:|")
    for r in rows:
        ratio = f"{r['sentences_per_s'] / base['sentences_per_s']:.2f}x" if base else "-"
        print(f"| {r['path']} | {r['sentences']} | {r['seconds']} | {r['sentences_per_s']} | {ratio} |")
    for r in rows:
        if "split" in r:
            print(f"\nwhere the time of {r['path']} goes ({r['seconds']} s of add; the model runs beside the main thread)\n")
            print("| where | seconds | share of add |\n|---|---:|---:|")
            for k, v in r["split"].items():
                print(f"| {k} | {v} | {v / r['seconds']:.0%} |")
    write_result(args.out, Settings(), args, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
