"""The records that flow through the assistant: file → Article → Sentence → Passage → Answer/Citation.

All are frozen dataclasses; ``to_dict()`` gives plain JSON-ready data.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from assistant.errors import ConfigError
from assistant.text.characters import clean_text

__all__ = [
    "Article",
    "ArticleInfo",
    "Sentence",
    "Passage",
    "Citation",
    "Answer",
    "ShortAnswer",
    "AnswerChange",
    "IngestReport",
    "StreamEvent",
    "Lang",
    "AnswerMode",
    "RetrieverMode",
    "ANSWER_MODES",
    "RETRIEVER_MODES",
    "ShortProducerName",
    "SHORT_PRODUCERS",
    "check_choice",
]

Lang = Literal["ar", "en"]
AnswerMode = Literal["extractive", "generative"]
RetrieverMode = Literal["hybrid", "dense", "bm25"]
ShortProducerName = Literal["auto", "reader", "rules", "llm", "none"]
ANSWER_MODES: tuple[str, ...] = get_args(AnswerMode)
RETRIEVER_MODES: tuple[str, ...] = get_args(RetrieverMode)
SHORT_PRODUCERS: tuple[str, ...] = get_args(ShortProducerName)


def check_choice(value: object, choices: Any, name: str) -> str:
    """``value`` when it is one of ``choices`` (a ``Literal`` such as :data:`AnswerMode`, or a tuple of
    strings), else a ConfigError naming ``name`` and the choices. The one check of modes and retrievers
    given by a caller (CLI, web chat, evaluation); the CLI's argparse choices are the same tuples."""
    options = tuple(get_args(choices)) or tuple(choices)
    if value not in options:
        listed = [repr(o) for o in options]
        alternatives = listed[0] if len(listed) == 1 else ", ".join(listed[:-1]) + " or " + listed[-1]
        raise ConfigError(f"{name} must be {alternatives}, not {value!r}")
    return value  # type: ignore[return-value]


class _Record:
    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)  # type: ignore[call-overload]


@dataclass(frozen=True, slots=True)
class Article(_Record):
    """An article to index. ``text`` is kept exactly as given: citation offsets point into it."""

    id: str
    text: str
    title: str | None = None
    source: str | None = None
    date: str | None = None
    lang: str | None = None
    path: str | None = None


@dataclass(frozen=True, slots=True)
class ArticleInfo(_Record):
    """What the index knows about one stored article (without its text)."""

    id: str
    title: str | None
    source: str | None
    date: str | None
    lang: str
    n_sentences: int
    path: str | None
    content_hash: str

    def to_article(self, text: str) -> Article:
        """The stored article as an :class:`Article` again (with its stored ``text``)."""
        return Article(id=self.id, text=text, title=self.title, source=self.source, date=self.date,
                       lang=self.lang, path=self.path)


@dataclass(frozen=True, slots=True)
class Sentence(_Record):
    """One sentence of an article: ``article.text[start:end] == text`` (code points)."""

    id: str
    article_id: str
    index: int
    start: int
    end: int
    text: str


@dataclass(frozen=True, slots=True)
class Passage(_Record):
    """A retrieved sentence with its scores (``score`` is the fused one used for ranking; ``answer_type``:
    1.0 when it holds the kind of thing the question asks for and lacks, see assistant/retrieve/answer_type.py)."""

    sentence: Sentence
    score: float
    dense: float
    context: float
    lexical: float
    answer_type: float = 0.0


@dataclass(frozen=True, slots=True)
class Citation(_Record):
    """A numbered citation ``[n]`` pointing at one sentence of one article."""

    n: int
    article_id: str
    sentence_id: str
    text: str
    start: int
    end: int
    score: float
    title: str | None = None
    source: str | None = None
    date: str | None = None
    lang: str | None = None


@dataclass(frozen=True, slots=True)
class ShortAnswer(_Record):
    """The short answer: exact words of one cited sentence, ``article_text[start:end] == text`` (code
    points into the article, inside citation ``n``'s sentence). ``translation``: the same in the
    question's language when that differs from the article's and it could be put into it, else None;
    ``translated_by``: how (``rules``: an exact conversion of numbers, amounts, dates and years,
    assistant/text/english_rules.py; ``llm``: a machine translation by the configured model); ``confidence``
    in [0, 1]; ``method``: the producer that found it (assistant/answer/short/)."""

    text: str
    article_id: str
    sentence_id: str
    start: int
    end: int
    n: int
    confidence: float
    method: str
    translation: str | None = None
    translated_by: str | None = None


@dataclass(frozen=True, slots=True)
class AnswerChange(_Record):
    """One edit the citation checker made to a generated answer (kind: dropped_marker, removed_sentence,
    flagged_sentence, added_citation, number_mismatch)."""

    kind: str
    detail: str
    sentence: str = ""


@dataclass(frozen=True, slots=True)
class Answer(_Record):
    """An answer with citations. ``text`` carries ``[n]`` markers matching ``citations[i].n``.

    ``text`` is display text: bidi controls, zero-width characters and stray controls of the quoted
    sentences are removed from it (they could reorder or hide what a reader sees); each
    ``Citation.text`` stays the exact slice of the article, with them."""

    question: str
    text: str
    citations: list[Citation]
    abstained: bool
    lang: str
    mode: str = "extractive"
    standalone_question: str | None = None
    notice: str | None = None
    changes: list[AnswerChange] = field(default_factory=list)
    passages: list[Passage] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    short: ShortAnswer | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "text", clean_text(self.text))


@dataclass(slots=True)
class IngestReport(_Record):
    """What one ``add`` call did. ``failed`` holds (file or article id, reason); the rest is indexed."""

    added: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed


@dataclass(frozen=True, slots=True)
class StreamEvent(_Record):
    """One step of a streamed answer: a text ``delta``, or (last) the final ``answer``."""

    delta: str = ""
    answer: Answer | None = None
