"""Generative answers: an LLM writes the answer from numbered sentences; the program owns the citations.

Flow: the best retrieved sentences (``settings.answer.max_sources``; unset: 8 for a server, 3 for an
in-process llama.cpp model; duplicates dropped) are shown to
the model as numbered sources ``[1]..[n]`` inside a data section of the prompt (prompts/answer.*);
its reply is streamed as it comes; then assistant/answer/citecheck.py checks every sentence of it against
the sentences it cites, drops or adds markers, removes or flags what is unsupported, and renumbers
the citations ``[1]..[m]`` to match ``Answer.citations``. The final ``Answer`` may therefore differ from
the streamed text; ``Answer.changes`` lists every edit.

The extractive answer, with a one-line notice in the question's language, is given instead when:
no LLM is configured; the LLM fails (down, HTTP error, malformed reply); it does not finish within
``settings.llm.timeout`` seconds; or its reply is unusable: empty, "NO_ANSWER", in the wrong
language, or without one sentence its sources support. No LLM call is made when retrieval already
abstains (the evidence is too weak).

Follow-ups: ``condense_question`` (assistant/answer/condense.py) asks the LLM to rewrite a follow-up into
a standalone question (prompts/condense.*); on any failure the heuristic of assistant/answer/followup.py
decides.

``GenerativeAnswerer`` is built by the facade with the answer and LLM settings, the chat model (or None),
the embedder of the support check and the extractive answerer it falls back to.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence

from assistant.answer.answerer import AnswerRequest
from assistant.answer.citecheck import check_answer
from assistant.answer.condense import condense_question
from assistant.answer.extractive import ExtractiveAnswerer, make_citations
from assistant.answer.markers import find_markers, strip_markers
from assistant.answer.prompts import NO_ANSWER, format_sources, render_messages
from assistant.errors import LLMError, LLMTimeoutError
from assistant.models.calibration import Calibration, load_calibration
from assistant.models.chat import ChatModel
from assistant.models.embedding.protocol import Embedder
from assistant.settings import AnswerSettings, LLMSettings
from assistant.text.language import detect_language
from assistant.text.normalize import normalize
from assistant.types import Answer, AnswerMode, Passage, StreamEvent

__all__ = ["GenerativeAnswerer", "NOTICES", "FLAGS"]

log = logging.getLogger(__name__)

NOTICES: dict[str, dict[str, str]] = {
    "no_llm": {
        "ar": "لا يوجد نموذج لغوي مُعدّ؛ هذه إجابة مقتبسة من المقالات.",
        "en": "No LLM is configured; this is the extractive answer quoted from the articles.",
    },
    "timeout": {
        "ar": "لم يُكمل النموذج اللغوي إجابته في الوقت المحدد؛ هذه إجابة مقتبسة من المقالات.",
        "en": "The LLM did not answer in time; this is the extractive answer quoted from the articles.",
    },
    "error": {
        "ar": "تعذّر الحصول على إجابة من النموذج اللغوي؛ هذه إجابة مقتبسة من المقالات.",
        "en": "The LLM could not be reached or failed; this is the extractive answer quoted from the articles.",
    },
    "empty": {
        "ar": "أعاد النموذج اللغوي إجابة فارغة؛ هذه إجابة مقتبسة من المقالات.",
        "en": "The LLM returned an empty answer; this is the extractive answer quoted from the articles.",
    },
    "no_answer": {
        "ar": "لم يجد النموذج اللغوي إجابة في المصادر؛ هذه أقرب الجمل من المقالات.",
        "en": "The LLM found no answer in the sources; these are the closest sentences from the articles.",
    },
    "language": {
        "ar": "أجاب النموذج اللغوي بلغة أخرى؛ هذه إجابة مقتبسة من المقالات.",
        "en": "The LLM answered in another language; this is the extractive answer quoted from the articles.",
    },
    "unsupported": {
        "ar": "لم تدعم المصادر أي جملة من إجابة النموذج اللغوي؛ هذه إجابة مقتبسة من المقالات.",
        "en": "The sources support no sentence of the LLM's answer; this is the extractive answer quoted from the articles.",
    },
    "removed": {
        "ar": "حُذفت من الإجابة جمل لا تدعمها مصادرها ({n}).",
        "en": "{n} sentence(s) of the generated answer were removed: their sources do not support them.",
    },
    "flagged": {
        "ar": "جمل في الإجابة لا تدعمها مصادرها ({n}) مُعلَّمة بأنها غير مؤكدة.",
        "en": "{n} sentence(s) of the generated answer are marked unverified: their sources do not support them.",
    },
}
FLAGS = {"ar": "(غير مؤكد)", "en": "(unverified)"}
"""What marks a generated sentence its sources do not support (``answer.unsupported = "flag"``), per language."""


def _shown(passages: Sequence[Passage], limit: int) -> list[Passage]:
    """The passages shown to the model: best first, without repeated text."""
    out: list[Passage] = []
    seen: set[str] = set()
    for p in passages:
        key = normalize(p.sentence.text)
        if key in seen:
            continue
        seen.add(key)
        out.append(p)
        if len(out) >= limit:
            break
    return out


SOURCES_SERVER, SOURCES_IN_PROCESS = 8, 3


def sources_shown(settings: AnswerSettings, chat: ChatModel) -> int:
    """How many sources the model is shown: ``answer.max_sources``, or when unset 8 for a server and 3
    for an in-process model (``chat.serial``: llama.cpp, whose prompt reading is the first token's wait)."""
    if settings.max_sources is not None:
        return settings.max_sources
    return SOURCES_IN_PROCESS if chat.serial else SOURCES_SERVER


def _text_language(raw: str, n_shown: int, default: str) -> str:
    clean, _ = strip_markers(raw, find_markers(raw, n_shown))
    return detect_language(clean, default=default)


class GenerativeAnswerer:
    """The generative mode as an :class:`~assistant.answer.answerer.Answerer` (see the module doc)."""

    mode: AnswerMode = "generative"

    def __init__(
        self,
        answer: AnswerSettings,
        llm: LLMSettings,
        chat: ChatModel | None,
        embedder: Embedder,
        extractive: ExtractiveAnswerer,
        calibration: Calibration | None = None,
    ):
        self.settings = answer
        self.calibration = calibration or load_calibration()  # the support thresholds of the check
        self.llm_settings = llm
        self.chat = chat
        self.embedder = embedder
        self.extractive = extractive

    def standalone(self, question: str, history: Sequence[str]) -> str:
        """With a chat model, the LLM rewrites a question asked after others; otherwise, or when that fails,
        the heuristic decides."""
        earlier = [h for h in history if h.strip()]
        if earlier and self.chat is not None:
            rewritten = condense_question(self.chat, question, earlier, prompts_dir=self.llm_settings.prompts_dir,
                                          timeout=self.llm_settings.timeout)
            if rewritten:
                return rewritten
        return self.extractive.standalone(question, earlier)

    def stream(self, request: AnswerRequest) -> Iterator[StreamEvent]:
        """Stream a generated, citation-checked answer, or the extractive one with a notice (see module doc)."""
        r = request
        lang, passages = r.lang, r.passages
        settings = self.settings
        timings: dict[str, float] = {"retrieve": round(r.retrieved - r.started, 4)}
        streamed = False

        def fallback(reason: str) -> Iterator[StreamEvent]:
            notice = NOTICES[reason][lang] if reason else None
            # the LLM failed, timed out or gave nothing usable: no second call to it for a translation
            ans = self.extractive.answer(r, notice=notice, timings=timings, translate=False)
            yield StreamEvent(delta=("\n\n" if streamed else "") + ans.text)
            yield StreamEvent(answer=ans)

        if not passages or r.abstain:
            yield from fallback("")  # retrieval abstains: no LLM call
            return
        if self.chat is None:
            yield from fallback("no_llm")
            return

        shown = _shown(passages, sources_shown(settings, self.chat))
        texts = [p.sentence.text for p in shown]
        asked = r.asked
        messages = render_messages(
            "answer", lang, self.llm_settings.prompts_dir, question=asked, sources=format_sources(texts),
            n_sources=len(texts),
        )
        t2 = time.perf_counter()
        chunks: list[str] = []
        held = ""  # text held back while it could still be the NO_ANSWER sentinel
        try:
            for delta in self.chat.stream(messages, self.llm_settings.timeout):
                chunks.append(delta)
                held += delta
                if NO_ANSWER.startswith(held.strip()):
                    continue
                streamed = True
                yield StreamEvent(delta=held)
                held = ""
        except LLMTimeoutError as e:
            log.warning("generative answer falls back to extractive: %s", e)
            timings["generate"] = round(time.perf_counter() - t2, 4)
            yield from fallback("timeout")
            return
        except LLMError as e:
            log.warning("generative answer falls back to extractive: %s", e)
            timings["generate"] = round(time.perf_counter() - t2, 4)
            yield from fallback("error")
            return
        t3 = time.perf_counter()
        timings["generate"] = round(t3 - t2, 4)
        raw = "".join(chunks).strip()
        bare, _ = strip_markers(raw, find_markers(raw, len(texts)))
        if not any(ch.isalnum() for ch in bare):  # nothing, or markers only ("[1]")
            yield from fallback("empty")
            return
        if raw.startswith(NO_ANSWER) or raw.strip(" .") == NO_ANSWER:
            yield from fallback("no_answer")
            return
        if _text_language(raw, len(texts), lang) != lang:
            yield from fallback("language")
            return
        thresholds = self.calibration.support_thresholds(self.embedder.model_id, settings.support_threshold)
        result = check_answer(
            raw, texts, self.embedder.embed_documents, threshold=thresholds, question=asked,
            policy=settings.unsupported, flag_text=FLAGS[lang],
        )
        timings["check"] = round(time.perf_counter() - t3, 4)
        if not result.usable:
            yield from fallback("unsupported")
            return
        chosen = [shown[n - 1] for n in result.order]
        citations = make_citations(chosen, self.extractive.articles(p.sentence.article_id for p in chosen))
        removed = sum(c.kind == "removed_sentence" for c in result.changes)
        flagged = sum(c.kind == "flagged_sentence" for c in result.changes)
        notice = None
        if removed:
            notice = NOTICES["removed"][lang].format(n=removed)
        elif flagged:
            notice = NOTICES["flagged"][lang].format(n=flagged)
        short = None
        if self.extractive.short is not None:  # the generated text stays as checked; the record is added
            t4 = time.perf_counter()
            short = self.extractive.short.find(asked, lang, citations)
            timings["short"] = round(time.perf_counter() - t4, 4)
        timings["total"] = round(time.perf_counter() - r.started, 4)
        yield StreamEvent(answer=Answer(
            question=r.question, text=result.text, citations=citations, abstained=False, lang=lang, mode="generative",
            notice=notice, changes=result.changes, passages=passages, timings=timings,
            standalone_question=r.standalone_question, short=short,
        ))
