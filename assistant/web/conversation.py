"""The conversation: its turns (:class:`Turn`), its chat messages, and what leaves the page as data:
the API's answer, a feedback line, the Markdown and JSON exports."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from assistant.types import Answer
from assistant.web.answers import pending_html, question_html

__all__ = ["Turn", "turn_messages", "conversation_messages", "api_answer", "feedback_record", "conversation_json",
           "conversation_markdown"]


@dataclass(slots=True)
class Turn:
    """One exchange of the conversation: the question, the final answer (without its retrieved passages)
    or an error, and the assistant's rendered message."""

    question: str
    collection: str
    answer: Answer | None = None
    error: str | None = None
    html: str = ""
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    asked_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))


def turn_messages(turn: Turn) -> list[dict[str, str]]:
    """The two chat messages (user, assistant) of one turn."""
    return [
        {"role": "user", "content": question_html(turn.question)},
        {"role": "assistant", "content": turn.html or pending_html("", "en")},
    ]


def conversation_messages(turns: Iterable[Turn]) -> list[dict[str, str]]:
    """All chat messages, two per turn (so message ``i`` belongs to turn ``i // 2``)."""
    return [m for t in turns for m in turn_messages(t)]


def api_answer(answer: Answer) -> dict[str, Any]:
    """The answer as plain JSON data: ``Answer.to_dict()`` without the retrieved passages."""
    data = answer.to_dict()
    data.pop("passages", None)
    return data


def feedback_record(turn: Turn, vote: str, comment: str | None = None) -> dict[str, Any]:
    """One line of ``feedback.jsonl``: the vote ("up"/"down"), the comment, and what was rated."""
    ans = turn.answer
    return {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "turn_id": turn.id,
        "collection": turn.collection,
        "vote": vote,
        "comment": (comment or "").strip() or None,
        "question": turn.question,
        "answer": ans.text if ans else None,
        "error": turn.error,
        "abstained": ans.abstained if ans else None,
        "mode": ans.mode if ans else None,
        "citations": [
            {"n": c.n, "article_id": c.article_id, "sentence_id": c.sentence_id, "start": c.start, "end": c.end}
            for c in (ans.citations if ans else [])
        ],
    }


def conversation_json(turns: Sequence[Turn]) -> dict[str, Any]:
    """The conversation as data: each question with its full answer and citations (or its error)."""
    return {
        "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "turns": [
            {
                "id": t.id,
                "asked_at": t.asked_at,
                "collection": t.collection,
                "question": t.question,
                "answer": api_answer(t.answer) if t.answer else None,
                "error": t.error,
            }
            for t in turns
        ],
    }


def conversation_markdown(turns: Sequence[Turn]) -> str:
    """The conversation as Markdown: each question, its answer, and its sources with the cited sentences."""
    out = ["# Conversation", ""]
    for i, t in enumerate(turns, 1):
        out += [f"## {i}. {t.question.strip()}", "", f"*Collection: {t.collection} · asked {t.asked_at}*", ""]
        if t.answer is None:
            out += [f"Error: {t.error or 'no answer'}", ""]
            continue
        if t.answer.notice:
            out += [f"*{t.answer.notice}*", ""]
        out += [t.answer.text, ""]
        if t.answer.citations:
            out += ["Sources:", ""]
            for c in t.answer.citations:
                meta = ", ".join(x for x in (c.source, c.date) if x)
                head = f"[{c.n}] {c.title or c.article_id}" + (f" — {meta}" if meta else "")
                out += [f"{head} (article `{c.article_id}`, characters {c.start}–{c.end})", "", f"> {c.text}", ""]
    return "\n".join(out).rstrip() + "\n"
