"""Markup to plain text: the article of an HTML page (trafilatura; the visible text when it finds
none) and a Markdown article, with their metadata.

Both give one block per line; the text is then cleaned and split like any other (see reading.py).
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

__all__ = ["visible_text", "html_to_text", "main_text", "markdown_to_text"]


class _HTMLText(HTMLParser):
    _SKIP = {"script", "style", "noscript", "template", "svg", "head", "iframe", "object"}
    _BLOCK = {
        "p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "table", "section",
        "article", "header", "footer", "blockquote", "pre", "hr", "dt", "dd", "figcaption", "main", "nav",
        "aside", "title",
    }

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip_depth = 0
        self.in_title = False
        self.in_h1 = False
        self.title = ""
        self.h1 = ""
        self.meta: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "meta":
            a = {k: v or "" for k, v in attrs}
            key = (a.get("property") or a.get("name") or "").lower()
            if key and a.get("content"):
                self.meta.setdefault(key, a["content"].strip())
            return
        if tag == "title":
            self.in_title = True
            return
        if tag in self._SKIP:
            self.skip_depth += 1
            return
        if tag == "h1":
            self.in_h1 = True
        if tag in self._BLOCK:
            self.parts.append("\n")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag in self._SKIP:
            self.skip_depth -= 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self.in_title = False
        elif tag in self._SKIP:
            self.skip_depth = max(0, self.skip_depth - 1)
        elif tag in self._BLOCK:
            if tag == "h1":
                self.in_h1 = False
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if self.in_title:
            self.title += data
            return
        if self.skip_depth:
            return
        if self.in_h1:
            self.h1 += data
        self.parts.append(data)


def html_to_text(html: str) -> tuple[str, dict[str, str]]:
    """The article of a news page: its main text through trafilatura (menus, banners, "most read" lists,
    comments and footers left out: bench/html_readers.py, 0 boilerplate lines leaked on our test pages
    where the whole visible text leaked 48) with the title, site name and date it finds; the visible text
    of the whole page (:func:`visible_text`) when trafilatura finds no article in it (a short page, a
    fragment) or cannot parse it. Metadata: what the page's meta tags state (og:title, og:site_name,
    article:published_time, ...), else what trafilatura finds (its title is the headline, often the
    <h1>), else the <title> or first <h1>."""
    text, explicit, guessed = _read(html)
    main = main_text(html)
    if main is None:
        return text, {**guessed, **explicit}
    body, found = main
    return body, {**guessed, **found, **explicit}  # what the page states wins; trafilatura's guess over ours


def main_text(html: str) -> tuple[str, dict[str, str]] | None:
    """The main text of a page and the title, source and date trafilatura finds, by trafilatura alone
    (:func:`html_to_text` falls back on :func:`visible_text` and lets the meta tags win); None when it finds
    no article or is not installed."""
    try:
        import trafilatura
    except ImportError:  # pragma: no cover - a dependency; the whole page is read without it
        return None
    try:
        doc = trafilatura.bare_extraction(html, include_comments=False, include_tables=True, with_metadata=True,
                                          favor_precision=True)
    except Exception:  # noqa: BLE001 - lxml and trafilatura raise many kinds on hostile pages; the fallback reads it
        return None
    if doc is None:
        return None
    d = doc.as_dict() if hasattr(doc, "as_dict") else dict(doc)
    body = _tidy(d.get("text") or "")
    if not any(ch.isalnum() for ch in body):
        return None
    found = {k: " ".join(str(d[src]).split()) for k, src in (("title", "title"), ("source", "sitename"), ("date", "date"))
             if d.get(src) and str(d[src]).strip()}
    return body, found


def _tidy(raw: str) -> str:
    """One block per line: spaces inside a line collapsed, empty lines dropped."""
    return "\n".join(line for line in (" ".join(x.split()) for x in raw.split("\n")) if line)


def visible_text(html: str) -> tuple[str, dict[str, str]]:
    """Visible text of an HTML page (no scripts or styles), one block per line, and its metadata
    (title from og:title, <title> or the first <h1>; source and date from common meta tags)."""
    text, explicit, fallback = _read(html)
    return text, {**fallback, **explicit}


def _read(html: str) -> tuple[str, dict[str, str], dict[str, str]]:
    """(visible text, metadata the page states in meta tags, the title guessed from <title>/<h1>)."""
    p = _HTMLText()
    p.feed(html)
    p.close()
    text = _tidy("".join(p.parts))
    explicit: dict[str, str] = {}
    if p.meta.get("og:title", "").strip():
        explicit["title"] = " ".join(p.meta["og:title"].split())
    for key in ("og:site_name", "author", "article:author"):
        if p.meta.get(key):
            explicit["source"] = p.meta[key]
            break
    for key in ("article:published_time", "date", "pubdate", "dc.date", "og:published_time"):
        if p.meta.get(key):
            explicit["date"] = p.meta[key]
            break
    guessed = " ".join((p.title or p.h1).split())
    return text, explicit, {"title": guessed} if guessed else {}


_MD_RULES = [
    (re.compile(r"^```.*$|^~~~.*$", re.M), ""),
    (re.compile(r"!\[([^\]]*)\]\([^)]*\)"), r"\1"),
    (re.compile(r"\[([^\]]+)\]\([^)]*\)"), r"\1"),
    (re.compile(r"^\s{0,3}#{1,6}\s+", re.M), ""),
    (re.compile(r"^\s{0,3}>\s?", re.M), ""),
    (re.compile(r"^\s*[-*+]\s+", re.M), ""),
    (re.compile(r"(\*\*|__)(.+?)\1"), r"\2"),
    (re.compile(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?!\w)"), r"\1"),
    (re.compile(r"`([^`]+)`"), r"\1"),
    (re.compile(r"^\s*([-*_]\s*){3,}$", re.M), ""),
    (re.compile(r"<[^>\n]+>"), ""),
]


def markdown_to_text(md: str) -> tuple[str, dict[str, str]]:
    """Plain text of a Markdown article (marks removed, one block per line); title from the first
    '# ' heading or a front-matter 'title:'."""
    meta: dict[str, str] = {}
    fm = re.match(r"\A---\s*\n(.*?)\n---\s*\n", md, re.S)
    if fm:
        for line in fm.group(1).splitlines():
            k, _, v = line.partition(":")
            if k.strip().lower() in ("title", "source", "date", "lang") and v.strip():
                meta[k.strip().lower()] = v.strip().strip("\"'")
        md = md[fm.end():]
    h1 = re.search(r"^\s{0,3}#\s+(.+?)\s*#*\s*$", md, re.M)
    if h1 and "title" not in meta:
        meta["title"] = h1.group(1).strip()
    text = md
    for pattern, repl in _MD_RULES:
        text = pattern.sub(repl, text)
    lines = [line.strip() for line in text.splitlines()]
    return "\n".join(line for line in lines if line), meta
