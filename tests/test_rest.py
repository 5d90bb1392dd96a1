"""The REST API beside the chat (assistant/web/rest.py), called with an HTTP client against the running
server. Fast tier: the fake embedder at the model boundary (tests/fakes.py); the server, Chroma, BM25 and
the catalog are real."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from assistant import Article, Assistant, Settings
from assistant.web.app import launch
from assistant.web.layout import build_ui
from tests.helpers import free_port

TEXT = ("The harbour master counted 4711 ships near the old lighthouse. "
        "Talks between the two delegations resumed in Doha on Monday.")


def _serve(a: Assistant, settings: Settings, root: Path) -> tuple[str, object]:
    demo = build_ui(a, index_root=root)
    port = free_port()
    launch(demo, settings, port=port, prevent_thread_lock=True, quiet=True)
    return f"http://127.0.0.1:{port}/api/v1", demo


@pytest.fixture
def api(tmp_path: Path, fake_embedder, fake_settings: Settings) -> Iterator[tuple[str, Assistant]]:  # noqa: ANN001
    settings = fake_settings.replace(index_root=str(tmp_path))
    a = Assistant.open(tmp_path / "news", settings=settings, embedder=fake_embedder)
    a.add(Article(id="harbour", text=TEXT, source="AFP", date="2019-06-12", lang="en"))
    url, demo = _serve(a, settings, tmp_path)
    yield url, a
    demo.close()
    a.close()


def test_health_ask_and_exact_offsets(api: tuple[str, Assistant]) -> None:
    url, a = api
    health = httpx.get(f"{url}/health").json()
    assert health["status"] == "ok" and health["collections"] == ["news"] and health["articles"] == 1
    r = httpx.post(f"{url}/ask", json={"question": "How many ships did the harbour master count?"})
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["citations"] and "passages" not in data
    _, text = a.article("harbour")
    for c in data["citations"]:
        assert text[c["start"] : c["end"]] == c["text"]
    filtered = httpx.post(f"{url}/ask", json={"question": "How many ships?", "sources": ["Reuters"]}).json()
    assert filtered["abstained"] and filtered["text"].startswith("No article matches the chosen filters")
    dated = httpx.post(f"{url}/ask", json={"question": "How many ships?", "date_from": "1 يونيو 2019",
                                           "date_to": "2019-06-30"}).json()
    assert dated["citations"]


def test_errors_are_json_that_names_the_problem(api: tuple[str, Assistant]) -> None:
    url, _ = api
    bad_date = httpx.post(f"{url}/ask", json={"question": "When?", "date_from": "next week"})
    assert bad_date.status_code == 400
    assert bad_date.json()["error"]["type"] == "DateError" and "'next week' is not a date" in bad_date.json()["error"]["message"]
    missing = httpx.post(f"{url}/ask", json={"history": []})
    assert missing.status_code == 400 and missing.json()["error"]["type"] == "InvalidRequest"
    assert "question" in missing.json()["error"]["message"]
    not_json = httpx.post(f"{url}/ask", content=b"{not json", headers={"content-type": "application/json"})
    assert not_json.status_code == 400 and not_json.json()["error"]["type"] == "InvalidRequest"
    big = httpx.post(f"{url}/ask", json={"question": "x" * 70_000})
    assert big.status_code == 413 and big.json()["error"]["type"] == "TooLarge"
    unknown = httpx.get(f"{url}/articles", params={"collection": "nope"})
    assert unknown.status_code == 404 and "no collection" in unknown.json()["error"]["message"]
    mode = httpx.post(f"{url}/ask", json={"question": "q", "mode": "poetic"})
    assert mode.status_code == 400 and mode.json()["error"]["type"] == "InvalidRequest"
    assert "mode" in mode.json()["error"]["message"]


def test_upload_list_and_delete(api: tuple[str, Assistant]) -> None:
    url, a = api
    files = [("files", ("dam.txt", b"The dam holds more water this year. Rain fell in Basra.", "text/plain")),
             ("files", ("evil.exe", b"MZ...", "application/octet-stream"))]
    up = httpx.post(f"{url}/articles", files=files)
    assert up.status_code == 200, up.text
    report = up.json()
    assert report["added"] == ["dam"] and report["failed"] and report["failed"][0][0] == "evil.exe"
    ids = [x["id"] for x in httpx.get(f"{url}/articles").json()]
    assert sorted(ids) == ["dam", "harbour"]
    assert "path" not in httpx.get(f"{url}/articles").json()[0]
    huge = httpx.post(f"{url}/articles", files=[("files", ("big.txt", b"x" * 21_000_000, "text/plain"))])
    assert huge.status_code == 413 and huge.json()["error"]["type"] == "TooLarge"
    not_form = httpx.post(f"{url}/articles", json={"files": []})
    assert not_form.status_code == 400 and "multipart" in not_form.json()["error"]["message"]
    gone = httpx.delete(f"{url}/articles/dam")
    assert gone.status_code == 200 and gone.json() == {"removed": "dam", "collection": "news"}
    again = httpx.delete(f"{url}/articles/dam")
    assert again.status_code == 404 and again.json()["error"]["type"] == "ArticleNotFoundError"
    assert [i.id for i in a.articles()] == ["harbour"]  # nothing else lost


def test_openapi_and_the_docs_page(api: tuple[str, Assistant]) -> None:
    url, _ = api
    spec = httpx.get(f"{url}/openapi.json").json()
    assert spec["openapi"].startswith("3.")
    assert {"/api/v1/ask", "/api/v1/articles", "/api/v1/articles/{article_id}", "/api/v1/health"} <= set(spec["paths"])
    page = httpx.get(f"{url}/docs")
    assert page.status_code == 200 and "POST /api/v1/ask" in page.text and "<script" not in page.text


def test_a_server_with_accounts_refuses_calls_without_a_login(tmp_path: Path, fake_embedder,  # noqa: ANN001
                                                              fake_settings: Settings) -> None:
    settings = fake_settings.replace(index_root=str(tmp_path), server={"auth_user": "reader", "auth_password": "s3cret-passw0rd"})
    a = Assistant.open(tmp_path / "news", settings=settings, embedder=fake_embedder)
    a.add(Article(id="harbour", text=TEXT))
    url, demo = _serve(a, settings, tmp_path)
    try:
        refused = httpx.post(f"{url}/ask", json={"question": "How many ships?"})
        assert refused.status_code == 401 and refused.json()["error"]["type"] == "Unauthorized"
        assert refused.headers["www-authenticate"].startswith("Basic")
        assert httpx.get(f"{url}/health", auth=("reader", "wrong")).status_code == 401
        assert httpx.get(f"{url}/articles", auth=("nobody", "s3cret-passw0rd")).status_code == 401
        ok = httpx.post(f"{url}/ask", json={"question": "How many ships?"}, auth=("reader", "s3cret-passw0rd"))
        assert ok.status_code == 200 and ok.json()["question"] == "How many ships?"
    finally:
        demo.close()
        a.close()
