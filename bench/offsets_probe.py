"""The offsets probe (issue 14): do citations index the text the caller supplied, exactly, and are the
evaluator's gold sentence ids the indexed ones?

For every context of the shared dev sets (each a supplied-text ``Article``), as given and, with
``--hostile``, with invisible characters put in as a copy-paste from the web puts them (a BOM at the
start, a zero-width space inside a word, a right-to-left override around a phrase, a Windows line end;
the SQuAD answer offsets moved with them):

1. every indexed sentence: ``context[s.start:s.end] == s.text``, and the indexed sentence ids are those
   the evaluator computes from the context (``split_article``, as ``load_squad`` does);
2. every gold sentence id of every question is an indexed sentence id;
3. every citation of every question asked (extractive, no short answer): ``context[c.start:c.end] ==
   c.text`` and ``Assistant.article(c.article_id)`` returns the context itself.

    python -m bench.offsets_probe [--sets xquad-dev.ar ...] [--hostile] [--max-questions N]

Indexes go to a temporary folder; the embedding cache of the eval indexes is reused when present.
"""

from __future__ import annotations

import json
import random
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from assistant import Assistant, Settings
from assistant.evaluation.qasets import QuestionSet, gold_sentence_ids
from assistant.models.embedding.factory import build_embedder
from assistant.text.sentences import split_article
from bench.common import DEV_SETS, arguments, index_path, load_set, set_file, shared_data, write_result


def hostile(data: Path, qset: QuestionSet, seed: int = 0) -> QuestionSet:
    """``qset`` with invisible characters inserted into each context and the answer starts moved."""
    rng = random.Random(seed)
    raw = json.loads(set_file(data, qset.name).read_text(encoding="utf-8"))
    starts = {str(qa["id"]): [a["answer_start"] for a in qa["answers"]]
              for e in raw["data"] for p in e["paragraphs"] for qa in p["qas"]}
    articles, moved = [], {}
    for art in qset.articles:
        text = art.text
        words = [i for i in range(1, len(text) - 1) if text[i - 1].isalpha() and text[i].isalpha()]
        spaces = [i for i, ch in enumerate(text) if ch == " "]
        inserts = [(0, "\ufeff")]  # (position in the original, characters)
        if words:
            inserts.append((rng.choice(words), "\u200b"))
        if len(spaces) >= 3:
            a, b = sorted(rng.sample(spaces, 2))
            inserts += [(a + 1, "\u202e"), (b, "\u202c")]
        if spaces:
            inserts.append((rng.choice(spaces), "\r\n"))
        inserts.sort()
        out, last = [], 0
        for pos, chars in inserts:
            out.append(text[last:pos])
            out.append(chars)
            last = pos
        out.append(text[last:])
        new = "".join(out)

        def shift(p: int, inserts: list = inserts) -> int:
            return p + sum(len(c) for pos, c in inserts if pos <= p)

        articles.append(replace(art, text=new))
        moved[art.id] = (new, shift)
    questions = []
    for q in qset.questions:
        new, shift = moved[q.article_id]
        gold = gold_sentence_ids(q.article_id, new, [shift(s) for s in starts[q.id]])
        questions.append(replace(q, gold_sentence_ids=gold))
    return QuestionSet(qset.name + "+hostile", articles, questions)


def probe(a: Assistant, qset: QuestionSet, max_questions: int | None) -> dict:
    context = {art.id: art.text for art in qset.articles}
    bad_sentences = bad_ids = 0
    indexed: set[str] = set()
    for aid, text in context.items():
        stored = a.index.catalog.sentences_of(aid)
        indexed.update(s.id for s in stored)
        bad_sentences += sum(text[s.start : s.end] != s.text for s in stored)
        bad_ids += [s.id for s in stored] != [s.id for s in split_article(aid, text)]
    gold_missing = sum(g not in indexed for q in qset.questions for g in q.gold_sentence_ids)
    n_gold = sum(len(q.gold_sentence_ids) for q in qset.questions)
    citations = bad_citations = bad_article = 0
    asked = qset.questions[:max_questions] if max_questions else qset.questions
    for q in asked:
        for c in a.ask(q.question, mode="extractive").citations:
            citations += 1
            text = context.get(c.article_id)
            bad_citations += text is None or text[c.start : c.end] != c.text
            bad_article += a.article(c.article_id)[1] != text
    return {"set": qset.name, "contexts": len(context), "sentences": len(indexed), "bad_sentences": bad_sentences,
            "articles_with_other_ids": bad_ids, "gold_ids": n_gold, "gold_not_indexed": gold_missing,
            "questions": len(asked), "citations": citations, "citation_slice_differs": bad_citations,
            "article_text_differs": bad_article}


def main(argv: list[str] | None = None) -> int:
    ap = arguments(__doc__, sets=DEV_SETS)
    ap.add_argument("--hostile", action="store_true", help="also each set with invisible characters put in")
    ap.add_argument("--max-questions", type=int, default=None)
    args = ap.parse_args(argv)
    data = shared_data(args.data, args.sets)
    settings = Settings().replace(answer={"short_producer": "none"})
    embedder = build_embedder(settings.embedding, settings.paths)
    rows = []
    with tempfile.TemporaryDirectory(prefix="offsets-probe-") as tmp:
        for name in args.sets:
            base = load_set(data, name, settings)
            for qset in [base, hostile(data, base)] if args.hostile else [base]:
                t = time.perf_counter()
                with Assistant.open(Path(tmp) / qset.name, settings=settings, embedder=embedder) as a:
                    cached = index_path(settings, name, embedder.vector_id)
                    if cached.exists():
                        a.reuse_embeddings([str(cached)])
                    rep = a.add(qset.articles)
                    if rep.failed:
                        print(f"{qset.name}: failed {rep.failed[:3]}", file=sys.stderr)
                    rows.append(probe(a, qset, args.max_questions))
                print(f"{qset.name}: {time.perf_counter() - t:.0f} s", file=sys.stderr)
    cols = list(rows[0])
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    for r in rows:
        print("| " + " | ".join(str(r[c]) for c in cols) + " |")
    bad = sum(r["bad_sentences"] + r["articles_with_other_ids"] + r["gold_not_indexed"] + r["citation_slice_differs"]
              + r["article_text_differs"] for r in rows)
    print(f"problems: {bad}")
    write_result(args.out, settings, args, {"rows": rows, "problems": bad})
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
