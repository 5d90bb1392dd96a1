"""Abstention (assistant/retrieve/refusal.py): probe nulls per index and language, the calibrated quantile
per language pair, the fixed override, and the probe cache. Real Chroma and BM25 over the fake embedder
(tests/fakes.py, the model boundary): its cosines are those of hashed n-grams, so an off-topic question
scores near 0 and a sentence asked back scores near 1."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from assistant import Article, Assistant
from assistant.models.calibration import load_calibration
from assistant.retrieve.refusal import Abstention, abstention_summary, probe_questions
from assistant.text.language import is_arabic
from tests.fakes import FakeEmbedder

AR = Article(id="ar1", title="قوات", text=(
    "قال مسؤولون إن أكثر من 20 ألف جندي أجنبي ما زالوا في أفغانستان. "
    "وأضافوا أن المحادثات بين طهران وواشنطن جرت في يونيو/ حزيران 2019 عبر قناة سرية."))
EN = Article(id="en1", title="Harbour", text=(
    "The new harbour in the port city opened in March 2021 after six years of work. "
    "It can take ships of up to 400 metres."))


@pytest.fixture
def plain(tmp_path: Path, fake_embedder: FakeEmbedder, settings) -> Assistant:  # noqa: ANN001
    """An index over the fake embedder with the default settings: no fixed min_score, so the probe null
    decides (the fake model is uncalibrated: the fallback quantile, with a warning)."""
    a = Assistant.open(tmp_path / "idx", settings=settings, embedder=fake_embedder)
    rep = a.add([AR, EN])
    assert not rep.failed
    yield a
    a.close()


def test_the_probes_are_parallel_distinct_and_in_their_language() -> None:
    probes = probe_questions()
    assert len(probes["ar"]) == len(probes["en"]) >= 90
    for lang, texts in probes.items():
        assert len(set(texts)) == len(texts)
        assert all(is_arabic(t) == (lang == "ar") for t in texts)


def test_a_sentence_asked_back_is_answered_an_off_topic_question_is_not(plain: Assistant) -> None:
    on_topic = plain.ask("ما زال أكثر من 20 ألف جندي أجنبي في أفغانستان؟")
    assert not on_topic.abstained and on_topic.citations[0].article_id == "ar1"
    off_topic = plain.ask("ما هي أفضل طريقة لزراعة الطماطم في الحديقة؟")
    assert off_topic.abstained and off_topic.citations == []
    assert not plain.ask("When did the new harbour in the port city open?").abstained
    assert plain.ask("Which violinist won the competition in Vienna last winter?").abstained


def test_the_null_is_per_question_language_and_follows_the_index(plain: Assistant, fake_embedder: FakeEmbedder) -> None:
    ab = plain.abstention
    ar, en = ab.nulls("ar"), ab.nulls("en")
    assert ar.shape == (len(probe_questions()["ar"]),) and en.shape == (len(probe_questions()["en"]),)
    assert not np.array_equal(ar, en)
    assert ab.nulls("ar") is ar  # cached while the index is unchanged
    plain.add([Article(id="en2", title="Moons", text="Neptune has sixteen known moons, the largest being Triton.")])
    after = ab.nulls("en")
    assert after is not en and after.max() > en.max()  # a probe ("How many moons does Neptune have?") now hits


def test_the_decision_names_the_pair_and_its_threshold(plain: Assistant) -> None:
    found = plain.retriever.search("How many soldiers are still in Afghanistan?", 10, article_ids=["ar1"])
    d = plain.abstention.decide("en", found.passages, found.best_dense)
    assert d.pair == "en→ar" and d.score == pytest.approx(found.best_dense)
    q = load_calibration().quantile(plain.embedder.model_id, "en→ar")
    assert d.threshold == pytest.approx(float(np.quantile(plain.abstention.nulls("en"), q)))
    assert d.abstain == (d.score < d.threshold)
    assert plain.abstention.decide("en", [], 0.0).abstain  # nothing retrieved: nothing to cite


def test_an_uncalibrated_model_warns_once_and_uses_the_fallback(plain: Assistant,
                                                                caplog: pytest.LogCaptureFixture) -> None:
    cal = load_calibration()
    cal._warned.discard(("abstention quantile", plain.embedder.model_id))
    with caplog.at_level(logging.WARNING, logger="assistant.models.calibration"):
        plain.ask("Where is the harbour?")
        plain.ask("What can the harbour take?")
    warnings = [r.getMessage() for r in caplog.records if "abstention quantile" in r.getMessage()]
    assert len(warnings) == 1 and plain.embedder.model_id in warnings[0]
    summary = abstention_summary(load_calibration(), plain.embedder.model_id, None)
    assert summary["method"] == "probe-null" and set(summary["quantiles"].values()) == {cal.quantile_fallback}


def test_a_fixed_min_score_replaces_the_null(tmp_path: Path, fake_embedder: FakeEmbedder, settings) -> None:  # noqa: ANN001
    with Assistant.open(tmp_path / "fixed", settings=settings.replace(answer={"min_score": 0.99}),
                        embedder=fake_embedder) as a:
        a.add([EN])
        found = a.retriever.search("The new harbour opened in March 2021", 10)
        d = a.abstention.decide("en", found.passages, found.best_dense)
        assert d.threshold == 0.99 and d.score == found.passages[0].score  # the fused score, not the cosine
        assert a.ask("The new harbour opened in March 2021").abstained
    assert abstention_summary(load_calibration(), "m", 0.5)["method"] == "fixed"


class CountingEmbedder(FakeEmbedder):
    def __init__(self) -> None:
        super().__init__()
        self.batches: list[int] = []

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        self.batches.append(len(texts))
        return np.stack([self.embed_query(t) for t in texts])


def test_probe_vectors_are_embedded_once_per_model_and_cached(tmp_path: Path, plain: Assistant) -> None:
    emb = CountingEmbedder()
    first = Abstention(plain.index, emb, None, tmp_path / "cache").probe_vectors("ar")
    assert emb.batches == [len(probe_questions()["ar"])]  # one batch, not one call per probe
    again = Abstention(plain.index, emb, None, tmp_path / "cache").probe_vectors("ar")
    assert emb.batches == [len(probe_questions()["ar"])] and np.array_equal(first, again)  # read from the cache
    assert np.allclose(first[0], emb.embed_query(probe_questions()["ar"][0]))
    (cached,) = (tmp_path / "cache").glob("probes-*-ar-*.npy")
    cached.write_bytes(b"not an array")  # a damaged cache costs time, not correctness
    third = Abstention(plain.index, emb, None, tmp_path / "cache").probe_vectors("ar")
    assert len(emb.batches) == 2 and np.array_equal(first, third)
