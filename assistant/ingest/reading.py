"""Read files into Articles: txt, md, html, json, jsonl, pdf, docx; folders or single files.

Encodings are detected from bytes (BOM, strict UTF-8, UTF-16 without BOM, Windows-1256 for Arabic),
never guessed silently: text that fits none of them is refused with a DecodingError naming the file.
A UTF-8 file damaged by a few invalid bytes (a cut download, a bad copy) is refused too, with the byte
and line, rather than read as Windows-1256 gibberish.

Every article read is passed through :func:`assistant.ingest.cleaning.clean_article` (the one place text
is changed before it is stored; it changes only converted text); HTML and Markdown become plain text in
:mod:`assistant.ingest.html`, PDF and DOCX in :mod:`assistant.ingest.documents`, web pages are fetched by
:mod:`assistant.ingest.fetching`. A .txt, .json or .jsonl file's text is stored as decoded (an encoding BOM
at the start of the file is the encoding's, not the text's).
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from assistant.errors import (
    DecodingError,
    FileTooLargeError,
    IngestError,
    MalformedInputError,
    UnsupportedFormatError,
)
from assistant.ingest.cleaning import clean_article
from assistant.ingest.documents import docx_to_text, pdf_to_text
from assistant.ingest.fetching import fetch_page, url_article_id
from assistant.ingest.html import html_to_text, markdown_to_text
from assistant.text.characters import STRAY_CONTROLS
from assistant.text.language import is_arabic
from assistant.types import Article

__all__ = ["read_path", "read_url", "iter_files", "decode_bytes"]

_MAGIC = {
    b"%PDF": "a PDF document",
    b"\x89PNG": "a PNG image",
    b"PK\x03\x04": "a zip archive (or docx/xlsx)",
    b"GIF8": "a GIF image",
    b"\xff\xd8\xff": "a JPEG image",
    b"\x1f\x8b": "a gzip archive",
    b"\x7fELF": "a program",
    b"{\\rtf": "an RTF document",
}


def decode_bytes(data: bytes, source: str) -> str:
    """Decode file bytes to text, detecting the encoding. Raises DecodingError/UnsupportedFormatError."""
    for magic, what in _MAGIC.items():
        if data.startswith(magic):
            raise UnsupportedFormatError(source, f"this is {what}, not text; convert it to .txt or .html first")
    for bom, enc in (
        (codecs.BOM_UTF32_LE, "utf-32"),
        (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if data.startswith(bom):
            try:
                return data.decode(enc)
            except UnicodeDecodeError as e:
                raise DecodingError(source, f"starts with a {enc} byte-order mark but is not valid {enc} ({e.reason} "
                                    f"at byte {e.start}); re-save it as UTF-8") from e
    if b"\x00" in data[:4096]:
        for enc in ("utf-16-le", "utf-16-be"):
            try:
                text = data[: len(data) - len(data) % 2].decode(enc)
            except UnicodeDecodeError:
                continue
            if _plausible_text(text):
                return text
        raise UnsupportedFormatError(source, "holds binary data (NUL bytes), not text; give a text file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as utf8_error:
        if _mostly_utf8(data):
            line = data.count(b"\n", 0, utf8_error.start) + 1
            raise DecodingError(
                source,
                f"is UTF-8 with invalid bytes (the first at byte {utf8_error.start}, line {line}: "
                f"{utf8_error.reason}); the file is damaged or cut off: re-save or fetch it again as UTF-8",
            ) from utf8_error
        try:
            text = data.decode("cp1256")
        except UnicodeDecodeError:
            text = ""
        if text and is_arabic(text):
            return text
        raise DecodingError(
            source,
            f"is not valid UTF-8 (byte {utf8_error.start}) and does not read as Windows-1256 Arabic either; "
            "re-save it as UTF-8",
        ) from utf8_error


def _mostly_utf8(data: bytes) -> bool:
    """True when the bytes hold more well-formed UTF-8 multi-byte characters than invalid sequences:
    UTF-8 with a few damaged bytes. (Windows-1256 Arabic read as UTF-8 is almost all invalid.)"""
    text = data.decode("utf-8", errors="replace")
    bad = text.count("\ufffd") - data.count("\ufffd".encode())
    good = sum(1 for ch in text if ord(ch) > 0x7F) - text.count("\ufffd")
    return good > max(bad, 0)


_PLAIN = re.compile(r"[\w\s\u0600-\u06ff.,;:!?'\"()\[\]«»“”‘’/\\@#%&*+=<>{}|~^$-]")


def _plausible_text(text: str) -> bool:
    """True when nearly every character is a letter, digit, space or common punctuation."""
    sample = text[:4000]
    if not sample:
        return False
    return len(_PLAIN.findall(sample)) / len(sample) > 0.95 and not STRAY_CONTROLS.search(sample)


_ARTICLE_KEYS = {"id", "title", "text", "source", "date", "lang", "content", "body", "url", "path"}


def _article_from_record(rec: Any, default_id: str, where: str, path: Path) -> Article:
    if not isinstance(rec, dict):
        raise MalformedInputError(where, f"expected an object with a 'text' field, found {type(rec).__name__}")
    text = rec.get("text", rec.get("content", rec.get("body")))
    if not isinstance(text, str):
        raise MalformedInputError(where, "has no 'text' string field; each article needs 'text'")
    rid = rec.get("id")
    aid = str(rid).strip() if rid is not None and str(rid).strip() else default_id

    def opt(key: str) -> str | None:
        v = rec.get(key)
        return None if v is None else str(v)

    return Article(
        id=aid,
        text=text,
        title=opt("title"),
        source=opt("source") or opt("url"),
        date=opt("date"),
        lang=opt("lang"),
        path=str(path),
    )


# Python's JSON decoder recurses once per level: a file nested thousands deep exhausts the stack
_TOO_DEEP = ("is nested too deeply to read (JSON arrays or objects inside each other thousands of levels down); "
             "flatten it: an article is one object with a 'text' field")


def _read_json(text: str, path: Path, file_id: str) -> Iterator[Article | IngestError]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        yield MalformedInputError(str(path), f"is not valid JSON (line {e.lineno}, column {e.colno}: {e.msg}); "
                                  "fix it or use .jsonl with one article per line")
        return
    except RecursionError:
        yield MalformedInputError(str(path), _TOO_DEEP)
        return
    if isinstance(data, dict) and isinstance(data.get("articles"), list):
        data = data["articles"]
    records = data if isinstance(data, list) else [data]
    for n, rec in enumerate(records, 1):
        where = f"{path} (article {n})"
        default = file_id if len(records) == 1 else f"{file_id}#{n}"
        try:
            yield clean_article(_article_from_record(rec, default, where, path), where)
        except IngestError as e:
            yield e


def _read_jsonl(text: str, path: Path, file_id: str) -> Iterator[Article | IngestError]:
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        where = f"{path}:{n}"
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as e:
            yield MalformedInputError(where, f"line {n} is not valid JSON ({e.msg}); fix or remove that line")
            continue
        except RecursionError:
            yield MalformedInputError(where, f"line {n}: {_TOO_DEEP}")
            continue
        try:
            yield clean_article(_article_from_record(rec, f"{file_id}#{n}", where, path), where)
        except IngestError as e:
            yield e


def read_path(path: Path, file_id: str, *, max_bytes: int) -> Iterator[Article | IngestError]:
    """Articles in one file, or the IngestError for each part that could not be read.

    A JSONL file yields its good lines and one error per bad line; other formats yield one article or
    one error.
    """
    source = str(path)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise FileTooLargeError(
                source,
                f"is {size / 1e6:.1f} MB, over the {max_bytes / 1e6:.1f} MB limit; split it or raise "
                "ingest.max_file_mb (ASSISTANT_INGEST__MAX_FILE_MB)",
            )
        ext = path.suffix.lower()
        if ext not in _READERS and ext not in _DOCUMENTS:
            raise UnsupportedFormatError(source, f"'{ext or 'no extension'}' is not a format we read; "
                                         "give .txt, .md, .html, .json, .jsonl, .pdf or .docx")
        try:
            data = path.read_bytes()
        except OSError as e:
            raise IngestError(source, f"cannot be read ({e.strerror}); check the path and permissions") from e
        if ext in _DOCUMENTS:
            body, meta = _DOCUMENTS[ext](data, source, max_bytes)
            yield _article(file_id, body, meta, str(path), source)
            return
        text = decode_bytes(data, source)
    except IngestError as e:
        yield e
        return
    yield from _READERS[ext](text, path, file_id)


def _article(article_id: str, body: str, meta: dict[str, str], path: str, source: str, *,
             converted: bool = True) -> Article:
    """The cleaned Article of a reader's (text, metadata): title, source, date and lang from ``meta``."""
    return clean_article(Article(id=article_id, text=body, title=meta.get("title"), source=meta.get("source"),
                                 date=meta.get("date"), lang=meta.get("lang"), path=path), source, converted=converted)


def read_url(url: str, *, max_bytes: int, timeout: float, allow_private: bool) -> Iterator[Article | IngestError]:
    """The article of the web page at ``url`` (assistant/ingest/fetching.py: the fetch and its rules), read
    as an .html file is; or the IngestError saying why not."""
    try:
        page = fetch_page(url, timeout=timeout, max_bytes=max_bytes, allow_private=allow_private)
        try:
            text = page.body.decode(page.charset) if page.charset else decode_bytes(page.body, url)
        except (LookupError, UnicodeDecodeError):  # a wrong or unknown charset in the header: detect it
            text = decode_bytes(page.body, url)
        body, meta = (text, {}) if page.content_type == "text/plain" else html_to_text(text)
        yield _article(url_article_id(url), body, meta, page.url, url)
    except IngestError as e:
        yield e


def _single(convert: Any, *, converted: bool = True) -> Any:
    def reader(text: str, path: Path, file_id: str) -> Iterator[Article | IngestError]:
        body, meta = convert(text)
        try:
            yield _article(file_id, body, meta, str(path), str(path), converted=converted)
        except IngestError as e:
            yield e

    return reader


# binary documents: (bytes, source, the size limit) -> (text, meta); a .docx may expand to 10x the limit
_DOCUMENTS = {
    ".pdf": lambda data, source, limit: pdf_to_text(data, source),
    ".docx": lambda data, source, limit: docx_to_text(data, source, max_expanded=10 * limit),
}

_READERS = {
    ".txt": _single(lambda t: (t, {}), converted=False),  # supplied text: stored as decoded
    ".text": _single(lambda t: (t, {}), converted=False),
    ".md": _single(markdown_to_text),
    ".markdown": _single(markdown_to_text),
    ".html": _single(html_to_text),
    ".htm": _single(html_to_text),
    ".json": _read_json,
    ".jsonl": _read_jsonl,
}


def iter_files(target: Path, extensions: tuple[str, ...]) -> Iterator[tuple[Path, str]]:
    """(file, article id) for a file or every readable file under a folder, in a stable order.

    A file's id is its path relative to the folder given, without extension ("2019/iran-talks");
    a single file's id is its name without extension.
    """
    if target.is_dir():
        for p in sorted(target.rglob("*")):
            if p.is_file() and p.suffix.lower() in extensions and not any(
                part.startswith(".") for part in p.relative_to(target).parts
            ):
                yield p, p.relative_to(target).with_suffix("").as_posix()
    else:
        yield target, target.stem
