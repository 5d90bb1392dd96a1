"""Scale: ask latency and memory at 10k, 100k and 300k sentences: embedded Chroma, a Chroma server, and a
served collection (issue 25: the catalog and BM25 in PostgreSQL, the vectors on a Chroma server).

One run measures every mode given. For each mode a worker process (so each mode's memory is its own) opens
one index and grows it in steps: every step is ONE ``Assistant.add`` call (BM25 is rebuilt once per
call) that adds the shared articles and QA contexts again under new ids (``r<round>:<id>``) until the
index holds the target number of sentences. Repeated text is embedded once (each index keeps an
embedding cache; the second mode's cache is seeded from the first one's), so past the first pass only
Chroma, SQLite and BM25 work grows. After each step the same questions are asked (warm).

Figures per mode and size: build time of the step, ask latency p50/p95 (and the query-embedding part,
constant), resident memory of the assistant process and, in server mode, of the ``chroma run`` process,
and size on disk. Written to --json, --md (docs/scale.md) and --png (docs/scale.png).

Heavy: about 420k vectors per mode at 300k sentences (Chroma costs ~1.2 ms a vector here). Run it
alone, in the background::

    nohup python -m bench.scale > runs/scale.log 2>&1 &

After the last step a fresh process plays an app server (``--app-probe``): it opens the index as
``assistant serve`` would, asks the questions (warm) and reports its memory and the search latency
without the query embedding; the builder's own memory includes what ingesting costs (the ingest graph).
The served mode needs ``--catalog-url`` (a PostgreSQL database where a new one may be created; default
$ASSISTANT_TEST_PG_URL, which ``. scripts/services.sh; start_services`` sets); its disk is the Chroma
server's folder plus the database's size.

``--seed-cache INDEX...`` copies cached embeddings of the same model from other index folders (e.g. the
evaluation indexes under indexes/) so the first pass embeds only what they lack.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import ROOT, arguments, new_database, shared_data, start_chroma, write_result

MODES = ("embedded", "server", "served")


# --- measuring -------------------------------------------------------------------------------------
def rss_mb(pid: int | str = "self", field: str = "VmRSS") -> float:
    """Resident memory of a process in MB (VmHWM: its peak), from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def tree_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6 if path.exists() else 0.0


# --- the corpus ------------------------------------------------------------------------------------
def base_corpus(data: Path):  # noqa: ANN201 - (articles, questions); assistant is imported late to time the imports apart
    """The shared articles and every distinct QA context as Articles, and a fixed mix of questions."""
    from assistant import Article
    from assistant.evaluation.qasets import load_squad
    from assistant.text.language import detect_language

    articles = []
    for f in sorted((data / "articles").glob("*.txt")):
        text = f.read_text(encoding="utf-8")
        articles.append(Article(id=f"shared:{f.stem}", text=text, lang=detect_language(text, default="ar")))
    questions = []
    seen = {a.text for a in articles}
    for f in sorted((data / "qa").glob("*.json")):
        qs = load_squad(f)
        for a in qs.articles:
            if a.text not in seen:  # xquad-dev.en-ar repeats xquad-dev.ar's contexts
                seen.add(a.text)
                articles.append(a)
        questions += [q.question for q in qs.questions[:: max(1, len(qs.questions) // 8)][:8]]
    return articles, questions


def seed_cache(catalog_path: Path, sources: list[Path]) -> int:
    """Copy cached embeddings from other indexes' catalogs into this one; returns how many were offered."""
    from assistant.store.catalog import Catalog

    catalog = Catalog(catalog_path)
    try:
        return catalog.seed_vectors(sources)
    finally:
        catalog.close()


# --- one mode --------------------------------------------------------------------------------------
def database_mb(url: str) -> float:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute("SELECT pg_database_size(current_database())").fetchone()[0] / 1e6


def app_probe(index: Path, store: dict, questions: list[str], out: Path) -> None:
    """A fresh process opening ``index`` as an app server does: the questions asked warm; its RSS, ask
    latency and search latency without the query embedding."""
    from assistant import Assistant, Settings
    from assistant.evaluation.metrics import percentile

    settings = Settings().replace(store=store)
    a = Assistant.open(index, settings=settings)
    try:
        qvecs = a.embedder.embed_queries(questions)
        for q in questions[:3]:
            a.ask(q)
        from assistant.text.normalize import tokenize

        lexical = a.index.snapshot().lexical
        ask_t, search_t, lexical_t = [], [], []
        for q, qv in zip(questions, qvecs):
            t = time.perf_counter()
            a.ask(q)
            ask_t.append(time.perf_counter() - t)
            t = time.perf_counter()
            if lexical is not None:
                lexical.search(tokenize(q), settings.retrieval.lexical_k)
            lexical_t.append(time.perf_counter() - t)
            t = time.perf_counter()
            a.retriever.search(q, settings.answer.max_citations, query_vector=qv)
            search_t.append(time.perf_counter() - t)
        out.write_text(json.dumps({
            "app_rss_mb": round(rss_mb(), 0), "app_ask_p50_ms": round(statistics.median(ask_t) * 1000, 1),
            "app_ask_p95_ms": round(percentile(ask_t, 95) * 1000, 1),
            "app_search_p50_ms": round(statistics.median(search_t) * 1000, 1),
            "app_search_p95_ms": round(percentile(search_t, 95) * 1000, 1),
            "app_lexical_p50_ms": round(statistics.median(lexical_t) * 1000, 1),
            "app_lexical_p95_ms": round(percentile(lexical_t, 95) * 1000, 1)}), encoding="utf-8")
    finally:
        a.close()


def worker(data: Path, mode: str, sizes: list[int], work: Path, seeds: list[Path], out: Path,
           n_questions: int, catalog_url: str | None = None) -> None:
    t_import = time.perf_counter()
    from assistant import Article, Assistant, Settings
    from assistant.evaluation.metrics import percentile
    from assistant.models.embedding.factory import build_embedder
    from assistant.text.sentences import split_sentences

    settings = Settings()
    base, questions = base_corpus(data)
    questions = questions[:n_questions]
    embedder = build_embedder(settings.embedding, settings.paths)
    print(f"[{mode}] model {embedder.model_id} ready in {time.perf_counter() - t_import:.0f} s; base corpus "
          f"{len(base)} articles; {len(questions)} questions", flush=True)
    server = None
    shared = data
    data = work / f"chroma-server-{mode}"
    store: dict = {}
    if mode in ("server", "served"):
        server, url = start_chroma(data)
        store["chroma_url"] = url
        print(f"[{mode}] chroma run on {url} (pid {server.pid})", flush=True)
    if mode == "served":
        if not catalog_url:
            raise SystemExit("the served mode needs --catalog-url (or ASSISTANT_TEST_PG_URL)")
        store["catalog_url"] = new_database(catalog_url, "bench_scale")
    settings = settings.replace(store=store)
    index = work / f"index-{mode}"
    index.mkdir(parents=True, exist_ok=True)
    if seeds and mode != "served":
        print(f"[{mode}] seeded {seed_cache(index / 'catalog.sqlite', seeds)} cached vectors", flush=True)
    max_chars = settings.chunking.max_sentence_chars
    counts = [len(split_sentences(a.text, max_chars=max_chars)) for a in base]
    results = []
    a = Assistant.open(index, settings=settings, embedder=embedder)
    if seeds and mode == "served":
        print(f"[{mode}] seeded {a.reuse_embeddings(seeds)} cached vectors", flush=True)
    try:
        have = a.index.catalog.count()[1]
        round_, at = 0, 0
        for target in sizes:
            batch = []
            while have < target:
                x = base[at]
                # ids unique to the step, so that a run resumed on a kept --work index adds, not skips
                batch.append(Article(id=f"s{target}r{round_}:{x.id}", text=x.text, title=x.title, source=x.source, lang=x.lang))
                have += counts[at]
                at += 1
                if at == len(base):
                    round_, at = round_ + 1, 0
            before = a.index.catalog.count()[1]
            t = time.perf_counter()
            rep = a.add(batch)
            build = time.perf_counter() - t
            assert not rep.failed and len(rep.added) == len(batch), rep.failed[:3]
            n_articles, n_sentences = a.index.catalog.count()
            for q in questions[:3]:
                a.ask(q)  # warm-up
            ask_t, embed_t, retrieve_t = [], [], []
            for q in questions:
                t = time.perf_counter()
                embedder.embed_query(q)
                embed_t.append(time.perf_counter() - t)
                t = time.perf_counter()
                ans = a.ask(q)
                ask_t.append(time.perf_counter() - t)
                retrieve_t.append(ans.timings.get("retrieve", float("nan")))
            row = {
                "mode": mode, "target": target, "sentences": n_sentences, "articles": n_articles,
                "chroma_vectors": a.index.vectors.count("sentences") + a.index.vectors.count("chunks"),
                "step_articles": len(batch), "step_seconds": round(build, 1),
                "step_sentences_per_s": round((n_sentences - before) / build, 1),
                "ask_p50_ms": round(statistics.median(ask_t) * 1000, 1), "ask_p95_ms": round(percentile(ask_t, 95) * 1000, 1),
                "retrieve_p50_ms": round(statistics.median(retrieve_t) * 1000, 1),
                "query_embedding_p50_ms": round(statistics.median(embed_t) * 1000, 1),
                "rss_mb": round(rss_mb(), 0), "peak_rss_mb": round(rss_mb(field="VmHWM"), 0),
                "server_rss_mb": round(rss_mb(server.pid), 0) if server else None,
                "disk_mb": round(tree_mb(index) + tree_mb(data) + (database_mb(store["catalog_url"]) if mode == "served"
                                                                    else 0), 0),
            }
            results.append(row)
            print(f"[{mode}] {json.dumps(row)}", flush=True)
            out.write_text(json.dumps(results, indent=1), encoding="utf-8")
        a.close()
        probe = out.with_suffix(".app.json")
        subprocess.run([sys.executable, "-m", "bench.scale", "--app-probe", str(index), "--worker-out", str(probe),
                        "--store", json.dumps(store), "--data", str(shared), "--questions", str(n_questions)],
                       check=True, cwd=ROOT)
        results[-1].update(json.loads(probe.read_text(encoding="utf-8")))
        print(f"[{mode}] app server: {probe.read_text(encoding='utf-8')}", flush=True)
        out.write_text(json.dumps(results, indent=1), encoding="utf-8")
    finally:
        a.close()
        if server is not None:
            server.terminate()
            server.wait(timeout=60)


# --- the report ------------------------------------------------------------------------------------
def write_report(rows: list[dict], md: Path, png: Path, meta: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    colors = {"embedded": "#1f77b4", "server": "#d62728", "served": "#2ca02c"}
    for mode in MODES:
        r = [x for x in rows if x["mode"] == mode]
        if not r:
            continue
        xs = [x["sentences"] for x in r]
        left.plot(xs, [x["ask_p50_ms"] for x in r], "o-", color=colors[mode], label=f"{mode} p50")
        left.plot(xs, [x["ask_p95_ms"] for x in r], "o--", color=colors[mode], alpha=0.6, label=f"{mode} p95")
        total = [x["rss_mb"] + (x["server_rss_mb"] or 0) for x in r]
        right.plot(xs, total, "o-", color=colors[mode], label=f"{mode}: all processes")
        if mode != "embedded":
            right.plot(xs, [x["rss_mb"] for x in r], "o:", color=colors[mode], alpha=0.7, label=f"{mode}: assistant only")
    if rows:
        emb = statistics.median(x["query_embedding_p50_ms"] for x in rows)
        left.axhline(emb, color="grey", lw=0.8, ls=":", label=f"query embedding alone ({emb:.0f} ms)")
    for ax, title, unit in ((left, "ask latency", "ms"), (right, "resident memory", "MB")):
        ax.set_xscale("log")
        ax.set_xlabel("sentences in the index")
        ax.set_ylabel(unit)
        ax.set_title(title)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(png, dpi=110)
    lines = [
        "## Scale: embedded Chroma vs a Chroma server",
        "",
        f"Measured by `python -m bench.scale` on {meta['date']} ({meta['machine']}); embedder {meta['model']}. "
        "Each index was grown in steps by adding the shared articles and QA contexts again under new ids; "
        "after each step the same "
        f"{meta['questions']} questions (Arabic and English, from the shared QA sets) were asked, warm.",
        "",
        f"![ask latency and memory by index size]({png.name})",
        "",
        "| mode | sentences | Chroma vectors | step build | ask p50 | ask p95 | of which query embedding | "
        "assistant RSS | chroma server RSS | disk | app server RSS | app search p50 / p95 |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for x in rows:
        server = f"{x['server_rss_mb']:.0f} MB" if x["server_rss_mb"] is not None else "—"
        app = (f"{x['app_rss_mb']:.0f} MB | {x['app_search_p50_ms']:.1f} / {x['app_search_p95_ms']:.1f} ms"
               if "app_rss_mb" in x else "— | —")
        lines.append(
            f"| {x['mode']} | {x['sentences']:,} | {x['chroma_vectors']:,} | {x['step_seconds']:.0f} s "
            f"({x['step_sentences_per_s']:.0f}/s) | {x['ask_p50_ms']:.0f} ms | {x['ask_p95_ms']:.0f} ms | "
            f"{x['query_embedding_p50_ms']:.0f} ms | {x['rss_mb']:.0f} MB | {server} | {x['disk_mb']:.0f} MB | {app} |"
        )
    lines += ["", *meta.get("notes", [])]
    md.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = arguments(__doc__, out=ROOT / "runs" / "scale.json")
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 300_000])
    ap.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    ap.add_argument("--questions", type=int, default=40)
    ap.add_argument("--seed-cache", type=Path, nargs="*", default=[], metavar="INDEX",
                    help="index folders whose cached embeddings (same model) seed the first mode's index")
    ap.add_argument("--work", type=Path, default=None, help="folder for the indexes (default: a temp folder, removed)")
    ap.add_argument("--md", type=Path, default=ROOT / "docs" / "scale.md")
    ap.add_argument("--png", type=Path, default=ROOT / "docs" / "scale.png")
    ap.add_argument("--parallel", action="store_true",
                    help="run the modes side by side (each takes about one core; both see the same load)")
    ap.add_argument("--catalog-url", default=os.environ.get("ASSISTANT_TEST_PG_URL"),
                    help="PostgreSQL URL for the served mode (a new database is created there)")
    ap.add_argument("--worker", choices=MODES, help=argparse.SUPPRESS)
    ap.add_argument("--worker-out", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--app-probe", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--store", default="{}", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    data = shared_data(args.data)
    if args.app_probe:
        app_probe(args.app_probe, json.loads(args.store), base_corpus(data)[1][: args.questions], args.worker_out)
        return 0
    if args.worker:
        worker(data, args.worker, args.sizes, args.work, args.seed_cache, args.worker_out, args.questions,
               args.catalog_url)
        return 0
    work = args.work or Path(tempfile.mkdtemp(prefix="scale-"))
    work.mkdir(parents=True, exist_ok=True)
    rows: list[dict] = []
    t0 = time.time()
    try:
        seeds = list(args.seed_cache)
        running: list[tuple[str, Path, subprocess.Popen]] = []
        for mode in args.modes:
            out = work / f"{mode}.json"
            cmd = [sys.executable, "-m", "bench.scale", "--worker", mode, "--worker-out", str(out), "--work",
                   str(work), "--data", str(data), "--questions", str(args.questions), "--sizes", *map(str, args.sizes)]
            if seeds:
                cmd += ["--seed-cache", *map(str, seeds)]
            if args.catalog_url:
                cmd += ["--catalog-url", args.catalog_url]
            print(f"== {mode}: {' '.join(cmd[1:])}", flush=True)
            running.append((mode, out, subprocess.Popen(cmd, env=os.environ, cwd=ROOT)))
            if not args.parallel:
                _collect(running.pop(), rows)
                seeds = [work / f"index-{mode}"]  # the next mode embeds nothing
        for item in running:
            _collect(item, rows)
        from assistant import Settings
        from assistant.models.fetch import GEMMA

        settings = Settings()
        model = GEMMA if settings.embedding.backend == "gemma" else settings.embedding.backend
        meta = {
            "date": time.strftime("%Y-%m-%d"), "model": model, "questions": args.questions,
            "machine": f"{os.cpu_count()} cores, {rss_total_gb():.0f} GB RAM, shared with other jobs"
                       + (", both modes side by side" if args.parallel else ""),
            "notes": [f"Total bench time: {(time.time() - t0) / 60:.0f} min. Raw figures: `{_shown(args.out)}`."],
        }
        write_result(args.out, settings, args, rows)
        write_report(rows, args.md, args.png, meta)
        print(f"wrote {args.md}, {args.png}", flush=True)
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


def _collect(item: tuple[str, Path, subprocess.Popen], rows: list[dict]) -> None:
    mode, out, proc = item
    code = proc.wait()
    if out.exists():
        rows += json.loads(out.read_text(encoding="utf-8"))
    if code != 0:
        print(f"== {mode} worker failed with exit code {code}; reporting what it measured", flush=True)


def _shown(path: Path | None) -> str:
    """``path`` relative to the repository when inside it."""
    if path is None:
        return "not kept (no --out)"
    p = path.resolve()
    return str(p.relative_to(ROOT) if p.is_relative_to(ROOT) else path)


def rss_total_gb() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) / 1024 / 1024
    return float("nan")


if __name__ == "__main__":
    sys.exit(main())
