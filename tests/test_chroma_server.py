"""Scale-out: the same index code on Chroma's client/server mode (issue 6).

A real ``chroma run`` (the CLI the chromadb package installs) on loopback, a free port and a temp
folder; the index is switched to it by the setting ``store.chroma_url`` alone. The catalog, BM25 and
manifest stay in the index folder; the vectors live in the server.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant import Article, Assistant, ConfigError, Settings
from tests.helpers import SAMPLE_ID, assert_consistent, free_port
from tests.services import start_chroma, stop_process

pytestmark = pytest.mark.slow

TROOPS = "20 ألف جندي"
@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    proc, url = start_chroma(tmp_path_factory.mktemp("chroma-server"), free_port())
    try:
        yield url
    finally:
        stop_process(proc)


def server_counts(url: str, uid: str) -> dict[str, int]:
    import chromadb

    client = chromadb.HttpClient(host="127.0.0.1", port=int(url.rsplit(":", 1)[1]))
    try:
        return {kind: client.get_collection(f"idx-{uid}-{kind}").count() for kind in ("sentences", "chunks")}
    finally:
        client.close()


def test_ingest_ask_remove_and_reopen_through_a_chroma_server(chroma_url: str, tmp_path: Path, embedder,  # noqa: ANN001
                                                             settings: Settings, sample_dir: Path) -> None:
    served = settings.replace(store={"chroma_url": chroma_url})
    path = tmp_path / "remote"
    extra = Article(id="port", text="The port of Umm Qasr reopened on Sunday.\nShips queued outside for two days.")
    with Assistant.open(path, settings=served, embedder=embedder) as a:
        assert not a.index.vectors.embedded
        rep = a.add([sample_dir, extra])
        assert sorted(rep.added) == sorted([SAMPLE_ID, "port"]) and not rep.failed
        ans = a.ask("كم عدد القوات الأجنبية في أفغانستان؟")
        c = ans.citations[0]
        assert TROOPS in c.text and a.article(c.article_id)[1][c.start : c.end] == c.text
        uid = a.index.catalog.uid()
        n_sentences = a.index.catalog.count()[1]
        assert server_counts(chroma_url, uid)["sentences"] == n_sentences
        a.remove("port")
        assert server_counts(chroma_url, uid)["sentences"] == n_sentences - 2
        texts = {SAMPLE_ID: a.article(SAMPLE_ID)[1]}
    assert not (path / "chroma").exists()  # no embedded Chroma: the vectors are in the server
    assert sorted(p.name for p in path.iterdir() if not p.name.startswith(".")) == ["bm25", "catalog.sqlite",
                                                                                   "manifest.json"]
    with Assistant.open(path, settings=served, embedder=embedder) as b:  # another client, same server
        assert_consistent(b, texts)
        again = b.ask("كم عدد القوات الأجنبية في أفغانستان؟")
        assert [x.sentence_id for x in again.citations] == [x.sentence_id for x in ans.citations]


def test_two_clients_of_one_server_see_each_others_writes_at_once(chroma_url: str, tmp_path: Path, embedder,  # noqa: ANN001
                                                                  settings: Settings) -> None:
    served = settings.replace(store={"chroma_url": chroma_url})
    with Assistant.open(tmp_path / "shared", settings=served, embedder=embedder) as first, \
            Assistant.open(tmp_path / "shared", settings=served, embedder=embedder) as second:
        first.add(Article(id="dam", text="The Mosul dam held after the spring floods."))
        ans = second.ask("Did the Mosul dam hold after the floods?", retriever="dense")
        assert [c.article_id for c in ans.citations][:1] == ["dam"]


def test_a_server_that_is_not_there_is_a_clear_error(tmp_path: Path, embedder, settings: Settings) -> None:  # noqa: ANN001
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(ConfigError, match=f"cannot reach the Chroma server at {url}.*chroma run"):
        Assistant.open(tmp_path / "nowhere", settings=settings.replace(store={"chroma_url": url}), embedder=embedder)
    with pytest.raises(ConfigError, match="is not a URL like"):
        Assistant.open(tmp_path / "bad", settings=settings.replace(store={"chroma_url": "127.0.0.1:8000"}),
                       embedder=embedder)


def test_the_server_going_away_during_questions_and_coming_back(tmp_path: Path, embedder,  # noqa: ANN001
                                                                 settings: Settings) -> None:
    """A question while the server is down is a clear error (the process goes on); once the server is
    back on the same data, the same question gets the same answer and nothing was lost."""
    from assistant.errors import StoreUnavailableError

    folder, port = tmp_path / "server", free_port()
    folder.mkdir()
    proc, url = start_chroma(folder, port)
    s = settings.replace(store={"chroma_url": url})
    a = Assistant.open(tmp_path / "idx", settings=s, embedder=embedder)
    try:
        a.add(Article(id="troops", text="قوام القوات الأجنبية في أفغانستان أكثر من 20 ألف جندي. وتجري محادثات في الدوحة."))
        before = a.ask("كم عدد القوات الأجنبية في أفغانستان؟")
        assert any(TROOPS in c.text for c in before.citations)
        counts = server_counts(url, a.index.catalog.uid())
        stop_process(proc)
        with pytest.raises(StoreUnavailableError, match=f"the Chroma server at {url} is not answering.*chroma run"):
            a.ask("كم عدد القوات الأجنبية في أفغانستان؟")
        proc, _ = start_chroma(folder, port)
        after = a.ask("كم عدد القوات الأجنبية في أفغانستان؟")
        assert [c.sentence_id for c in after.citations] == [c.sentence_id for c in before.citations]
        assert server_counts(url, a.index.catalog.uid()) == counts
        assert [i.id for i in a.articles()] == ["troops"]
    finally:
        a.close()
        stop_process(proc)
