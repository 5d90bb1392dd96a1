"""The embedder runtimes side by side, from one run: the old torch path vs OpenVINO (issue 13).

Prints, on the same sentences and the same machine minutes:
  1. sentences/s of sentence-transformers on torch fp32 (the old path, batch 32) and of the OpenVINO
     runtime (bf16 where the CPU has it), the ratio, and the cosine between their vectors;
  2. ``Assistant.add`` throughput (a fresh index, nothing cached) against the raw runtime embedding
     exactly the sentences that add embeds (overhead = add time / raw time - 1);
  3. query embedding p50/p95 of both runtimes over dev questions, one at a time;
  4. first-citation hit@1 of the evaluator (hybrid, extractive) on each dev set with torch vectors and
     with OpenVINO vectors (each set's own eval index: ``eval-<set>-<vector id>``).

TyDi QA trained the embedder's adapter and the span reader: no figure is reported on it (--sets to add it).

    python -m bench.embedder_runtime [--sentences 320] [--sets xquad-dev.ar ...] [--out runs/embedder_runtime.json]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

from assistant import Assistant, Settings
from assistant.evaluation.metrics import percentile
from assistant.evaluation.run import run_evaluation
from assistant.models.embedding.factory import build_embedder
from assistant.text.sentences import split_article
from bench.common import HELD_OUT, arguments, load_set, set_file, shared_data, write_result

MIX = {"xquad-dev.ar": 0.5, "xquad-dev.en": 0.25, "arcd-train": 0.25}  # what the sentences are drawn from


def with_runtime(settings: Settings, runtime: str) -> Settings:
    return settings.replace(embedding={"runtime": runtime}, answer={"short_producer": "none"})


def sample_sentences(data: Path, n: int) -> tuple[list[str], list[str]]:
    """``n`` sentences (and their article titles) from the dev sets' contexts, in file order."""
    texts, titles = [], []
    for name, share in MIX.items():
        want = int(n * share)
        for art in load_set(data, name).articles:
            for s in split_article(art.id, art.text):
                if want == 0:
                    break
                texts.append(s.text)
                titles.append(art.title)
                want -= 1
    return texts, titles


def throughput(embedder, texts: list[str], titles: list[str]):  # noqa: ANN201 - (sentences/s, vectors)
    embedder.clear_memo()
    t = time.perf_counter()
    v = embedder.embed_documents(texts, titles)
    return len(texts) / (time.perf_counter() - t), v


def query_times(embedder, questions: list[str]) -> list[float]:
    out = []
    for q in questions:
        t = time.perf_counter()
        embedder.embed_query(q)
        out.append((time.perf_counter() - t) * 1000)
    return out


def add_overhead(data: Path, settings: Settings, embedder, set_name: str) -> dict:
    """``Assistant.add`` of a set's articles into a fresh index vs the raw runtime on the same sentences."""
    arts = load_set(data, set_name).articles
    sents = [(s.text, a.title) for a in arts for s in split_article(a.id, a.text)]
    uniq = list(dict.fromkeys(sents))
    raw_rate, _ = throughput(embedder, [t for t, _ in uniq], [h for _, h in uniq])
    raw_s = len(uniq) / raw_rate
    embedder.clear_memo()
    with tempfile.TemporaryDirectory() as tmp:
        s = settings.replace(index_root=Path(tmp))
        with Assistant.open("addbench", settings=s, embedder=embedder) as a:
            t = time.perf_counter()
            report = a.add(arts)
            add_s = time.perf_counter() - t
    return {"set": set_name, "articles": len(report.added), "sentences": len(uniq), "raw_s": raw_s, "add_s": add_s,
            "raw_per_s": len(uniq) / raw_s, "add_per_s": len(uniq) / add_s, "overhead": add_s / raw_s - 1}


def first_hit(data: Path, settings: Settings, embedder, name: str) -> tuple[float, int]:
    run = run_evaluation(set_file(data, name), settings=settings, embedder=embedder)
    g = run.metrics["all"]
    return g.first_hit, g.n_gold


def main(argv: list[str] | None = None) -> int:
    ap = arguments(__doc__, sets=HELD_OUT, out=Path("runs/embedder_runtime.json"))
    ap.add_argument("--sentences", type=int, default=320)
    ap.add_argument("--queries", type=int, default=40)
    ap.add_argument("--add-set", default="xquad-dev.ar")
    ap.add_argument("--skip-hits", action="store_true", help="stages 1-3 only")
    args = ap.parse_args(argv)
    data = shared_data(args.data, [*MIX, args.add_set, *args.sets])
    base = Settings()
    torch_settings, ov_settings = with_runtime(base, "torch"), with_runtime(base, "openvino")
    texts, titles = sample_sentences(data, args.sentences)
    questions = [q.question for name in ("xquad-dev.ar", "xquad-dev.en")
                 for q in load_set(data, name).questions[: args.queries // 2]]
    out: dict = {"sentences": len(texts), "queries": len(questions)}

    t = time.perf_counter()
    ov = build_embedder(ov_settings.embedding, ov_settings.paths)
    ov.wait()
    out["openvino_load_s"] = time.perf_counter() - t
    t = time.perf_counter()
    torch_emb = build_embedder(torch_settings.embedding, torch_settings.paths)
    out["torch_load_s"] = time.perf_counter() - t
    print(f"old: {torch_emb.vector_id} (torch)\nnew: {ov.vector_id}\n", flush=True)

    for e in (torch_emb, ov):  # warm both (first calls allocate)
        e.embed_documents(texts[:8], titles[:8])
        e.embed_query("warm up")
    new_rate, new_v = throughput(ov, texts, titles)
    old_rate, old_v = throughput(torch_emb, texts, titles)
    cos = (old_v * new_v).sum(1)
    out.update(torch_per_s=old_rate, openvino_per_s=new_rate, speedup=new_rate / old_rate,
               cosine_mean=float(cos.mean()), cosine_min=float(cos.min()))
    print(f"1. embedding {len(texts)} sentences (titles framed as at ingest):")
    print(f"   torch fp32 (batch {torch_emb.batch_size}): {old_rate:6.1f} sentences/s")
    print(f"   {ov.runtime:18s}: {new_rate:6.1f} sentences/s   ratio {new_rate / old_rate:.2f}x (bar >= 3x)")
    print(f"   cosine new vs old: mean {cos.mean():.5f}, min {cos.min():.5f}\n", flush=True)

    add = add_overhead(data, ov_settings, ov, args.add_set)
    out["add"] = add
    print(f"2. Assistant.add of {args.add_set} ({add['articles']} articles, {add['sentences']} distinct sentences):")
    print(f"   raw runtime {add['raw_per_s']:.1f}/s ({add['raw_s']:.1f} s), add {add['add_per_s']:.1f}/s "
          f"({add['add_s']:.1f} s): overhead {add['overhead'] * 100:+.1f}% (bar <= 15%)\n", flush=True)

    qt_new = query_times(ov, questions)  # first: torch's idle worker threads must not share the cores with it
    qt_old = query_times(torch_emb, questions)
    for label, qt in (("torch", qt_old), ("openvino", qt_new)):
        out[f"query_ms_{label}"] = {"p50": statistics.median(qt), "p95": percentile(qt, 95)}
    print(f"3. query embedding, {len(questions)} questions one at a time: torch p50 {statistics.median(qt_old):.0f} ms "
          f"p95 {percentile(qt_old, 95):.0f} ms; openvino p50 {statistics.median(qt_new):.0f} ms "
          f"p95 {percentile(qt_new, 95):.0f} ms (bar p50 <= 40 ms)\n", flush=True)

    out["hits"] = {}
    print("4. first-citation hit@1 (evaluator, hybrid, extractive; old vs new vectors; bar: no set lower by > 0.005)")
    for name in [] if args.skip_hits else args.sets:
        old_hit, n = first_hit(data, torch_settings, torch_emb, name)
        new_hit, _ = first_hit(data, ov_settings, ov, name)
        out["hits"][name] = {"torch": old_hit, "openvino": new_hit, "n": n}
        print(f"   {name:16s} n={n:4d}  torch {old_hit:.3f}  openvino {new_hit:.3f}  diff {new_hit - old_hit:+.3f}",
              flush=True)
    write_result(args.out, base, args, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
