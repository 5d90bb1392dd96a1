"""Fetch a news page given as a URL (``Assistant.add("https://...")``, ``assistant ingest URL``, the chat).

Only ``http`` and ``https``. The host's addresses are resolved first and a page on a loopback, private,
link-local, reserved or multicast address is refused (a server asked to fetch a URL must not be made to
reach the machines behind it), unless ``ingest.allow_private_urls`` is on (a test's local server, an
intranet). Redirects are followed by hand, at most five, each hop checked the same way. A timeout
(``ingest.url_timeout``) and the file size limit (``ingest.max_file_mb``, read in blocks: a page is never
held past it) apply; the page must be HTML (or plain text). The page is then read like an .html file.

Any failure is an :class:`~assistant.errors.IngestError` naming the URL and the fix; offline, it says so.
Limit: the address is checked when resolved, and the connection resolves it again; a DNS server that
answers differently the second time (rebinding) is not caught. Serve the chat beyond loopback only to
people you trust with it, or keep ``allow_private_urls`` off behind a resolver you control.
The article id is the URL without its scheme (``example.com/news/doha-talks``); the article's ``path``
is the URL fetched last.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

from assistant.errors import FileTooLargeError, IngestError, UnsupportedFormatError

__all__ = ["is_url", "fetch_page", "url_article_id", "Page"]

MAX_REDIRECTS = 5
_TYPES = ("text/html", "application/xhtml+xml", "text/plain")


@dataclass(frozen=True)
class Page:
    url: str  # after redirects
    body: bytes
    content_type: str
    charset: str | None


_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://", re.I)


def is_url(source: object) -> bool:
    """A string with a URL scheme (``https://``, but also ``ftp://``, ``file://``: refused when fetched)."""
    return isinstance(source, str) and bool(_SCHEME.match(source))


def url_article_id(url: str) -> str:
    """``https://Example.com/news/doha-talks/?x=1#top`` → ``example.com/news/doha-talks?x=1`` (a port
    when one is given: ``127.0.0.1:8000/news``)."""
    p = urllib.parse.urlsplit(url)
    path = p.path.rstrip("/")
    host = (p.hostname or "").lower() + (f":{p.port}" if p.port else "")
    return f"{host}{path}" + (f"?{p.query}" if p.query else "")


def _check_host(url: str, allow_private: bool) -> None:
    """Refuse ``url`` unless it is http(s) on a host that resolves to public addresses (or ``allow_private``);
    IngestError(url, why) otherwise."""
    p = urllib.parse.urlsplit(url)
    if p.scheme.lower() not in ("http", "https"):
        raise IngestError(url, f"'{p.scheme}:' URLs are not fetched; give an http:// or https:// address")
    if not p.hostname:
        raise IngestError(url, "has no host name; give a full address such as https://example.com/news/1")
    try:
        infos = socket.getaddrinfo(p.hostname, p.port or (443 if p.scheme == "https" else 80), type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as e:
        raise IngestError(url, f"cannot be fetched: the host {p.hostname!r} is not found ({e}); check the address, "
                          "or this machine may be offline (save the page and add the file instead)") from e
    if allow_private:
        return
    for *_, addr in infos:
        ip = ipaddress.ip_address(addr[0])
        if ip.is_loopback or ip.is_private or ip.is_link_local or ip.is_reserved or ip.is_multicast or ip.is_unspecified:
            raise IngestError(url, f"points to {ip}, an address on this machine or its private network; such pages "
                              "are not fetched (set ingest.allow_private_urls to allow it, e.g. for an intranet)")


def _check_hop(given: str, current: str, allow_private: bool) -> None:
    """:func:`_check_host` for a hop of ``given``'s redirects: the error names the URL the caller gave."""
    try:
        _check_host(current, allow_private)
    except IngestError as e:
        if current == given:
            raise
        raise IngestError(given, f"redirects to {current}: {e.reason}") from e


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN201 - urllib's signature
        return None  # each hop is checked and followed by fetch_page


def fetch_page(url: str, *, timeout: float, max_bytes: int, allow_private: bool) -> Page:
    """The page at ``url`` (see the module doc); IngestError on any failure."""
    opener = urllib.request.build_opener(_NoRedirect)
    current = url
    for _ in range(MAX_REDIRECTS + 1):
        _check_hop(url, current, allow_private)
        req = urllib.request.Request(current, headers={"User-Agent": "cited-assistant/1 (+news reader)",
                                                       "Accept": "text/html,application/xhtml+xml,text/plain"})
        try:
            resp = opener.open(req, timeout=timeout)
        except urllib.error.HTTPError as e:
            if e.code in (301, 302, 303, 307, 308) and e.headers.get("Location"):
                current = urllib.parse.urljoin(current, e.headers["Location"])
                continue
            raise IngestError(url, f"cannot be fetched: the server answered HTTP {e.code} {e.reason}; check the "
                              "address") from e
        except (urllib.error.URLError, TimeoutError, OSError) as e:
            reason = getattr(e, "reason", e)
            raise IngestError(url, f"cannot be fetched ({reason}); check the address and the network, or save the "
                              "page and add the file") from e
        with resp:
            ctype = resp.headers.get_content_type()
            if ctype not in _TYPES:
                raise UnsupportedFormatError(url, f"is {ctype}, not a web page; download it and add the file")
            declared = resp.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                raise FileTooLargeError(url, f"is {int(declared) / 1e6:.1f} MB, over the {max_bytes / 1e6:.1f} MB "
                                        "limit (ingest.max_file_mb)")
            chunks, size = [], 0
            try:
                while block := resp.read(1 << 16):
                    size += len(block)
                    if size > max_bytes:
                        raise FileTooLargeError(url, f"is over the {max_bytes / 1e6:.1f} MB limit "
                                                "(ingest.max_file_mb); nothing more was read")
                    chunks.append(block)
            except (TimeoutError, OSError) as e:
                raise IngestError(url, f"stopped arriving ({e}); try again later") from e
            return Page(current, b"".join(chunks), ctype, resp.headers.get_content_charset())
    raise IngestError(url, f"redirects more than {MAX_REDIRECTS} times; give the final address")
