"""A collection served by PostgreSQL (catalog, BM25, write lock, crash marker) and a Chroma server
(vectors), shared by processes that hold nothing of their own (issue 25).

Real servers (tests/services.py: a PostgreSQL cluster and ``chroma run``); the fake embedder stands in for
the model (its only boundary), so this runs in the fast tier. Two ``Assistant`` objects opened on
different local folders play two app servers (or ingesters) on two machines; the slow tier runs the
real thing in separate processes (test_served_processes.py).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from assistant import Article, Assistant, ConfigError, Settings
from assistant.errors import IndexLockedError, IndexMismatchError, StoreUnavailableError
from assistant.store.database import PostgresDatabase, schema_name
from assistant.store.lexical import LexicalIndex
from assistant.store.locking import AdvisoryLock
from assistant.text.normalize import tokenize
from tests.fakes import FakeEmbedder
from tests.helpers import SAMPLE_ID, free_port
from tests.services import fresh_database

pytestmark = pytest.mark.fast  # starts the servers (when .ci/run has not), loads no model: ~8 s

ENGLISH = {
    "council": "The city council approved the budget on Monday. The budget adds 12 buses to the northern routes. "
               "Critics said the road repairs were left out again.",
    "flood": "Heavy rain flooded the river valley on Sunday. About 300 families left their homes. The army sent "
             "boats and two helicopters to the valley.",
    "match": "The home team won the final 3-1 after extra time. Their captain scored twice. The final was played "
             "in front of 40,000 fans.",
}


@pytest.fixture
def served(pg_server: str, chroma: str, fake_settings: Settings) -> Settings:
    """Settings of a fresh served collection: a new database, the shared Chroma server."""
    return fake_settings.replace(store={"catalog_url": fresh_database(pg_server), "chroma_url": chroma,
                                        "lock_timeout": 5})


def open_on(machine: Path, settings: Settings, embedder: FakeEmbedder) -> Assistant:
    """The collection "news" as a process on another machine opens it: its own, empty local folder."""
    return Assistant.open(machine / "indexes" / "news", settings=settings, embedder=embedder)


Machine = Callable[[str], Assistant]


@pytest.fixture
def machine(served: Settings, tmp_path: Path, fake_embedder: FakeEmbedder) -> Iterator[Machine]:
    """``machine(name)``: the served collection opened as on machine ``name``; closed after the test."""
    opened: list[Assistant] = []

    def open_machine(name: str) -> Assistant:
        opened.append(open_on(tmp_path / name, served, fake_embedder))
        return opened[-1]

    yield open_machine
    for a in opened:
        a.close()


def same_ranking(got: list[tuple[str, float]], want: list[tuple[str, float]]) -> bool:
    """The same scores (4 decimals) in order, and the same ids at each score above the last one (ties at
    the cut may be broken either way)."""
    if [round(s, 4) for _, s in got] != [round(s, 4) for _, s in want]:
        return False
    cut = round(want[-1][1], 4) if want else 0.0

    def above(hits: list[tuple[str, float]]) -> set[tuple[str, float]]:
        return {(i, round(s, 4)) for i, s in hits if round(s, 4) > cut}
    return above(got) == above(want)


def english_articles() -> list[Article]:
    return [Article(id=k, text=v, title=k.title()) for k, v in ENGLISH.items()]


def test_bm25_in_sql_scores_exactly_as_bm25s(served: Settings, tmp_path: Path, fake_embedder: FakeEmbedder,
                                             sample_dir: Path) -> None:
    a = open_on(tmp_path / "m1", served, fake_embedder)
    try:
        assert not a.add([sample_dir, *english_articles(), Article(id="empty-words", text="!!! ... ؟؟؟ 123.")]).failed
        rows = [r for batch in a.index.catalog.iter_sentence_rows("tokens") for r in batch]
        reference = LexicalIndex.build(rows, 0)
        sql = a.index.lexical
        assert sql is not None and len(sql) == len(rows)
        queries = ["20 ألف جندي", "الخارجية الأمريكية", "budget budget road", "valley boats", "final fans 123",
                   "nothing-matches-this"]
        for q in queries:
            toks = tokenize(q)
            assert same_ranking(sql.search(toks, 10), reference.search(toks, 10)), q
        assert reference.search(tokenize("budget road"), 10), "the queries must find something"
        only = {"flood"}
        got = sql.search(tokenize("the valley"), 10, only)
        assert got and same_ranking(got, reference.search(tokenize("the valley"), 10, only))
        # a changed article replaces its postings, and a removal takes its sentences out of N and avgdl
        changed = Article(id="flood", text=ENGLISH["flood"] + " Boats and boats came back to the valley later.",
                          title="Flood")
        assert a.add([changed]).replaced == ["flood"]
        rows = [r for batch in a.index.catalog.iter_sentence_rows("tokens") for r in batch]
        reference = LexicalIndex.build(rows, 0)
        assert len(sql) == len(rows)
        assert same_ranking(sql.search(tokenize("valley boats"), 10), reference.search(tokenize("valley boats"), 10))
        a.remove("council")
        rows = [r for batch in a.index.catalog.iter_sentence_rows("tokens") for r in batch]
        reference = LexicalIndex.build(rows, 0)
        assert same_ranking(sql.search(tokenize("valley boats"), 10), reference.search(tokenize("valley boats"), 10))
    finally:
        a.close()


def test_two_app_servers_on_other_machines_share_one_collection(machine: Machine, tmp_path: Path,
                                                                fake_embedder: FakeEmbedder, sample_dir: Path) -> None:
    a, b = machine("m1"), machine("m2")
    assert sorted(a.add([sample_dir, *english_articles()]).added) == sorted([SAMPLE_ID, *ENGLISH])
    assert [i.id for i in b.articles()] == [i.id for i in a.articles()]
    for q in ["How many families left their homes?", "20 ألف جندي", "Who scored twice?"]:
        ra, rb = a.ask(q), b.ask(q)
        assert ra.text == rb.text and ra.citations == rb.citations and ra.citations, q
        assert [p.sentence.id for p in a.search(q, k=8)] == [p.sentence.id for p in b.search(q, k=8)]
    b.remove("flood")
    assert "flood" not in {i.id for i in a.articles()}
    assert all(p.sentence.article_id != "flood" for p in a.search("river valley boats", k=10))
    # what the machines keep of their own: no catalog, no BM25, no manifest, no marker
    for machine in (tmp_path / "m1", tmp_path / "m2"):
        kept = {p.name for p in (machine / "indexes" / "news").iterdir()}
        assert not kept & {"catalog.sqlite", "bm25", "manifest.json", ".dirty", "chroma"}, kept


def test_an_article_sent_by_two_ingesters_at_once_is_stored_once(machine: Machine, tmp_path: Path,
                                                                fake_embedder: FakeEmbedder) -> None:
    a, b = machine("m1"), machine("m2")
    errors: list[BaseException] = []

    def ingest(who: Assistant) -> None:
        try:
            who.add(english_articles())
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=ingest, args=(x,)) for x in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    infos = a.articles()
    assert sorted(i.id for i in infos) == sorted(ENGLISH)
    n_sentences = sum(i.n_sentences for i in infos)
    assert a.index.catalog.count() == (len(ENGLISH), n_sentences)
    assert a.index.vectors.count("sentences") == n_sentences
    assert len(a.index.lexical or []) == n_sentences


def test_a_writer_on_another_machine_makes_the_next_wait_then_fail_naming_it(
        served: Settings, tmp_path: Path, fake_embedder: FakeEmbedder) -> None:
    a = open_on(tmp_path / "m1", served.replace(store={"lock_timeout": 0.5}), fake_embedder)
    try:
        a.add(english_articles()[:1])
        db = PostgresDatabase(served.store.catalog_url.get_secret_value(), schema_name("news"))
        other = AdvisoryLock(db, f"write:{schema_name('news')}")
        assert other.acquire(1)
        try:
            with pytest.raises(IndexLockedError, match=r"another process \(.*pid \d+\) is writing.*lock_timeout"):
                a.add(english_articles()[1:])
            assert [i.id for i in a.articles()] == ["council"]  # nothing lost, nothing half-written
        finally:
            other.release()
            other.close()
            db.close()
        assert sorted(a.add(english_articles()[1:]).added) == ["flood", "match"]
    finally:
        a.close()


def kill_as_a_writer_dies(a: Assistant, article_id: str) -> list[str]:
    """Leave ``a``'s collection as a writer killed between its catalog commit and its vector write does:
    the crash marker set, the article's sentence vectors missing. Returns their ids."""
    lost = a.index.catalog.sentence_ids_of(article_id)
    a.index.vectors.delete("sentences", lost)
    with a.index.catalog.transaction() as tx:
        tx.execute("INSERT INTO meta(key, value) VALUES('dirty:gone-host pid 1', '1')")
    return lost


def test_the_next_writer_repairs_what_a_dead_one_left_and_so_does_an_app_server(
        served: Settings, tmp_path: Path, fake_embedder: FakeEmbedder) -> None:
    a = open_on(tmp_path / "m1", served, fake_embedder)
    b = open_on(tmp_path / "m2", served, fake_embedder)
    c = open_on(tmp_path / "m3", served, fake_embedder)
    try:
        a.add(english_articles())
        lost = kill_as_a_writer_dies(a, "flood")
        # an ingester already running on another machine takes the lock next: it repairs before it writes
        b.add([Article(id="extra", text="A short note about the harbour. It had 14 ships.")])
        sids, _ = b.index.catalog.all_ids()
        assert b.index.vectors.all_ids("sentences") == sids and set(lost) <= sids
        assert b.index._marker.present is False
        # an app server that only reads repairs at its next search when the writer died and the lock is free
        lost = kill_as_a_writer_dies(a, "match")
        assert any(p.sentence.article_id == "match" for p in c.search("captain scored twice final", k=3))
        assert c.index.vectors.all_ids("sentences") == c.index.catalog.all_ids()[0]
        assert c.index._marker.present is False
    finally:
        for x in (a, b, c):
            x.close()


def test_a_lost_connection_fails_typed_and_the_next_call_reconnects(served: Settings, tmp_path: Path,
                                                                   fake_embedder: FakeEmbedder) -> None:
    import psycopg

    a = open_on(tmp_path / "m1", served, fake_embedder)
    url = served.store.catalog_url.get_secret_value()
    try:
        a.add(english_articles()[:1])

        def kill_backends(application: str) -> int:
            with psycopg.connect(url, autocommit=True) as admin:
                return len(admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name LIKE %s "
                    "AND datname = current_database() AND pid <> pg_backend_pid()", (application,)).fetchall())

        assert kill_backends("assistant %pid%") >= 1
        with pytest.raises(StoreUnavailableError, match="connection to PostgreSQL .* failed.*nothing committed is lost"):
            a.articles()
        assert [i.id for i in a.articles()] == ["council"]  # reconnected
        # the lock's connection killed while a batch is stored: the write is fenced, the next writer repairs
        writes = []
        original = a.index._writer.store

        def store_then_lose_the_lock(embedded):  # noqa: ANN001, ANN202
            original(embedded)
            writes.append(kill_backends("assistant lock %"))

        a.index._writer.store = store_then_lose_the_lock  # type: ignore[method-assign]
        with pytest.raises(StoreUnavailableError, match="lost the write lock"):
            a.add(english_articles()[1:2])
        a.index._writer.store = original  # type: ignore[method-assign]
        assert writes == [1]
        assert a.index._marker.present  # left for the next writer
        a.add(english_articles()[2:])
        assert sorted(i.id for i in a.articles()) == sorted(ENGLISH)
        assert a.index._marker.present is False
    finally:
        a.close()


def test_a_writer_that_died_is_repaired_by_the_next_process_on_any_machine(
        served: Settings, tmp_path: Path, fake_embedder: FakeEmbedder) -> None:
    a = open_on(tmp_path / "m1", served, fake_embedder)
    a.add(english_articles())
    lost = kill_as_a_writer_dies(a, "flood")
    a.close()
    b = open_on(tmp_path / "m2", served, fake_embedder)
    try:
        assert b.index._marker.present is False
        assert set(lost) <= b.index.vectors.all_ids("sentences")
        assert b.index.vectors.count("sentences") == b.index.catalog.count()[1]
        assert any(p.sentence.article_id == "flood" for p in b.search("families left their homes", k=3))
    finally:
        b.close()


def test_settings_that_cannot_work_are_clear_errors(pg_server: str, chroma: str, tmp_path: Path,
                                                   fake_settings: Settings, fake_embedder: FakeEmbedder) -> None:
    url = fresh_database(pg_server)
    with pytest.raises(ConfigError, match="vectors would stay in this machine's folder.*chroma_url"):
        open_on(tmp_path, fake_settings.replace(store={"catalog_url": url}), fake_embedder)
    with pytest.raises(ConfigError, match="not a PostgreSQL URL"):
        open_on(tmp_path, fake_settings.replace(store={"catalog_url": "mysql://x@h/db", "chroma_url": chroma}),
                fake_embedder)
    down = f"postgresql://nobody:secret@127.0.0.1:{free_port()}/db"
    with pytest.raises(StoreUnavailableError, match=r"cannot reach the PostgreSQL database at .*nobody:\*\*\*@") as e:
        open_on(tmp_path, fake_settings.replace(store={"catalog_url": down, "chroma_url": chroma}), fake_embedder)
    assert "secret" not in str(e.value)
    # a password libpq cannot parse, and one given as a parameter: never in a message
    for leaky in (f"postgresql://nobody:p%zzsecret@127.0.0.1:{free_port()}/db",
                  f"postgresql://nobody@127.0.0.1:{free_port()}/db?password=secret"):
        with pytest.raises((ConfigError, StoreUnavailableError)) as e:
            open_on(tmp_path, fake_settings.replace(store={"catalog_url": leaky, "chroma_url": chroma}), fake_embedder)
        assert "secret" not in str(e.value) and "secret" not in str(e.value.__cause__ or ""), str(e.value)
    # an embedded collection in the folder is not silently replaced by an empty served one
    (tmp_path / "local").mkdir()
    Assistant.open(tmp_path / "local" / "news", settings=fake_settings, embedder=fake_embedder).close()
    with pytest.raises(ConfigError, match="holds an embedded collection"):
        Assistant.open(tmp_path / "local" / "news", settings=fake_settings.replace(
            store={"catalog_url": url, "chroma_url": chroma}), embedder=fake_embedder)
    served = fake_settings.replace(store={"catalog_url": url, "chroma_url": chroma})
    open_on(tmp_path / "m1", served, fake_embedder).close()
    # another machine with other chunking settings: refused, never mixed
    with pytest.raises(IndexMismatchError, match="chunk_max_sentences"):
        open_on(tmp_path / "m2", served.replace(chunking={"max_sentences": 7}), fake_embedder)
    # a catalog written by a newer release
    db = PostgresDatabase(url, schema_name("news"))
    with db.transaction() as tx:
        tx.execute("UPDATE meta SET value='99' WHERE key='schema_version'")
    db.close()
    with pytest.raises(IndexMismatchError, match="schema version 99.*upgrade"):
        open_on(tmp_path / "m3", served, fake_embedder)


def test_every_app_server_lists_the_collections_of_the_database(served: Settings, tmp_path: Path,
                                                                fake_embedder: FakeEmbedder) -> None:
    a = open_on(tmp_path / "m1", served, fake_embedder)
    other = Assistant.open(tmp_path / "m1" / "indexes" / "sport", settings=served, embedder=fake_embedder)
    other.close()
    try:
        assert Assistant.served_collections(served) == ["news", "sport"]
        with pytest.raises(ConfigError, match="maps to the PostgreSQL schema assistant_news"):
            Assistant.open(tmp_path / "m2" / "News", settings=served, embedder=fake_embedder)
    finally:
        a.close()


def test_an_upload_to_a_served_collection_is_read_and_not_kept(machine: Machine, tmp_path: Path,
                                                              fake_embedder: FakeEmbedder) -> None:
    from assistant.service.collections import Collections
    from assistant.service.service import CollectionService

    a, b = machine("m1"), machine("m2")
    src = tmp_path / "harbour.txt"
    src.write_text("The harbour master counted 14 ships on Friday. Two of them flew foreign flags.", encoding="utf-8")
    report = CollectionService(Collections(a, tmp_path / "m1" / "indexes")).upload([str(src)])
    assert report.added == ["harbour"] and not report.failed
    assert not list((a.path / "uploads").glob("*")), "a served collection keeps no upload on one machine"
    assert b.article("harbour")[1] == src.read_text(encoding="utf-8")  # the other app server has it all
    assert "harbour" in {p.sentence.article_id for p in b.search("harbour master ships", k=3)}


def test_a_qdrant_server_that_is_not_there_is_a_clear_error(pg_server: str, tmp_path: Path,
                                                           fake_settings: Settings, fake_embedder: FakeEmbedder) -> None:
    """The Qdrant server path (no Qdrant server ships on PyPI, so only its failure is exercised here): a real
    client pointed at a closed port; and a served catalog with Qdrant in local mode is refused."""
    pytest.importorskip("qdrant_client", reason="the qdrant extra: pip install 'cited-assistant[qdrant]'")
    url = f"http://127.0.0.1:{free_port()}"
    qdrant = fake_settings.replace(store={"backend": "qdrant", "qdrant_url": url})
    with pytest.raises(StoreUnavailableError, match=f"cannot reach the Qdrant server at {url}.*qdrant_url"):
        Assistant.open(tmp_path / "q", settings=qdrant, embedder=fake_embedder)
    local = fake_settings.replace(store={"backend": "qdrant", "catalog_url": fresh_database(pg_server)})
    with pytest.raises(ConfigError, match="needs store.qdrant_url"):
        open_on(tmp_path, local, fake_embedder)


def test_the_doors_do_not_show_where_a_served_collection_lives(served: Settings, tmp_path: Path,
                                                              fake_embedder: FakeEmbedder) -> None:
    from assistant.service.collections import Collections
    from assistant.service.service import CollectionService

    a = open_on(tmp_path / "m1", served, fake_embedder)
    try:
        service = CollectionService(Collections(a, tmp_path / "m1" / "indexes"))
        message = f"the connection to PostgreSQL at {a.index.home.where} failed; and {served.store.chroma_url} is away"
        shown = service.hide_paths(message)
        assert "127.0.0.1" not in shown and "<catalog database>" in shown and "<vector server>" in shown, shown
    finally:
        a.close()


def test_a_rebuild_elsewhere_stops_a_process_with_the_old_settings(machine: Machine, served: Settings,
                                                                  tmp_path: Path) -> None:
    a, b = machine("m1"), machine("m2")
    a.add(english_articles())
    other = FakeEmbedder(dim=512)  # another model: the collection is rebuilt to it on a third machine
    c = Assistant.open(tmp_path / "m3" / "indexes" / "news", settings=served, embedder=other, rebuild=True)
    try:
        assert sorted(i.id for i in c.articles()) == sorted(ENGLISH)
        assert c.search("families left their homes", k=1)
    finally:
        c.close()
    # reading or writing, a process of the old settings stops instead of mixing
    with pytest.raises(IndexMismatchError, match="rebuilt by another process"):
        a.search("families left their homes", k=1)
    with pytest.raises(IndexMismatchError, match="rebuilt by another process"):
        b.add([Article(id="late", text="A late note. It says nothing new.")])


def test_a_rebuild_after_a_crash_does_not_repair_with_the_new_model_first(tmp_path: Path, fake_settings: Settings,
                                                                          fake_embedder: FakeEmbedder) -> None:
    """Embedded: a crash left the marker; the rebuild to a model of another dimension redoes everything
    (a repair first would write new-model vectors into the old collections)."""
    path = tmp_path / "news"
    with Assistant.open(path, settings=fake_settings, embedder=fake_embedder) as a:
        a.add(english_articles())
    (path / ".dirty").touch()
    with Assistant.open(path, settings=fake_settings, embedder=FakeEmbedder(dim=512), rebuild=True) as b:
        assert sorted(i.id for i in b.articles()) == sorted(ENGLISH)
        assert b.index.vectors.all_ids("sentences") == b.index.catalog.all_ids()[0]
    assert not (path / ".dirty").exists()
