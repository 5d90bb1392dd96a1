"""Question sets: SQuAD v1.1 JSON (contexts become articles) and our JSONL format.

Gold sentences are located with the same splitter the index uses, from the answer's start offset in
its own context (never by sentence position across languages).

JSONL, one question per line (docs/evaluation.md has a worked example)::

    {"id": "q1", "question": "...", "answers": ["..."], "article_id": "a1",
     "gold_sentences": ["<sentence id>"] | "gold_text": ["<sentence text>"], "lang": "ar"}

``answers`` may be strings or {"text", "answer_start"} objects; an answer_start (into the article
text) locates the gold sentence when neither gold field is given; with none of them, the sentences
holding an answer string are gold.

For an evaluation with unanswerable questions, :func:`hold_out` picks the questions whose articles are
withheld from a second index, and :func:`on_topic_hold_out` the questions whose own paragraph is withheld
from a third while the other paragraphs of their article stay (see assistant/evaluation/run.py).
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from assistant.errors import IngestError, MalformedInputError
from assistant.ingest.reading import iter_files, read_path
from assistant.text.language import detect_language
from assistant.text.sentences import split_article
from assistant.types import Article

__all__ = [
    "Question",
    "QuestionSet",
    "load_squad",
    "load_jsonl",
    "load_questions",
    "gold_sentence_ids",
    "read_articles",
    "first_articles",
    "hold_out",
    "on_topic_hold_out",
]


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    answers: list[str]
    article_id: str
    gold_sentence_ids: list[str]
    lang: str
    article_lang: str
    extra: dict = field(default_factory=dict)
    gold_texts: list[str] = field(default_factory=list)  # texts of the gold sentences, same order as the ids

    @property
    def pair(self) -> str:
        """Language pair, question→article: 'ar→ar', 'en→ar', ..."""
        return f"{self.lang}→{self.article_lang}"


@dataclass(frozen=True)
class QuestionSet:
    name: str
    articles: list[Article]
    questions: list[Question]


def _sentence_ids_with_offsets(article_id: str, text: str, max_chars: int) -> list[tuple[str, int, int, str]]:
    return [(s.id, s.start, s.end, s.text) for s in split_article(article_id, text, max_chars=max_chars)]


def gold_sentence_ids(article_id: str, text: str, starts: list[int], max_chars: int = 1000) -> list[str]:
    """Ids of the sentences holding each answer start (an answer start in the gap after a sentence counts
    for that sentence)."""
    sents = _sentence_ids_with_offsets(article_id, text, max_chars)
    gold: list[str] = []
    for st in starts:
        for sid, s, e, _ in sents:
            if s <= st <= e:
                if sid not in gold:
                    gold.append(sid)
                break
    return gold


def _texts_of(article_id: str, text: str, ids: list[str], max_chars: int) -> list[str]:
    by_id = {sid: t for sid, _, _, t in _sentence_ids_with_offsets(article_id, text, max_chars)}
    return [by_id.get(i, "") for i in ids]


def load_squad(path: Path, max_chars: int = 1000) -> QuestionSet:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        entries = data["data"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise MalformedInputError(str(path), f"is not SQuAD v1.1 JSON with a 'data' list ({e})") from e
    stem = Path(path).stem
    articles: list[Article] = []
    questions: list[Question] = []
    n = 0
    for entry in entries:
        title = str(entry.get("title", "")).replace("_", " ") or None
        for para in entry["paragraphs"]:
            n += 1
            aid = f"{stem}:{n:04d}"
            ctx = para["context"]
            alang = detect_language(ctx, default="ar")
            articles.append(Article(id=aid, text=ctx, title=title, source=stem, lang=alang))
            for qa in para["qas"]:
                starts = [a["answer_start"] for a in qa["answers"]]
                gold = gold_sentence_ids(aid, ctx, starts, max_chars)
                questions.append(
                    Question(
                        id=str(qa["id"]), question=qa["question"], answers=[a["text"] for a in qa["answers"]],
                        article_id=aid, gold_sentence_ids=gold,
                        lang=detect_language(qa["question"], default="ar"), article_lang=alang,
                        extra={k: v for k, v in qa.items() if k not in ("id", "question", "answers")},
                        gold_texts=_texts_of(aid, ctx, gold, max_chars),
                    )
                )
    return QuestionSet(stem, articles, questions)


def with_parallel_answers(qset: QuestionSet, path: Path) -> QuestionSet:
    """``qset`` with each question's gold answers from a parallel SQuAD file (same question ids, another
    language: XQuAD's English file for its English-over-Arabic set) in ``extra["answers_other"]``, so the
    short answer can be scored in the question's language. A question id the file lacks is refused."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        other = {str(qa["id"]): [a["text"] for a in qa["answers"]]
                 for entry in data["data"] for para in entry["paragraphs"] for qa in para["qas"]}
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise MalformedInputError(str(path), f"is not SQuAD v1.1 JSON with a 'data' list ({e})") from e
    missing = [q.id for q in qset.questions if q.id not in other]
    if missing:
        raise MalformedInputError(str(path), f"lacks {len(missing)} question ids of {qset.name} (first: {missing[0]}); "
                                  "give the parallel file of the same set")
    questions = [replace(q, extra={**q.extra, "answers_other": other[q.id]}) for q in qset.questions]
    return QuestionSet(qset.name, qset.articles, questions)


def load_jsonl(path: Path, articles: list[Article], max_chars: int = 1000) -> QuestionSet:
    """Questions from our JSONL format over ``articles`` (read separately with --articles)."""
    by_id = {a.id: a for a in articles}
    questions: list[Question] = []
    for lineno, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        where = f"{path}:{lineno}"
        try:
            rec = json.loads(line)
            q = rec["question"]
            aid = str(rec["article_id"])
        except (ValueError, KeyError, TypeError) as e:
            raise MalformedInputError(where, f"needs 'question' and 'article_id' ({e})") from e
        art = by_id.get(aid)
        if art is None:
            raise MalformedInputError(where, f"article_id {aid!r} is not among the articles (given with --articles, or in --index)")
        raw_answers = rec.get("answers", [])
        answers = [a["text"] if isinstance(a, dict) else str(a) for a in raw_answers]
        starts = [a["answer_start"] for a in raw_answers if isinstance(a, dict) and "answer_start" in a]
        sents = _sentence_ids_with_offsets(aid, art.text, max_chars)
        if rec.get("gold_sentences"):
            gold = [str(s) for s in rec["gold_sentences"]]
            known = {sid for sid, _, _, _ in sents}
            unknown = [g for g in gold if g not in known]
            if unknown:
                raise MalformedInputError(
                    where, f"gold_sentences {unknown} are not sentence ids of article {aid!r}; give 'gold_text' "
                    "(the sentence itself) instead, or take the ids from `assistant ask --json`",
                )
        elif rec.get("gold_text"):
            wanted = [rec["gold_text"]] if isinstance(rec["gold_text"], str) else rec["gold_text"]
            gold = [sid for sid, _, _, t in sents if any(w.strip() == t or w.strip() in t for w in wanted)]
        elif starts:
            gold = gold_sentence_ids(aid, art.text, starts, max_chars)
        else:
            gold = [sid for sid, _, _, t in sents if any(a and a in t for a in answers)]
        texts = {sid: t for sid, _, _, t in sents}
        questions.append(
            Question(
                id=str(rec.get("id", f"{Path(path).stem}-{lineno}")), question=q, answers=answers, article_id=aid,
                gold_sentence_ids=gold, lang=rec.get("lang") or detect_language(q, default="ar"),
                article_lang=art.lang or detect_language(art.text, default="ar"),
                extra={k: v for k, v in rec.items() if k not in _JSONL_KEYS},
                gold_texts=[texts[g] for g in gold],
            )
        )
    return QuestionSet(Path(path).stem, articles, questions)


_JSONL_KEYS = {"id", "question", "answers", "article_id", "gold_sentences", "gold_text", "lang"}


def load_questions(path: Path, articles: list[Article] | None = None, max_chars: int = 1000) -> QuestionSet:
    """SQuAD JSON (.json) or our JSONL (.jsonl, needs ``articles``)."""
    path = Path(path)
    if path.suffix.lower() == ".jsonl":
        if not articles:
            raise MalformedInputError(str(path), "a JSONL question set needs its articles: pass --articles PATH, or --index of an index that holds them")
        return load_jsonl(path, articles, max_chars)
    return load_squad(path, max_chars)


def read_articles(paths: Iterable[str | Path], extensions: tuple[str, ...], max_bytes: int) -> list[Article]:
    """The articles in files or folders (same readers and ids as ``assistant ingest``).

    An evaluation needs its whole corpus: any file that cannot be read raises its IngestError.
    """
    out: list[Article] = []
    for src in paths:
        target = Path(src)
        if not target.exists():
            raise IngestError(str(target), "does not exist; check the --articles path")
        for file, file_id in iter_files(target, extensions):
            for item in read_path(file, file_id, max_bytes=max_bytes):
                if isinstance(item, IngestError):
                    raise item
                out.append(item)
    return out


def first_articles(qset: QuestionSet, n: int) -> QuestionSet:
    """The first ``n`` articles of a set and only their questions (a quick smoke run)."""
    keep = qset.articles[:n]
    ids = {a.id for a in keep}
    return replace(qset, articles=keep, questions=[q for q in qset.questions if q.article_id in ids])


def _groups_of(qset: QuestionSet) -> dict[str, str]:
    """Article id → its source document: articles sharing a title are one (SQuAD splits a page into
    paragraphs under one title); an article without a title is its own."""
    return {a.id: (f"title:{a.title}" if a.title else f"id:{a.id}") for a in qset.articles}


def hold_out(qset: QuestionSet, n: int, seed: int = 0) -> tuple[list[Question], set[str]]:
    """Pick ``n`` questions to ask as unanswerable, and the articles to withhold for them.

    Articles are grouped by source document: articles sharing a title are one group (SQuAD splits a
    Wikipedia page into paragraphs under one title, and a sibling paragraph often answers the same
    question, which would make a "withheld" question answerable); an article without a title is its own
    group. Groups are shuffled with ``seed``; all questions of each group are taken in file order until
    ``n`` are picked (the last group may give only some), and all of its articles are withheld. This
    withholds as little as possible, so the index they are asked against stays close to the whole
    corpus; at least one group always stays. Returns (questions, withheld article ids).
    """
    if n <= 0:
        return [], set()
    group_of = _groups_of(qset)
    members: dict[str, set[str]] = {}
    for a in qset.articles:
        members.setdefault(group_of[a.id], set()).add(a.id)
    by_group: dict[str, list[Question]] = {}
    for q in qset.questions:
        by_group.setdefault(group_of.get(q.article_id, f"id:{q.article_id}"), []).append(q)
    order = sorted(by_group)
    random.Random(seed).shuffle(order)
    picked: list[Question] = []
    withheld: set[str] = set()
    for group in order:
        if len(picked) >= n:
            break
        if not set(members) - {group_of.get(a) for a in withheld} - {group}:
            break  # keep at least one group of articles in the index
        withheld |= members.get(group, {by_group[group][0].article_id})
        picked.extend(by_group[group][: n - len(picked)])
    return picked, withheld


def on_topic_hold_out(qset: QuestionSet, n: int, seed: int = 0) -> tuple[list[Question], set[str]]:
    """Pick ``n`` questions to ask as *on-topic* unanswerable, and the paragraphs (articles) to withhold.

    The index they are asked against lacks their own paragraph but keeps the other paragraphs of their
    source document (the articles with the same title, :func:`hold_out`'s grouping): what it holds is about
    the subject without answering the question. Only documents with at least two paragraphs are used, and
    at least one paragraph of each stays. Paragraphs are taken one document at a time: the documents are
    shuffled with ``seed`` and so are the paragraphs of each; the first round takes one paragraph of every
    document in that order, the next round a second one, and so on (each document keeps one), so the
    withheld paragraphs spread over the subjects and each document loses as little as possible. The
    questions of each paragraph are taken in file order until ``n`` are picked (the last paragraph may give
    only some); a paragraph without questions is not withheld. Returns (questions, withheld article ids).
    """
    if n <= 0:
        return [], set()
    group_of = _groups_of(qset)
    members: dict[str, list[str]] = {}
    for a in qset.articles:
        members.setdefault(group_of[a.id], []).append(a.id)
    by_article: dict[str, list[Question]] = {}
    for q in qset.questions:
        by_article.setdefault(q.article_id, []).append(q)
    rng = random.Random(seed)
    order = sorted(g for g, ids in members.items() if len(ids) >= 2)
    rng.shuffle(order)
    shuffled = {g: rng.sample(members[g], len(members[g])) for g in order}
    rounds = max((len(ids) for ids in shuffled.values()), default=0) - 1
    candidates = [shuffled[g][r] for r in range(rounds) for g in order if r < len(shuffled[g]) - 1]
    picked: list[Question] = []
    withheld: set[str] = set()
    for aid in candidates:
        if len(picked) >= n:
            break
        asked = by_article.get(aid, [])[: n - len(picked)]
        if asked:
            withheld.add(aid)
            picked.extend(asked)
    return picked, withheld
