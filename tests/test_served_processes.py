"""Issue 25's acceptance test: two app servers and two ingesters, separate processes as on separate
machines (each its own local folder), on one PostgreSQL and one Chroma server; an ingester and an app
server killed with SIGKILL mid-way. Afterwards every article is there once, nothing committed is lost,
nothing is half-written, and both app servers (the survivor and the restarted one) give the same answers
and citations to the same 20 questions.

Real servers (tests/services.py), the real CLI (`assistant ingest`, `assistant serve`), the subprocess
embedding model of the suite (tests/helpers.py SUBPROCESS_BACKEND). Data: ARCD and XQuAD English
paragraphs from ../shared/data as articles (skipped without it).
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import httpx
import pytest

from assistant import Assistant
from tests.helpers import SHARED, Child, child_env, free_port, subprocess_settings
from tests.services import fresh_database

pytestmark = pytest.mark.slow

CLI = "import sys; from assistant.cli import main; sys.exit(main(sys.argv[1:]))"


def paragraphs() -> tuple[list[dict], list[tuple[str, str]]]:
    """Articles (one per paragraph: ARCD's Arabic, XQuAD's English) and 20 questions about them (ar, en)."""
    arts, questions = [], []
    for name, lang, upto in (("arcd-train", "ar", 12), ("xquad-dev.en", "en", 20)):
        path = SHARED / "qa" / f"{name}.json"
        if not path.exists():
            pytest.skip(f"{path} is missing: the test reads the shared QA sets (../shared/data)")
        for ai, art in enumerate(json.loads(path.read_text(encoding="utf-8"))["data"]):
            for pi, p in enumerate(art["paragraphs"]):
                arts.append({"id": f"{lang}-{ai:03d}-{pi:02d}", "title": art.get("title") or "", "text": p["context"]})
                if len(questions) < upto and pi == 0:
                    questions.append((arts[-1]["id"], p["qas"][0]["question"]))
    return arts, questions


def write_folder(folder: Path, arts: list[dict]) -> None:
    folder.mkdir(parents=True)
    for a in arts:
        (folder / f"{a['id']}.json").write_text(json.dumps(a, ensure_ascii=False), encoding="utf-8")


def wait_http(url: str, proc: Child, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.proc.poll() is None, proc.log.read_text(encoding="utf-8")[-3000:]
        try:
            if httpx.get(f"{url}/health", timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"{url} did not answer: {proc.log.read_text(encoding='utf-8')[-3000:]}")


def ask_once(url: str, question: str) -> object:
    try:
        return httpx.post(f"{url}/ask", json={"question": question}, timeout=60).status_code
    except httpx.TransportError as e:
        return e


def holding_the_lock(catalog_url: str, ingester: Child, *, after_articles: int, reader: Assistant) -> bool:
    """Wait until ``ingester`` has committed ``after_articles`` articles and holds the collection's write lock
    (an advisory lock whose connection names its pid); False when it finished first."""
    import psycopg

    mark = f"%pid {ingester.proc.pid}"
    deadline = time.monotonic() + 600
    with psycopg.connect(catalog_url, autocommit=True) as conn:
        while time.monotonic() < deadline and ingester.proc.poll() is None:
            if reader.index.catalog.count()[0] >= after_articles and conn.execute(
                    "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = "
                    "'advisory' AND l.granted AND l.objsubid = 2 AND a.application_name LIKE %s "
                    "AND l.objid = (hashtext(%s)::bigint & 4294967295)::oid",  # the write lock, not the open lock
                    ("assistant lock " + mark, "write:assistant_news")).fetchone()[0]:
                return True
            time.sleep(0.002)
    return False


def answers(url: str, questions: list[tuple[str, str]]) -> list[tuple[str, list[tuple[str, int, int]]]]:
    out = []
    for _, q in questions:
        r = httpx.post(f"{url}/ask", json={"question": q, "collection": "news"}, timeout=120)
        assert r.status_code == 200, r.text
        d = r.json()
        out.append((d["text"], [(c["sentence_id"], c["start"], c["end"]) for c in d["citations"]]))
    return out


def test_two_app_servers_and_two_ingesters_survive_sigkill(pg_server: str, chroma: str, tmp_path: Path) -> None:
    arts, questions = paragraphs()
    ar = [a for a in arts if a["id"].startswith("ar-")]
    en = [a for a in arts if a["id"].startswith("en-")]
    # two folders that overlap: 40 Arabic and 5 English articles are sent by both ingesters
    half = len(ar) // 2
    folder_a, folder_b = tmp_path / "in-a", tmp_path / "in-b"
    write_folder(folder_a, ar[: half + 20] + en[:20])
    write_folder(folder_b, ar[half - 20 :] + en[15:])
    expected = {a["id"]: a["text"] for a in arts}
    store = {"ASSISTANT_STORE__CATALOG_URL": fresh_database(pg_server), "ASSISTANT_STORE__CHROMA_URL": chroma,
             "ASSISTANT_STORE__LOCK_TIMEOUT": "120", "ASSISTANT_ANSWER__MIN_SCORE": "0"}

    def machine(name: str) -> dict[str, str]:
        (tmp_path / name).mkdir(exist_ok=True)
        return child_env(tmp_path / name, **store)

    def server(name: str, port: int) -> Child:
        return Child(CLI, ["serve", "--index", "news", "--port", str(port)], machine(name), tmp_path / f"{name}.log")

    def ingester(name: str, folder: Path) -> Child:
        return Child(CLI, ["ingest", str(folder), "--index", "news"], machine(name), tmp_path / f"{name}.log")

    ports = {"s1": free_port(), "s2": free_port()}
    urls = {k: f"http://127.0.0.1:{p}/api/v1" for k, p in ports.items()}
    s1, s2 = server("s1", ports["s1"]), server("s2", ports["s2"])
    procs = [s1, s2]
    try:
        wait_http(urls["s1"], s1)
        wait_http(urls["s2"], s2)
        i1, i2 = ingester("i1", folder_a), ingester("i2", folder_b)
        procs += [i1, i2]
        reader = Assistant.open(tmp_path / "test-process" / "news", settings=subprocess_settings().replace(
            store={"catalog_url": store["ASSISTANT_STORE__CATALOG_URL"], "chroma_url": chroma}))
        try:
            # kill the first ingester while it holds the write lock (storing a batch), once it has committed some
            assert holding_the_lock(store["ASSISTANT_STORE__CATALOG_URL"], i1, after_articles=30, reader=reader)
            i1.kill()
            # the second app server answers during the ingest, then dies in the middle of a question
            assert httpx.post(f"{urls['s2']}/ask", json={"question": questions[0][1]}, timeout=120).status_code == 200
            outcome: list[object] = []
            asking = threading.Thread(target=lambda: outcome.append(ask_once(urls["s2"], questions[1][1])))
            asking.start()
            time.sleep(0.05)
            s2.kill()
            asking.join(60)
            assert outcome and isinstance(outcome[0], httpx.TransportError), outcome
            committed = {i.id for i in reader.articles()}
            assert committed and i2.finish(timeout=900) == 0, (tmp_path / "i2.log").read_text()[-3000:]
            assert committed <= {i.id for i in reader.articles()}  # nothing committed was lost
            # the killed ingester is run again: it adds what it had not committed
            i1b = ingester("i1", folder_a)
            procs.append(i1b)
            assert i1b.finish(timeout=900) == 0, (tmp_path / "i1.log").read_text()[-3000:]
            s2 = server("s2", ports["s2"])
            procs.append(s2)
            wait_http(urls["s2"], s2)
            # every article once, whole, in the catalog, the vectors and BM25; no crash marker left
            infos = reader.articles()
            assert sorted(i.id for i in infos) == sorted(expected)
            cat = reader.index.catalog
            n_sentences = sum(i.n_sentences for i in infos)
            assert cat.count() == (len(expected), n_sentences)
            for info in infos[:: max(1, len(infos) // 25)]:
                assert reader.article(info.id)[1] == expected[info.id]
            sids, cids = cat.all_ids()
            reader.index.sync()
            assert reader.index.vectors.all_ids("sentences") == sids
            assert reader.index.vectors.all_ids("chunks") == cids
            assert len(reader.index.lexical or []) == n_sentences
            assert reader.index._marker.present is False
            # both app servers: the same answers and citations
            first, second = answers(urls["s1"], questions), answers(urls["s2"], questions)
            assert len(questions) == 20 and first == second
            assert sum(1 for _, cites in first if cites) >= 15
        finally:
            reader.close()
    finally:
        for p in procs:
            if p.proc.poll() is None:
                p.proc.terminate()
                p.finish(timeout=60)
