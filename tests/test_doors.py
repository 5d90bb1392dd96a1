"""The API doors of the chat's server over one service (assistant/web/api.py): the OpenAI-compatible chat
driven by the official ``openai`` client, the MCP tools driven by the ``mcp`` SDK's own client (streamable
HTTP against the running server, stdio against a child process), API keys, REST's Server-Sent Events, and
what every door's errors leave out (server paths).

Fast tier: the fake embedder at the model boundary (tests/fakes.py); the server, the clients, Chroma,
BM25 and the catalog are real. The child MCP server over stdio builds the same fake (tests/mcp_child.py).
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import httpx2
import openai
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from assistant import Article, Assistant, Settings
from assistant.service.keys import ApiKeys
from assistant.web.app import launch
from assistant.web.layout import build_ui
from tests.helpers import free_port

ROOT = Path(__file__).resolve().parents[1]
EN = ("The harbour master counted 4711 ships near the old lighthouse. "
      "Talks between the two delegations resumed in Doha on Monday.")
AR = "أعلنت وزارة الصحة أن عدد المستشفيات الجديدة بلغ 12 مستشفى هذا العام. وافتتح الوزير أكبرها في البصرة."


class Server:
    def __init__(self, root: str, a: Assistant, demo: Any):
        self.root, self.a, self.demo = root, a, demo

    def text(self, article_id: str) -> str:
        return self.a.article(article_id)[1]


def start_server(tmp_path: Path, fake_embedder: Any, settings: Settings) -> Server:
    a = Assistant.open(tmp_path / "news", settings=settings, embedder=fake_embedder)
    a.add([Article(id="harbour", text=EN, title="Harbour report", source="AFP", date="2019-06-12", lang="en"),
           Article(id="hospitals", text=AR, title="المستشفيات", source="رويترز", date="2019-06-13", lang="ar")])
    demo = build_ui(a, index_root=tmp_path)
    port = free_port()
    launch(demo, settings, port=port, prevent_thread_lock=True, quiet=True)
    return Server(f"http://127.0.0.1:{port}", a, demo)


@pytest.fixture
def server(tmp_path: Path, fake_embedder: Any, fake_settings: Settings) -> Iterator[Server]:
    s = start_server(tmp_path, fake_embedder, fake_settings.replace(index_root=str(tmp_path)))
    yield s
    s.demo.close()
    s.a.close()


def _exact(server: Server, cited: dict[str, Any]) -> None:
    assert cited["citations"], cited
    for c in cited["citations"]:
        assert server.text(c["article_id"])[c["start"]:c["end"]] == c["text"]
        assert f"[{c['n']}]" in cited["text"]


# --- OpenAI-compatible chat, with the official client ------------------------------------------------------
def test_openai_client_asks_in_english_and_arabic_plain_and_streamed(server: Server) -> None:
    client = openai.OpenAI(base_url=f"{server.root}/v1", api_key="unused-on-loopback")
    assert [m.id for m in client.models.list()] == ["cited/news"]
    assert client.models.retrieve("cited/news").id == "cited/news"

    reply = client.chat.completions.create(model="cited/news", temperature=0.3, messages=[
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "How many ships did the harbour master count?"}])
    message = reply.choices[0].message
    cited = message.model_extra["cited"]
    _exact(server, cited)
    assert cited["citations"][0]["article_id"] == "harbour" and "4711" in message.content
    assert message.content.startswith(cited["text"]) and "[1] Harbour report: " in message.content

    chunks = list(client.chat.completions.create(model="cited/news", stream=True, messages=[
        {"role": "user", "content": "كم عدد المستشفيات الجديدة؟"}]))
    content = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    last = chunks[-1]
    assert last.choices[0].finish_reason == "stop"
    cited = last.model_extra["cited"]
    _exact(server, cited)
    assert cited["lang"] == "ar" and cited["citations"][0]["article_id"] == "hospitals"
    assert content.startswith(cited["text"]) and "12" in content and "\n\n\n" not in content


def test_openai_follow_up_and_a_filter_through_extra_body(server: Server) -> None:
    client = openai.OpenAI(base_url=f"{server.root}/v1", api_key="x")
    follow = client.chat.completions.create(model="cited/news", messages=[
        {"role": "user", "content": "What did the harbour master count near the old lighthouse?"},
        {"role": "assistant", "content": "4711 ships [1]"},
        {"role": "user", "content": [{"type": "text", "text": "And where did the talks resume?"}]}])
    cited = follow.choices[0].message.model_extra["cited"]
    assert cited["question"] == "And where did the talks resume?"
    assert cited["standalone_question"] and "harbour" in cited["standalone_question"].lower()  # history was used
    filtered = client.chat.completions.create(model="cited/news", messages=[
        {"role": "user", "content": "How many ships?"}], extra_body={"sources": ["Reuters"]})
    cited = filtered.choices[0].message.model_extra["cited"]
    assert cited["abstained"] and cited["text"].startswith("No article matches the chosen filters")
    dated = client.chat.completions.create(model="news", messages=[{"role": "user", "content": "How many ships?"}],
                                           extra_body={"date_from": "2019-06-01", "languages": ["en"]})
    assert dated.choices[0].message.model_extra["cited"]["citations"][0]["article_id"] == "harbour"


def test_openai_errors_have_openais_shape(server: Server) -> None:
    client = openai.OpenAI(base_url=f"{server.root}/v1", api_key="x", max_retries=0)
    with pytest.raises(openai.NotFoundError) as e:
        client.chat.completions.create(model="cited/nope", messages=[{"role": "user", "content": "q"}])
    assert "cited/news" in str(e.value) and e.value.body["code"] == "CollectionNotFoundError"
    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(model="cited/news", messages=[])
    assert e.value.body["param"] == "messages" and e.value.body["type"] == "invalid_request_error"
    with pytest.raises(openai.BadRequestError, match="holds no user message"):
        client.chat.completions.create(model="cited/news", messages=[{"role": "assistant", "content": "hi"}])
    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(model="cited/news", messages=[{"role": "user", "content": "When?"}],
                                       extra_body={"date_from": "next week"})
    assert e.value.body["code"] == "DateError"


# --- MCP over streamable HTTP and stdio, with the SDK's client ---------------------------------------------
async def _mcp_session(client: Client, text_of: Any) -> None:
    tools = {t.name for t in (await client.list_tools()).tools}
    assert tools == {"search", "ask", "list_articles", "get_article", "add_article"}
    asked = (await client.call_tool("ask", {"question": "How many ships did the harbour master count?"})).structured_content
    assert asked["citations"][0]["article_id"] == "harbour"
    for c in asked["citations"]:
        assert text_of(c["article_id"])[c["start"]:c["end"]] == c["text"]
    article = (await client.call_tool("get_article", {"article_id": "harbour", "first_sentence": 1})).structured_content
    assert article["n_sentences"] == 2 and [s["n"] for s in article["sentences"]] == [1]
    assert text_of("harbour")[article["start"]:article["end"]] == article["text"] == article["sentences"][0]["text"]
    found = (await client.call_tool("search", {"query": "delegations Doha", "k": 1})).structured_content
    assert found["passages"][0]["sentence_id"] == article["sentences"][0]["id"]
    listed = (await client.call_tool("list_articles", {})).structured_content
    assert sorted(x["id"] for x in listed["articles"]) == ["harbour", "hospitals"]
    missing = await client.call_tool("get_article", {"article_id": "nope"})
    assert missing.is_error and "ArticleNotFoundError" in missing.content[0].text


def test_mcp_over_http_on_the_chat_server(server: Server) -> None:
    async def run() -> None:
        async with Client(f"{server.root}/mcp") as client:
            await _mcp_session(client, server.text)
            added = await client.call_tool("add_article", {"text": "The museum reopened in Mosul in May.",
                                                           "title": "Museum", "lang": "en"})
            assert added.structured_content["added"][0].startswith("text-")

    asyncio.run(run())
    assert any(i.title == "Museum" for i in server.a.articles())


def test_mcp_over_stdio(tmp_path: Path) -> None:
    async def run() -> None:
        params = StdioServerParameters(command=sys.executable, args=["-m", "tests.mcp_child", str(tmp_path)],
                                       cwd=str(ROOT))
        async with Client(params) as client:
            await _mcp_session(client, lambda aid: {"harbour": EN, "hospitals": AR}[aid])

    asyncio.run(run())


# --- API keys ---------------------------------------------------------------------------------------------
def test_a_key_is_created_used_and_revoked_at_every_door(server: Server) -> None:
    keys = ApiKeys.of(server.a.settings)
    key, token = keys.create("newsroom-bot")
    assert token.startswith("ca_") and token not in keys.path.read_text() and keys.path.stat().st_mode & 0o077 == 0
    bearer = {"Authorization": f"Bearer {token}"}
    # a key exists: the doors want one now, even on loopback
    assert httpx.get(f"{server.root}/api/v1/health").status_code == 401
    assert httpx.get(f"{server.root}/api/v1/health", headers={"Authorization": "Bearer ca_wrong"}).status_code == 401
    assert httpx.get(f"{server.root}/api/v1/health", headers=bearer).json()["status"] == "ok"
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=f"{server.root}/v1", api_key="ca_wrong", max_retries=0).models.list()
    client = openai.OpenAI(base_url=f"{server.root}/v1", api_key=token, max_retries=0)
    assert [m.id for m in client.models.list()] == ["cited/news"]
    refused = httpx.post(f"{server.root}/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
    assert refused.status_code == 401

    async def mcp_with(headers: dict[str, str]) -> int:
        async with httpx2.AsyncClient(headers=headers) as http:
            async with Client(streamable_http_client(f"{server.root}/mcp", http_client=http)) as c:
                return len((await c.list_tools()).tools)

    assert asyncio.run(mcp_with(bearer)) == 5
    assert keys.list()[0].last_used is not None
    keys.revoke("newsroom-bot")
    with pytest.raises(openai.AuthenticationError):
        client.models.list()
    assert httpx.get(f"{server.root}/api/v1/health", headers=bearer).status_code == 401


# --- REST: Server-Sent Events, the kept upload, no server paths --------------------------------------------
def test_rest_streams_server_sent_events(server: Server) -> None:
    events = []
    with httpx.stream("POST", f"{server.root}/api/v1/ask", json={"question": "How many ships?"},
                      headers={"Accept": "text/event-stream"}) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        name = None
        for line in r.iter_lines():
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                events.append((name, json.loads(line[6:])))
    assert [n for n, _ in events[:-1]] and {n for n, _ in events[:-1]} == {"delta"} and events[-1][0] == "answer"
    answer = events[-1][1]
    assert "".join(d["text"] for _, d in events[:-1]).strip() == answer["text"]  # the answer is the checked text
    _exact(server, answer)
    bad = httpx.post(f"{server.root}/api/v1/ask", json={"question": "q", "date_from": "someday"},
                     headers={"Accept": "text/event-stream"})
    assert bad.status_code == 400 and bad.json()["error"]["type"] == "DateError"


def test_rest_delete_drops_the_kept_upload(server: Server) -> None:
    up = httpx.post(f"{server.root}/api/v1/articles", files=[("files", ("dam.txt", b"The dam holds more water.", "text/plain"))])
    assert up.json()["added"] == ["dam"]
    kept = server.a.path / "uploads" / "dam.txt"
    assert kept.is_file()
    assert httpx.delete(f"{server.root}/api/v1/articles/dam").status_code == 200
    assert not kept.exists()


def test_no_door_names_a_server_path(server: Server) -> None:
    root = str(Path(server.a.settings.index_root).resolve())
    bodies = [
        httpx.get(f"{server.root}/api/v1/articles", params={"collection": "nope"}),
        httpx.delete(f"{server.root}/api/v1/articles/nope"),
        httpx.post(f"{server.root}/api/v1/ask", json={"question": "q", "collection": "nope"}),
        httpx.post(f"{server.root}/v1/chat/completions", json={"model": "cited/nope", "messages": [{"role": "user", "content": "q"}]}),
        httpx.get(f"{server.root}/v1/models/cited/nope"),
    ]
    for r in bodies:
        assert r.status_code == 404, r.text
        assert root not in r.text and str(server.a.path) not in r.text, r.text
    chat = server.demo.chat_app
    for shown in (chat.remove("nope", "news"), chat.open_ref("#article/news/nope")):
        assert "nope" in shown and root not in shown

    async def mcp_error() -> str:
        async with Client(f"{server.root}/mcp") as c:
            got = await c.call_tool("get_article", {"article_id": "nope"})
            return got.content[0].text

    message = asyncio.run(mcp_error())
    assert "nope" in message and root not in message


def test_a_read_only_server_refuses_writes(tmp_path: Path, fake_embedder: Any, fake_settings: Settings) -> None:
    s = start_server(tmp_path, fake_embedder, fake_settings.replace(index_root=str(tmp_path), server={"allow_writes": False}))
    try:
        refused = httpx.delete(f"{s.root}/api/v1/articles/harbour")
        assert refused.status_code == 403 and refused.json()["error"]["type"] == "Forbidden"

        async def tools() -> set[str]:
            async with Client(f"{s.root}/mcp") as c:
                return {t.name for t in (await c.list_tools()).tools}

        assert "add_article" not in asyncio.run(tools())
        assert [i.id for i in s.a.articles()] == ["harbour", "hospitals"]
    finally:
        s.demo.close()
        s.a.close()


def test_the_openapi_description_covers_every_route(server: Server) -> None:
    spec = httpx.get(f"{server.root}/api/v1/openapi.json").json()
    assert {"/api/v1/ask", "/api/v1/articles", "/api/v1/articles/{article_id}", "/api/v1/health", "/v1/models",
            "/v1/models/{model}", "/v1/chat/completions"} == set(spec["paths"])
    delete = spec["paths"]["/api/v1/articles/{article_id}"]["delete"]
    assert any(p["name"] == "article_id" and p["in"] == "path" for p in delete["parameters"])
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            assert {"200", "401", "500"} <= set(op["responses"]), (method, path)


def test_the_keys_command_creates_lists_and_revokes(capsys: pytest.CaptureFixture[str]) -> None:
    from assistant.cli import main

    assert main(["keys", "list"]) == 0
    assert "no API keys" in capsys.readouterr().err
    assert main(["keys", "create", "newsroom-bot"]) == 0
    out = capsys.readouterr()
    token = out.out.strip()
    assert token.startswith("ca_") and len(token) == 46 and "shown once" in out.err
    keys = ApiKeys.of(Settings())
    assert keys.verify(token) is not None and token not in keys.path.read_text()
    assert main(["keys", "create", "newsroom-bot"]) == 1
    assert "already a key named 'newsroom-bot'" in capsys.readouterr().err
    assert main(["keys", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [k["name"] for k in listed] == ["newsroom-bot"] and listed[0]["prefix"] == token[:8]
    assert main(["keys", "revoke", "newsroom-bot"]) == 0
    assert "revoked key 'newsroom-bot'" in capsys.readouterr().out
    assert keys.verify(token) is None and keys.list() == [] and keys.configured()
    assert main(["keys", "revoke", "nobody"]) == 1
    assert "there is no key named 'nobody'" in capsys.readouterr().err


@pytest.mark.slow
def test_assistant_mcp_over_stdio_on_the_sample_with_the_real_model(tmp_path: Path) -> None:
    """The command a desktop assistant runs: `assistant mcp` (the sample collection, the default model)."""
    from tests.helpers import child_env

    async def run() -> None:
        params = StdioServerParameters(command=str(Path(sys.executable).parent / "assistant"), args=["mcp"],
                                       env=child_env(tmp_path), cwd=str(tmp_path))
        async with Client(params, read_timeout_seconds=300) as client:
            asked = (await client.call_tool("ask", {"question": "من نقل الرسائل بين طهران وواشنطن؟"})).structured_content
            assert not asked["abstained"] and asked["lang"] == "ar"
            first = asked["citations"][0]
            article = (await client.call_tool("get_article", {"article_id": first["article_id"]})).structured_content
            assert article["text"][first["start"]:first["end"]] == first["text"]
            assert any(s["id"] == first["sentence_id"] for s in article["sentences"])
            english = (await client.call_tool("ask", {"question": "Who carried messages between Tehran and Washington?"})
                       ).structured_content
            assert english["lang"] == "en" and english["citations"]

    asyncio.run(run())


def test_pages_of_other_sites_and_other_host_names_are_refused(server: Server) -> None:
    """No cross-site request (CSRF) and, on an open loopback server, no DNS rebinding, at every door."""
    evil = {"Origin": "https://evil.example"}
    assert httpx.post(f"{server.root}/api/v1/ask", json={"question": "q"}, headers=evil).status_code == 403
    assert httpx.post(f"{server.root}/v1/chat/completions", headers=evil, json={
        "model": "cited/news", "messages": [{"role": "user", "content": "q"}]}).status_code == 403
    assert httpx.post(f"{server.root}/mcp", headers=evil, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
                      ).status_code == 403
    upload = httpx.post(f"{server.root}/api/v1/articles", headers=evil,
                        files=[("files", ("x.txt", b"The dam holds water.", "text/plain"))])
    assert upload.status_code == 403 and [i.id for i in server.a.articles()] == ["harbour", "hospitals"]
    rebound = httpx.get(f"{server.root}/api/v1/health", headers={"Host": "evil.example"})
    assert rebound.status_code == 403 and "this machine's own names" in rebound.json()["error"]["message"]
    same = httpx.get(f"{server.root}/api/v1/health", headers={"Origin": server.root})
    assert same.status_code == 200


def test_a_broken_keys_file_is_a_server_error_not_an_open_door(server: Server) -> None:
    keys = ApiKeys.of(server.a.settings)
    keys.path.parent.mkdir(parents=True, exist_ok=True)
    keys.path.write_text("{not json", encoding="utf-8")
    assert httpx.get(f"{server.root}/api/v1/health").status_code == 401  # a keys file exists: closed
    bearer = {"Authorization": "Bearer ca_anything"}
    r = httpx.get(f"{server.root}/api/v1/health", headers=bearer)
    assert r.status_code == 500 and r.json()["error"]["type"] == "InternalError"
    assert str(keys.path) not in r.text
    assert httpx.get(f"{server.root}/v1/models", headers=bearer).status_code == 500
    assert httpx.post(f"{server.root}/mcp", headers=bearer, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
                      ).status_code == 500


def test_upload_names_are_made_safe_and_kept_apart(server: Server) -> None:
    files = [("files", ("..", b"The museum reopened in Mosul.", "text/plain")),
             ("files", ("a/../../b.txt", b"Rain fell in Basra on Monday.", "text/plain"))]
    r = httpx.post(f"{server.root}/api/v1/articles", files=files)
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["failed"] and report["failed"][0][0] in ("upload", "..", "upload.txt")
    assert "b" in report["added"]
    assert (server.a.path / "uploads" / "b.txt").is_file()
