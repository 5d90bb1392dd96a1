"""The ingest pipeline (assistant/store/pipeline.py): one batch embeds while the one before it is stored;
order, progress and failures as a sequential ingest had them. A real index (Chroma, SQLite, BM25) over the
deterministic fake embedder (tests/fakes.py), wrapped where a test needs to see or steer the model's calls.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from assistant import Article, Assistant, Settings
from assistant.errors import EmbeddingError
from assistant.store.nodes import Prepared
from tests.fakes import FakeEmbedder


class Steered(FakeEmbedder):
    """The fake embedder, recording each call's thread and running ``hooks[n]`` before its n-th call (from 1)."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[int, str]] = []
        self.hooks: dict[int, object] = {}

    def embed_documents(self, texts: list[str], titles: list[str | None] | None = None, *,
                        ingest: bool = False) -> np.ndarray:
        n = len(self.calls) + 1
        self.calls.append((len(texts), threading.current_thread().name))
        hook = self.hooks.get(n)
        if hook is not None:
            hook()  # type: ignore[operator]
        return super().embed_documents(texts, titles, ingest=ingest)


def town(i: int) -> Article:
    return Article(id=f"town-{i:02d}", title=f"Town {i}",
                   text=f"The council of town {i} approved budget line {i * 37}. Road {i} opens in spring. "
                        f"Its mayor said the river {i} rose.")


@pytest.fixture
def steered(tmp_path: Path, fake_settings: Settings):  # noqa: ANN201
    emb = Steered()
    # batches of 64 sentences (the floor): 3 sentences an article, so 22 articles a batch
    a = Assistant.open(tmp_path / "piped", settings=fake_settings.replace(embedding={"batch_size": 8}), embedder=emb)
    yield a, emb
    a.close()


def test_a_batch_embeds_in_a_worker_while_the_one_before_it_is_stored(steered) -> None:  # noqa: ANN001
    a, emb = steered
    second_started = threading.Event()
    emb.hooks[2] = second_started.set
    waited: list[bool] = []
    stored: list[list[str]] = []

    def on_stored(batch: list[Prepared]) -> None:
        if not waited:  # the first batch is committed: the second must be embedding already
            waited.append(second_started.wait(10))
        stored.append([p.article.id for p in batch])

    with a.index.writing(), a.index.pipeline(64, on_stored) as pipeline:
        for i in range(60):
            pipeline.put(Prepared(town(i), a.settings))
    assert waited == [True]  # a sequential ingest embeds the second batch only after storing the first
    assert stored == [[f"town-{i:02d}" for i in range(lo, hi)] for lo, hi in ((0, 22), (22, 44), (44, 60))]
    assert all(name.startswith("ingest-embed") for _, name in emb.calls)
    assert [n for n, _ in emb.calls] == [66, 66, 48]  # whole articles, cut at 64 sentences
    assert a.index.catalog.count() == (60, 180)
    assert a.index.vectors.count("sentences") == 180


def test_add_goes_through_the_pipeline(steered) -> None:  # noqa: ANN001
    a, emb = steered
    rep = a.add([town(i) for i in range(60)])
    assert sorted(rep.added) == [f"town-{i:02d}" for i in range(60)] and not rep.failed
    assert [n for n, _ in emb.calls] == [66, 66, 48] and all(t.startswith("ingest-embed") for _, t in emb.calls)
    found = a.search("budget line 629", 1)
    assert found and found[0].sentence.article_id == "town-17"


def test_progress_comes_only_for_committed_inputs_in_order(steered) -> None:  # noqa: ANN001
    a, _ = steered
    seen: list[tuple[int, int, str, bool]] = []
    a.add([town(i) for i in range(50)],
          progress=lambda d, t, aid: seen.append((d, t, aid, a.index.catalog.content_hash(aid) is not None)))
    assert [(d, t, aid) for d, t, aid, _ in seen] == [(i + 1, 50, f"town-{i:02d}") for i in range(50)]
    assert all(committed for *_, committed in seen)


def test_an_input_is_reported_as_its_batch_commits_while_a_long_one_is_read(steered, tmp_path: Path) -> None:  # noqa: ANN001
    import json

    a, _ = steered
    feed = tmp_path / "many.jsonl"
    feed.write_text("\n".join(json.dumps({"id": f"jsonl-{i:03d}", "text": town(i + 10).text}) for i in range(150)),
                    encoding="utf-8")
    seen: list[tuple[int, int]] = []  # (input, articles in the index when it was reported)
    a.add([town(0), town(1), feed], progress=lambda d, t, aid: seen.append((d, a.index.catalog.count()[0])))
    assert [d for d, _ in seen] == [1, 2, 3]
    # the second input's batch (it and 21 of the file's articles) is reported when it commits, while the
    # third input (150 articles) is still being read, not when that input ends
    assert seen[1][1] == 1 + 22
    assert seen[2][1] == 152


def test_with_progress_the_first_input_is_committed_alone_then_batches(steered) -> None:  # noqa: ANN001
    a, emb = steered
    a.add([town(i) for i in range(50)], progress=lambda *_: None)
    assert [n for n, _ in emb.calls] == [3, 66, 66, 15]  # a progress bar moves after the first article


def test_a_batch_that_fails_to_embed_loses_nothing_committed_before_it(steered) -> None:  # noqa: ANN001
    a, emb = steered
    a.add([town(i) for i in range(5)])  # committed by an earlier call

    def fail() -> None:
        raise EmbeddingError("the model stopped")

    emb.hooks[len(emb.calls) + 2] = fail  # the second batch of the next call
    with pytest.raises(EmbeddingError, match="stopped"):
        a.add([town(i) for i in range(5, 75)])
    have = {i.id for i in a.articles()}
    assert have == {f"town-{i:02d}" for i in range(5 + 22)}  # the earlier call and this call's first batch
    assert a.index.vectors.count("sentences") == a.index.catalog.count()[1] == 3 * len(have)
    assert not any(t.name.startswith("ingest-embed") for t in threading.enumerate())  # the worker is gone
    rep = a.add([town(i) for i in range(75)])  # and the index takes the rest
    assert len(rep.added) == 75 - len(have) and len(rep.unchanged) == len(have)


def test_a_question_waits_for_one_turn_of_the_model_not_for_the_ingest() -> None:
    """The model's turns (assistant/models/embedding/turns.py): documents a turn at a time, a waiting
    question before the next document turn. A real FramedEmbedder over a slow stand-in model (40 ms a call)."""
    import time

    from assistant.models.embedding.framed import FramedEmbedder
    from assistant.models.embedding.turns import DOCUMENT_TURN

    class Slow(FramedEmbedder):
        def __init__(self) -> None:
            self.model_id, self.dim = "slow", 4
            self._frame({}, None, None, 32, 1000)
            self.calls: list[tuple[str, float]] = []

        def _forward(self, texts: list[str], ingest: bool = False) -> np.ndarray:
            self.calls.append(("query" if texts[0].startswith("q") else "docs", time.perf_counter()))
            time.sleep(0.04)
            return np.ones((len(texts), 4), np.float32)

    emb = Slow()
    docs = [f"document {i}" for i in range(DOCUMENT_TURN * 30)]  # 30 turns, 1.2 s
    ingest = threading.Thread(target=emb.embed_documents, args=(docs,), kwargs={"ingest": True})
    ingest.start()
    time.sleep(0.2)
    t = time.perf_counter()
    emb.embed_query("q: how much rain fell?")
    waited = time.perf_counter() - t
    t = time.perf_counter()
    emb.embed_documents(["q-the sentence an answer cites, checked against the claim"])  # answering, not ingest
    waited_check = time.perf_counter() - t
    ingest.join()
    kinds = [k for k, _ in emb.calls]
    assert kinds.count("docs") == 30 and kinds.count("query") == 2
    assert 2 <= kinds.index("query") < 20  # between document turns, not after the ingest
    assert kinds[-1] == "docs"  # the answer's check too went before the rest of the ingest
    assert waited < 0.5 and waited_check < 0.5, (waited, waited_check)  # a turn (40 ms) and a little, not ~1 s


def test_an_embedder_without_the_ingest_keyword_still_ingests(tmp_path: Path, fake_settings: Settings) -> None:
    """A user's embedder written to the protocol before ``ingest`` existed is called as it was."""

    class Older(FakeEmbedder):
        def embed_documents(self, texts: list[str], titles: list[str | None] | None = None) -> np.ndarray:  # type: ignore[override]
            return super().embed_documents(texts, titles)

    with Assistant.open(tmp_path / "older", settings=fake_settings, embedder=Older()) as a:
        assert a.add([town(i) for i in range(3)]).added == ["town-00", "town-01", "town-02"]
        assert a.search("budget line 37", 1)[0].sentence.article_id == "town-01"
