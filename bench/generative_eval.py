"""Measure the generative mode on the first N questions of an XQuAD-style set.

Per answer: citation precision (share of citations holding the gold sentence or answer string, as
``assistant eval`` scores it), share of the model's sentences kept with a supporting citation, whether
the answer contains a gold answer, seconds per answer; and how often the program fell back to the
extractive answer (and why). The LLM comes from settings (environment), e.g.::

    ASSISTANT_LLM__PROVIDER=llamacpp ASSISTANT_LLM__MODEL=~/.cache/cited-assistant/models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf \\
    ASSISTANT_LLM__TIMEOUT=240 python -m bench.generative_eval xquad-dev.ar --n 50 --out runs/generative-ar.json

``SET``: a dev set's name (under ``--data``) or the path of a SQuAD-format file. ``--resume`` keeps the
answers already saved in ``--out`` and asks only the rest. ``--index``: an index that already holds the
set's contexts (default: the set's eval index, ``indexes/eval-<set>-<model tag>``, built when missing).
"""

from __future__ import annotations

import json
import re
import sys
import time
from collections import Counter
from pathlib import Path

from assistant import Assistant, Settings
from assistant.answer.generative import FLAGS, NOTICES
from assistant.answer.markers import find_markers, strip_markers
from assistant.evaluation.qasets import load_squad
from assistant.evaluation.results import score_answer
from assistant.models.embedding.factory import build_embedder
from assistant.text.sentences import split_sentences
from bench.common import arguments, index_path, load_set, shared_data, write_result

_FLAGS = tuple(FLAGS.values())
_REASON = {text: key for key, by_lang in NOTICES.items() for text in by_lang.values() if "{n}" not in text}


def _sentences(text: str) -> int:
    clean, _ = strip_markers(text, find_markers(text, 99))
    return len(split_sentences(clean))


def summarize(rows: list[dict], name: str, llm: str) -> dict:
    gen = [x for x in rows if x["mode"] == "generative"]
    prec = [x["precision"] for x in gen if x["precision"] is not None]
    model_s = sum(x["model_sentences"] for x in rows)
    return {
        "set": name, "n": len(rows), "llm": llm,
        "generative_share": round(len(gen) / len(rows), 3),
        "fallback_reasons": dict(Counter(x["reason"] for x in rows if x["mode"] != "generative")),
        "citation_precision_generated": round(sum(prec) / len(prec), 3) if prec else None,
        "supported_sentence_share": round(sum(x["supported_sentences"] for x in rows) / model_s, 3) if model_s else None,
        "contains_gold_generated": round(sum(x["contains"] for x in gen) / len(gen), 3) if gen else None,
        "contains_gold_all": round(sum(x["contains"] for x in rows) / len(rows), 3),
        "seconds_per_answer": round(sum(x["seconds"] for x in rows) / len(rows), 2),
    }


def main(argv: list[str] | None = None) -> int:
    ap = arguments(__doc__)
    ap.add_argument("questions", metavar="SET", help="a dev set's name, or a SQuAD-format file")
    ap.add_argument("--n", type=int, default=50)
    ap.add_argument("--index", default=None)
    ap.add_argument("--resume", action="store_true",
                    help="keep the rows already in --out and ask only the questions not answered there")
    args = ap.parse_args(argv)
    settings = Settings()
    if settings.llm.provider == "none":
        print("set ASSISTANT_LLM__PROVIDER (and MODEL/BASE_URL): the generative mode needs an LLM", file=sys.stderr)
        return 2
    given = Path(args.questions)
    if given.suffix == ".json":
        qset = load_squad(given, settings.chunking.max_sentence_chars)
    else:
        qset = load_set(shared_data(args.data, [args.questions]), args.questions, settings)
    embedder = build_embedder(settings.embedding, settings.paths)
    a = Assistant.open(args.index or index_path(settings, qset.name, embedder.vector_id), settings=settings,
                       embedder=embedder)
    rep = a.add(qset.articles)
    print(f"{a.path}: added {len(rep.added)}, unchanged {len(rep.unchanged)}", file=sys.stderr)

    def save(summary: dict, rows: list[dict]) -> None:
        """The summary and rows so far (after every answer: a run cut short keeps what it measured)."""
        write_result(args.out, settings, args, {"summary": summary, "rows": rows}, quiet=True)

    rows = []
    if args.resume and args.out and args.out.exists():
        rows = json.loads(args.out.read_text(encoding="utf-8"))["results"]["rows"]
        print(f"resuming after {len(rows)} answers in {args.out}", file=sys.stderr)
    done = {x["id"] for x in rows}
    for i, q in enumerate(qset.questions[: args.n], 1):
        if q.id in done:
            continue
        t0 = time.perf_counter()
        raw, ans = "", None
        for ev in a.ask_stream(q.question, mode="generative"):
            raw += ev.delta
            if ev.answer is not None:
                ans = ev.answer
        secs = time.perf_counter() - t0
        assert ans is not None
        r = score_answer(q, ans, [], secs, settings.answer.max_citations, "answerable")
        generated = ans.mode == "generative"
        # the deltas are the model's reply, then (on a fallback) the extractive text
        model_text = raw if generated else (raw[: -len(ans.text)] if raw.endswith(ans.text) else raw)
        n_model = _sentences(model_text) if model_text.strip() else 0
        kinds = Counter(c.kind for c in ans.changes)
        kept = sum(bool(re.search(r"\[\d+\]", x.text)) and not any(f in x.text for f in _FLAGS)
                   for x in split_sentences(ans.text)) if generated else 0  # cited and not flagged
        rows.append({
            "id": q.id, "question": q.question, "mode": ans.mode, "reason": "abstained" if ans.abstained else _REASON.get(ans.notice or "", "ok"),
            "answer": ans.text, "precision": r.precision, "contains": r.contains, "seconds": round(secs, 2),
            "model_sentences": n_model, "supported_sentences": kept, "changes": dict(kinds),
            "timings": ans.timings,
        })
        save(summarize(rows, qset.name, f"{settings.llm.provider}:{settings.llm.model}"), rows)  # partial
        print(f"[{i}/{args.n}] {ans.mode:10s} {rows[-1]['reason']:11s} prec={r.precision} contains={r.contains} "
              f"{secs:.1f}s", file=sys.stderr)
    summary = summarize(rows, qset.name, f"{settings.llm.provider}:{settings.llm.model}")
    print(json.dumps(summary, ensure_ascii=False, indent=2))
    save(summary, rows)
    a.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
