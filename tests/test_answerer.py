"""The answerers as components (assistant/answer/answerer.py, extractive.py, generative.py), without the
facade, the index or the catalog: they get settings, a record lookup, an embedder and a chat model.

Two fakes at boundaries, said here: ``BagOfWords`` is a deterministic embedder (normalized word counts, so
a sentence is most similar to the sentences that share its words), and ``Scripted`` a ChatModel that
replays scripted replies. The real embedder and a real HTTP client are exercised in tests/test_generate.py.
"""

from __future__ import annotations

import ast
import re
import time
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from assistant.answer.answerer import AnswerRequest
from assistant.answer.extractive import ExtractiveAnswerer
from assistant.answer.generative import NOTICES, GenerativeAnswerer
from assistant.errors import LLMError
from assistant.settings import AnswerSettings, LLMSettings
from assistant.types import Answer, ArticleInfo, Passage, Sentence
from tests.fakes import Scripted

PACKAGE = Path(__file__).resolve().parents[1] / "assistant"
TEXTS = [
    "The foreign force in Afghanistan numbers more than 20,000 troops.",
    "Militants killed eight Iranian diplomats in 1998.",
    "The weather in Paris was sunny.",
]


class BagOfWords:
    model_id = "test/bag-of-words"

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        rows = np.zeros((len(texts), 256), dtype=np.float32)
        for i, t in enumerate(texts):
            for w in re.findall(r"\w+", t.lower()):
                rows[i, sum(map(ord, w)) % 256] += 1.0
        return rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-9)


def _passages(scores: Iterable[float] = (0.9, 0.85, 0.3)) -> list[Passage]:
    out = []
    for i, (text, score) in enumerate(zip(TEXTS, scores)):
        s = Sentence(id=f"a{i}:0", article_id=f"a{i}", index=0, start=0, end=len(text), text=text)
        out.append(Passage(sentence=s, score=score, dense=score, context=0.0, lexical=0.0))
    return out


class Lookup:
    def __init__(self) -> None:
        self.asked: list[list[str]] = []

    def __call__(self, ids: Iterable[str]) -> dict[str, ArticleInfo]:
        ids = list(ids)
        self.asked.append(ids)
        return {i: ArticleInfo(i, f"title {i}", "src", None, "en", 1, None, "h") for i in ids}


def _request(**kw: object) -> AnswerRequest:
    t = time.perf_counter()
    return AnswerRequest(**{"question": "How many troops are in Afghanistan?", "lang": "en",
                            "passages": _passages(), "abstain": False, "started": t, "retrieved": t, **kw})


def _final(events) -> Answer:  # noqa: ANN001
    events = list(events)
    assert events[-1].answer is not None and all(e.answer is None for e in events[:-1])
    return events[-1].answer


def test_extractive_quotes_and_looks_up_only_what_it_cites() -> None:
    lookup = Lookup()
    ans = _final(ExtractiveAnswerer(AnswerSettings(), lookup).stream(_request()))
    assert ans.mode == "extractive" and not ans.abstained
    assert [c.article_id for c in ans.citations] == ["a0", "a1"]  # 0.3 is under the relative cutoff
    assert ans.citations[0].title == "title a0" and lookup.asked == [["a0", "a1"]]
    assert {"retrieve", "total"} <= ans.timings.keys()


def test_extractive_abstains_when_told_to() -> None:
    ans = _final(ExtractiveAnswerer(AnswerSettings(), Lookup()).stream(_request(abstain=True)))
    assert ans.abstained and ans.citations == []


def _generative(chat: Scripted | None) -> GenerativeAnswerer:
    answer = AnswerSettings(support_threshold=0.5)
    return GenerativeAnswerer(answer, LLMSettings(), chat, BagOfWords(), ExtractiveAnswerer(answer, Lookup()))


def test_generative_without_a_chat_model_gives_the_extractive_answer() -> None:
    ans = _final(_generative(None).stream(_request()))
    assert ans.mode == "extractive" and ans.notice == NOTICES["no_llm"]["en"] and ans.citations


def test_generative_checks_what_the_chat_model_writes() -> None:
    chat = Scripted("The foreign force in Afghanistan numbers more than 20,000 troops [1]. "
                    "The weather in Paris was sunny [1].")
    ans = _final(_generative(chat).stream(_request()))
    assert ans.mode == "generative", ans.notice
    assert ans.text == "The foreign force in Afghanistan numbers more than 20,000 troops [1]. The weather in Paris was sunny [2]."
    assert [c.article_id for c in ans.citations] == ["a0", "a2"]  # [1] did not support the second: re-cited
    assert [c.kind for c in ans.changes] == ["dropped_marker", "added_citation"]
    system, user = chat.calls[0]
    assert system[0] == "system" and "[1] The foreign force" in user[1]


def test_generative_does_not_call_the_model_when_retrieval_abstains() -> None:
    chat = Scripted()
    ans = _final(_generative(chat).stream(_request(abstain=True)))
    assert ans.abstained and chat.calls == []


def test_standalone_questions_by_the_model_or_the_heuristic() -> None:
    history = ["What are Iran and the US talking about over Afghanistan?"]
    rewritten = "What does Iran want from the US over Afghanistan?"
    assert _generative(Scripted(rewritten)).standalone("and what does Iran want?", history) == rewritten
    heuristic = "and what does Iran want? What are Iran and the US talking about over Afghanistan?"
    assert _generative(Scripted(LLMError("down"))).standalone("and what does Iran want?", history) == heuristic
    assert _generative(None).standalone("and what does Iran want?", history) == heuristic
    extractive = ExtractiveAnswerer(AnswerSettings(), Lookup())
    assert extractive.standalone("and what does Iran want?", ["", *history]) == heuristic


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_answering_and_models_do_not_import_the_facade_or_the_store() -> None:
    """Every import, including those under TYPE_CHECKING and inside functions."""
    above = ("assistant.assistant", "assistant.store", "assistant.retrieve", "assistant.web", "assistant.evaluation",
             "assistant.cli")
    for folder in ("answer", "models"):
        for path in sorted((PACKAGE / folder).glob("*.py")):
            bad = sorted(n for n in _imports(path) if n.startswith(above))
            assert not bad, f"{path.relative_to(PACKAGE.parent)} imports {bad}"
    answer_imports = set().union(*(_imports(p) for p in (PACKAGE / "answer").glob("*.py")))
    assert "assistant.answer.citecheck" in answer_imports  # the scan did read the modules
