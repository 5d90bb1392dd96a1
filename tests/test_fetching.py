"""Web pages given as URLs (assistant/ingest/fetching.py): a real HTTP server on 127.0.0.1, started by the
test, serves news pages, redirects, a PDF, a huge page and a slow one. Fast tier: the fake embedder at the
model boundary (tests/fakes.py). The local server needs ``ingest.allow_private_urls``; with it off, the
same server is refused as a private address, which is the rule under test."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from assistant import Assistant, Settings
from assistant.ingest import fetching
from assistant.ingest.fetching import url_article_id

PAGE = ("<html><head><title>Doha talks | Agency</title><meta property='og:site_name' content='News Agency'>"
        "<meta property='article:published_time' content='2019-06-12'></head><body><nav><a href='/'>Home</a>"
        "<a href='/p'>Politics</a></nav><article><h1>Doha talks to resume on Monday</h1>"
        "<p>The delegation's spokesman said the talks would resume in Doha next Monday.</p>"
        "<p>More than twenty thousand foreign soldiers are estimated to be in the country.</p></article>"
        "<footer>All rights reserved</footer></body></html>")


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802
        routes = {
            "/news/doha": (200, "text/html; charset=utf-8", PAGE.encode()),
            "/file.pdf": (200, "application/pdf", b"%PDF-1.7"),
            "/huge": (200, "text/html", b"<p>" + b"x" * 3_000_000 + b"</p>"),
            "/gone": (404, "text/html", b"not here"),
        }
        redirects = {"/old": "/news/doha", "/to-file": "file:///etc/passwd", "/loop": "/loop"}
        if self.path in redirects:
            self.send_response(301 if self.path == "/old" else 302)
            self.send_header("Location", redirects[self.path])
            self.end_headers()
            return
        if self.path == "/slow":
            time.sleep(3)
        code, ctype, body = routes.get(self.path, (200, "text/html", PAGE.encode()))
        try:
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def local(tmp_path, fake_embedder, fake_settings: Settings) -> Iterator[Assistant]:  # noqa: ANN001
    s = fake_settings.replace(ingest={"allow_private_urls": True, "url_timeout": 1.0, "max_file_mb": 1.0})
    a = Assistant.open(tmp_path / "web", settings=s, embedder=fake_embedder)
    yield a
    a.close()


def test_a_news_page_is_fetched_and_read_as_html(local: Assistant, site: str) -> None:
    rep = local.add(f"{site}/news/doha")
    aid = url_article_id(f"{site}/news/doha")
    assert rep.added == [aid] and aid == f"{site.removeprefix('http://')}/news/doha"
    info, text = local.article(aid)
    assert text.endswith("The delegation's spokesman said the talks would resume in Doha next Monday.\n"
                         "More than twenty thousand foreign soldiers are estimated to be in the country.")
    assert "Home" not in text and "Politics" not in text and "All rights reserved" not in text  # the page's boilerplate
    assert (info.title, info.source, info.date, info.path) == (
        "Doha talks to resume on Monday", "News Agency", "2019-06-12", f"{site}/news/doha")
    moved = local.add(f"{site}/old")  # a redirect on the same (allowed) server is followed
    [moved_id] = moved.added
    assert local.article(moved_id)[0].path == f"{site}/news/doha"


def test_what_is_not_fetched_says_why(local: Assistant, site: str) -> None:
    rep = local.add([f"{site}/file.pdf", f"{site}/huge", f"{site}/gone", f"{site}/to-file", f"{site}/loop",
                     f"{site}/slow", "ftp://example.com/x", "http://no-such-host.invalid/news"])
    why = dict(rep.failed)
    assert "is application/pdf, not a web page" in why[f"{site}/file.pdf"]
    assert "over the 1.0 MB limit" in why[f"{site}/huge"]
    assert "HTTP 404" in why[f"{site}/gone"]
    assert "redirects to file:///etc/passwd: 'file:' URLs are not fetched" in why[f"{site}/to-file"]
    assert "redirects more than 5 times" in why[f"{site}/loop"]
    assert "cannot be fetched" in why[f"{site}/slow"] and "timed out" in why[f"{site}/slow"]
    assert "'ftp:' URLs are not fetched" in why["ftp://example.com/x"]
    assert "is not found" in why["http://no-such-host.invalid/news"] and "offline" in why["http://no-such-host.invalid/news"]
    assert rep.added == [] and local.articles() == []


def test_private_addresses_are_refused_unless_allowed(tmp_path, fake_embedder, fake_settings: Settings,  # noqa: ANN001
                                                      site: str, monkeypatch: pytest.MonkeyPatch) -> None:
    a = Assistant.open(tmp_path / "strict", settings=fake_settings, embedder=fake_embedder)
    rep = a.add(f"{site}/news/doha")
    [(where, why)] = rep.failed
    assert where == f"{site}/news/doha" and "points to 127.0.0.1" in why and "ingest.allow_private_urls" in why
    # a public page redirecting into the private network: every hop is checked. The first hop is let
    # through as a public host would be (the DNS boundary, faked); the redirect's target is not.
    real = fetching._check_host
    hops: list[str] = []

    def first_public(url: str, allow_private: bool) -> None:
        hops.append(url)
        real(url, allow_private or len(hops) == 1)

    monkeypatch.setattr(fetching, "_check_host", first_public)
    rep = a.add(f"{site}/old")
    [(where, why)] = rep.failed
    assert hops == [f"{site}/old", f"{site}/news/doha"] and where == f"{site}/old"
    assert f"redirects to {site}/news/doha: points to 127.0.0.1" in why
    a.close()


def test_the_chat_adds_a_page_by_its_address(local: Assistant, site: str, tmp_path) -> None:  # noqa: ANN001
    from assistant.service.collections import Collections
    from assistant.service.service import CollectionService
    from assistant.web.chat import ChatApp

    app = ChatApp(CollectionService(Collections(local, tmp_path)))
    assert "web: added 1, replaced 0, unchanged 0, failed 0." in app.add_url(f"  {site}/news/doha ", "web")
    assert "unchanged 1" in app.add_url(f"{site}/news/doha", "web")
    assert "starting with https://" in app.add_url("doha talks", "web")
    refused = app.add_url(f"{site}/gone", "web")
    assert "failed 1" in refused and "HTTP 404" in refused
