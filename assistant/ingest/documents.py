"""PDF and Word documents as plain text with their title, source and date.

- **PDF** (``pypdf``): the text layer of every page, pages separated by a blank line; the title, the
  author (as the article's source) and the creation date of the document's metadata. Arabic in PDFs is often stored the way it is drawn:
  letters in their presentation forms (U+FB50–U+FDFF, U+FE70–U+FEFF) and words in visual order; pypdf then
  gives words in reading order but shaped, and an unshaped left-to-right PDF comes out reversed. Both are
  fixed (:func:`fix_arabic_order`): presentation forms become letters (NFKC), a line whose words read
  backwards (the article ال at word ends, not starts) is turned around, and a sentence end that the bidi
  reordering put at the start of a line goes back to its end. A PDF without a text layer (scanned, images
  only) is refused with what to do; so is one with a password.
- **DOCX** (``python-docx``): paragraph texts (tables' cells too), the core properties' title, author
  (as the source) and creation date. A .docx is a zip: one that would expand past ``max_expanded`` bytes (a zip bomb) is
  refused before anything is read.

Both return ``(text, meta)`` as :mod:`assistant.ingest.html` does; ingest then cleans the text (it is
converted text) and offsets index it.
"""

from __future__ import annotations

import io
import re
import unicodedata
import zipfile
from typing import Any

from assistant.errors import EmptyArticleError, MalformedInputError, UnsupportedFormatError

__all__ = ["pdf_to_text", "docx_to_text", "fix_arabic_order"]

_PRESENTATION = re.compile("[\ufb50-\ufdff\ufe70-\ufeff]")
_ARABIC_LETTER = re.compile("[\u0621-\u064a]")
_WORD = re.compile("[\u0621-\u064a\u0671-\u06d3]+")
_LEADING_END = re.compile(r"^([.!?؟:،]+)\s*(.+)$")


def _rtl_line(line: str) -> bool:
    letters = sum(ch.isalpha() for ch in line)
    return letters > 0 and len(_ARABIC_LETTER.findall(line)) / letters > 0.5


def fix_arabic_order(text: str) -> tuple[str, list[str]]:
    """``text`` with Arabic presentation forms made letters and backwards Arabic lines turned around (see
    the module doc); also what was done (for the logs and tests)."""
    done: list[str] = []
    if _PRESENTATION.search(text):
        text = _PRESENTATION.sub(lambda m: unicodedata.normalize("NFKC", m.group()), text)
        done.append("presentation forms")
    lines = []
    turned = moved = 0
    for line in text.split("\n"):
        if _rtl_line(line):
            words = _WORD.findall(line)
            forward = sum(w.startswith("ال") and len(w) > 3 for w in words)
            backward = sum(w.endswith("لا") and len(w) > 3 for w in words)
            if backward > forward and backward >= 2:
                line = line[::-1]
                turned += 1
            m = _LEADING_END.match(line.strip())
            if m:
                line = f"{m.group(2)}{m.group(1)}"
                moved += 1
        lines.append(line)
    if turned:
        done.append(f"{turned} backward line(s) turned")
    if moved:
        done.append(f"{moved} sentence end(s) moved back")
    return "\n".join(lines), done


def _iso(value: Any) -> str | None:
    return value.date().isoformat() if hasattr(value, "date") and callable(value.date) else None


def pdf_to_text(data: bytes, source: str) -> tuple[str, dict[str, str]]:
    """The text and metadata of a PDF file's bytes (see the module doc)."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise UnsupportedFormatError(source, "is a password-protected PDF; save an unprotected copy and add that")
        pages = [(p.extract_text() or "").strip() for p in reader.pages]
        info = reader.metadata
    except (PdfReadError, ValueError, KeyError, TypeError, RecursionError) as e:
        raise MalformedInputError(source, f"is not a PDF we can read ({type(e).__name__}: {e}); export it again "
                                  "or give its text as .txt") from e
    text = "\n\n".join(p for p in pages if p)
    if not any(ch.isalnum() for ch in text):
        raise EmptyArticleError(source, f"has no text layer ({len(pages)} page(s) of images: a scan?); run OCR on "
                                "it first (e.g. ocrmypdf) and add the result")
    text, _ = fix_arabic_order(text)
    meta: dict[str, str] = {}
    if info is not None:
        title, author = getattr(info, "title", None), getattr(info, "author", None)
        if title and str(title).strip():
            meta["title"] = fix_arabic_order(str(title).strip())[0]
        if author and str(author).strip():
            meta["source"] = str(author).strip()
        try:
            date = _iso(info.creation_date)
        except (ValueError, TypeError):  # a malformed date string in the metadata
            date = None
        if date:
            meta["date"] = date
    return text, meta


def docx_to_text(data: bytes, source: str, *, max_expanded: int) -> tuple[str, dict[str, str]]:
    """The text and metadata of a .docx file's bytes (see the module doc)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            expanded = sum(i.file_size for i in z.infolist())
    except zipfile.BadZipFile as e:
        raise MalformedInputError(source, f"is not a Word .docx file (not a zip: {e}); save it again as .docx") from e
    if expanded > max_expanded:
        raise MalformedInputError(source, f"would expand to {expanded / 1e6:.0f} MB from {len(data) / 1e6:.1f} MB "
                                  f"(over {max_expanded / 1e6:.0f} MB: a zip bomb?); nothing was read")
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        doc = docx.Document(io.BytesIO(data))
    except (PackageNotFoundError, KeyError, ValueError, zipfile.BadZipFile) as e:
        raise MalformedInputError(source, f"is not a Word .docx file we can read ({type(e).__name__}: {e}); save "
                                  "it again as .docx") from e
    parts = [p.text for p in doc.paragraphs]
    for table in doc.tables:
        for row in table.rows:
            parts.append(" | ".join(cell.text for cell in row.cells))
    text = "\n\n".join(p.strip() for p in parts if p.strip())
    props = doc.core_properties
    meta: dict[str, str] = {}
    if props.title and props.title.strip():
        meta["title"] = props.title.strip()
    if props.author and props.author.strip():
        meta["source"] = props.author.strip()
    if date := _iso(props.created):
        meta["date"] = date
    return text, meta
