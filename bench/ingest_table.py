"""The ingest table (issue 14): every format we read, an Arabic and an English sample made here, and what
ingest found in each: title, source, date, language, the first words of the text, sentences.

    python -m bench.ingest_table [--out FILE]

The web page is served by a local HTTP server and added by its URL (``ingest.allow_private_urls`` on for
it). PDFs are made with fpdf2 and DejaVu Sans, the Arabic one in drawing order with shaped letters (what
generators without bidi support write); DOCX files with python-docx.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from assistant.ingest.reading import read_path, read_url
from assistant.text.sentences import split_sentences
from bench.common import arguments, write_result
from bench.html_readers import ARTICLES, page

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


def samples(folder: Path, lang: str) -> dict[str, Path]:
    _, title, site, date, sents = ARTICLES[f"{lang}-1"]
    body = " ".join(sents)
    out = {}
    (folder / f"{lang}.txt").write_text(f"{title}\n\n{body}\n", encoding="utf-8")
    out["txt"] = folder / f"{lang}.txt"
    (folder / f"{lang}.md").write_text(f"---\ntitle: {title}\nsource: {site}\ndate: {date}\n---\n# {title}\n\n"
                                       f"**{sents[0]}** {' '.join(sents[1:])}\n", encoding="utf-8")
    out["md"] = folder / f"{lang}.md"
    (folder / f"{lang}.html").write_text(page(lang, title, site, date, sents), encoding="utf-8")
    out["html"] = folder / f"{lang}.html"
    record = {"id": f"{lang}-json", "text": body, "title": title, "source": site,
              "date": "12 يونيو 2019" if lang == "ar" else "June 12, 2019"}
    (folder / f"{lang}.json").write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
    out["json"] = folder / f"{lang}.json"
    (folder / f"{lang}.jsonl").write_text(json.dumps({**record, "id": f"{lang}-jsonl"}, ensure_ascii=False) + "\n",
                                          encoding="utf-8")
    out["jsonl"] = folder / f"{lang}.jsonl"
    out["pdf"] = folder / f"{lang}.pdf"
    out["pdf"].write_bytes(_pdf(lang, title, site, sents))
    out["docx"] = folder / f"{lang}.docx"
    out["docx"].write_bytes(_docx(title, site, sents))
    return out


def _pdf(lang: str, title: str, site: str, sents: list[str]) -> bytes:
    import arabic_reshaper
    from bidi import get_display
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.add_font("dejavu", fname=str(FONT))
    pdf.set_font("dejavu", size=12)
    pdf.set_title(title)
    pdf.set_author(site)
    pdf.set_creation_date(dt.datetime(2019, 6, 12, tzinfo=dt.UTC))
    for s in sents:
        pdf.cell(0, 10, get_display(arabic_reshaper.reshape(s)) if lang == "ar" else s, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def _docx(title: str, site: str, sents: list[str]) -> bytes:
    import docx

    d = docx.Document()
    for s in sents:
        d.add_paragraph(s)
    d.core_properties.title, d.core_properties.author = title, site
    d.core_properties.created = dt.datetime(2019, 6, 12, 8, 30)
    out = io.BytesIO()
    d.save(out)
    return out.getvalue()


def serve(pages: dict[str, str]) -> tuple[ThreadingHTTPServer, str]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802
            body = pages.get(self.path, "").encode()
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def main(argv: list[str] | None = None) -> int:
    args = arguments(__doc__, data=False).parse_args(argv)
    if not FONT.is_file():
        print(f"skipped: no {FONT} for the PDFs' Arabic glyphs", file=sys.stderr)
        return 2
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        pages = {}
        for lang in ("ar", "en"):
            for fmt, path in samples(Path(tmp), lang).items():
                [art] = list(read_path(path, f"{lang}-{fmt}", max_bytes=20_000_000))
                rows.append((fmt, lang, art))
            _, title, site, date, sents = ARTICLES[f"{lang}-1"]
            pages[f"/{lang}/news"] = page(lang, title, site, date, sents)
        server, base = serve(pages)
        for lang in ("ar", "en"):
            [art] = list(read_url(f"{base}/{lang}/news", max_bytes=20_000_000, timeout=10, allow_private=True))
            rows.append(("URL", lang, art))
        server.shutdown()
    print("| format | lang | title | source | date | language found | sentences | text begins |")
    print("|---|---|---|---|---|---|---:|---|")
    found = []
    for fmt, lang, art in rows:
        if not hasattr(art, "text"):
            print(f"| {fmt} | {lang} | refused: {art} |")
            found.append({"format": fmt, "lang": lang, "refused": str(art)})
            continue
        words = " ".join(art.text.split()[:6])
        n = len(split_sentences(art.text))
        print(f"| {fmt} | {lang} | {art.title or '—'} | {art.source or '—'} | {art.date or '—'} | {art.lang or 'detected'} "
              f"| {n} | {words} … |")
        found.append({"format": fmt, "lang": lang, "title": art.title, "source": art.source, "date": art.date,
                      "language": art.lang, "sentences": n})
    write_result(args.out, None, args, found)
    return 0


if __name__ == "__main__":
    sys.exit(main())
