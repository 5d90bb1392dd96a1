"""PDF and DOCX articles (assistant/ingest/documents.py): made here with fpdf2 (a DejaVu font for the Arabic
glyphs) and python-docx, read back through ingest. Fast tier: the fake embedder at the model boundary
(tests/fakes.py); the readers, Chroma, BM25 and the catalog are real."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from pathlib import Path

import pytest

from assistant import Assistant
from assistant.ingest.documents import fix_arabic_order

AR = "قال المتحدث إن المحادثات ستستأنف في الدوحة يوم الاثنين."
AR2 = "وأضاف أن الوفدين سيبحثان انسحاب القوات الأجنبية من البلاد."
EN = "Talks between the two delegations resumed in Doha on Monday."
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


def _pdf(lines: list[str], *, title: str = "محادثات الدوحة", author: str = "AFP", images_only: bool = False) -> bytes:
    fpdf = pytest.importorskip("fpdf", reason="fpdf2 makes the test PDFs: pip install -e '.[test]'")
    if not FONT.is_file():
        pytest.skip(f"no {FONT} (fonts-dejavu): the Arabic glyphs of the test PDFs")
    pdf = fpdf.FPDF()
    pdf.add_page()
    pdf.set_title(title)
    pdf.set_author(author)
    pdf.set_creation_date(dt.datetime(2019, 6, 12, tzinfo=dt.UTC))
    if images_only:
        pdf.set_fill_color(30, 30, 30)
        pdf.rect(20, 20, 100, 40, style="F")  # a drawing, no text layer: what a scan gives
    else:
        pdf.add_font("dejavu", fname=str(FONT))
        pdf.set_font("dejavu", size=14)
        for line in lines:
            pdf.cell(0, 10, line, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def _visual(line: str) -> str:
    """``line`` as a PDF generator without bidi support stores it: shaped letters in drawing order."""
    import arabic_reshaper
    from bidi import get_display

    return get_display(arabic_reshaper.reshape(line))


@pytest.mark.parametrize("kind", ["visual and shaped", "logical, unshaped"])
def test_an_arabic_pdf_is_read_in_reading_order(fake_assistant: Assistant, tmp_path: Path, kind: str) -> None:
    lines = [_visual(AR), _visual(AR2)] if kind.startswith("visual") else [AR, AR2]
    (tmp_path / "doha.pdf").write_bytes(_pdf(lines))
    rep = fake_assistant.add([tmp_path / "doha.pdf"])
    assert rep.added == ["doha"], rep.failed
    info, text = fake_assistant.article("doha")
    assert AR in text and AR2 in text, text
    assert (info.title, info.source, info.date, info.lang) == ("محادثات الدوحة", "AFP", "2019-06-12", "ar")
    ans = fake_assistant.ask("متى تستأنف المحادثات في الدوحة؟", retriever="bm25")
    assert any(c.text == AR and text[c.start : c.end] == c.text for c in ans.citations)


def test_an_english_pdf_and_an_image_only_one(fake_assistant: Assistant, tmp_path: Path) -> None:
    (tmp_path / "talks.pdf").write_bytes(_pdf([EN], title="Doha talks", author="Reuters"))
    (tmp_path / "scan.pdf").write_bytes(_pdf([], images_only=True))
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.7\n this is not a PDF body")
    rep = fake_assistant.add([tmp_path])
    assert rep.added == ["talks"]
    info, text = fake_assistant.article("talks")
    assert text == EN and (info.title, info.source, info.date, info.lang) == ("Doha talks", "Reuters", "2019-06-12", "en")
    failed = dict(rep.failed)
    assert "has no text layer (1 page(s) of images: a scan?); run OCR" in failed[str(tmp_path / "scan.pdf")]
    assert "is not a PDF we can read" in failed[str(tmp_path / "broken.pdf")]


def _docx(paragraphs: list[str], title: str, author: str) -> bytes:
    import docx

    d = docx.Document()
    for p in paragraphs:
        d.add_paragraph(p)
    table = d.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text, table.rows[0].cells[1].text = "الوفود", "اثنان"
    d.core_properties.title, d.core_properties.author = title, author
    d.core_properties.created = dt.datetime(2019, 6, 12, 8, 30)
    out = io.BytesIO()
    d.save(out)
    return out.getvalue()


def test_docx_articles_in_arabic_and_english(fake_assistant: Assistant, tmp_path: Path) -> None:
    (tmp_path / "ar.docx").write_bytes(_docx([AR, AR2], "محادثات الدوحة", "وكالة الأنباء"))
    (tmp_path / "en.docx").write_bytes(_docx([EN], "Doha talks", "Reuters"))
    rep = fake_assistant.add([tmp_path])
    assert sorted(rep.added) == ["ar", "en"], rep.failed
    info, text = fake_assistant.article("ar")
    assert text == f"{AR}\n\n{AR2}\n\nالوفود | اثنان"
    assert (info.title, info.source, info.date, info.lang) == ("محادثات الدوحة", "وكالة الأنباء", "2019-06-12", "ar")
    info, text = fake_assistant.article("en")
    assert text.startswith(EN) and (info.title, info.source, info.date) == ("Doha talks", "Reuters", "2019-06-12")


def test_a_docx_zip_bomb_is_refused_before_it_is_read(fake_assistant: Assistant, tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.docx"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        with z.open("word/document.xml", "w") as f:  # 300 MB of zeros: about 300 KB on disk
            block = b"\0" * (1 << 20)
            for _ in range(300):
                f.write(block)
    assert bomb.stat().st_size < 2_000_000
    rep = fake_assistant.add([bomb])
    [(where, why)] = rep.failed
    assert where == str(bomb) and "would expand to 315 MB" in why and "a zip bomb?" in why
    not_zip = tmp_path / "fake.docx"
    not_zip.write_bytes(b"plain text, not a zip")
    assert "is not a Word .docx file (not a zip" in dict(fake_assistant.add([not_zip]).failed)[str(not_zip)]


def test_fix_arabic_order_leaves_logical_text_alone() -> None:
    for text in (AR, EN, f"{AR}\n{EN}", "الدوحة"):
        assert fix_arabic_order(text) == (text, [])
    fixed, done = fix_arabic_order(AR[::-1])
    assert fixed == AR and done == ["1 backward line(s) turned"]
    fixed, done = fix_arabic_order("." + AR[:-1])  # what pypdf gives of a visual-order line: the end first
    assert fixed == AR and done == ["1 sentence end(s) moved back"]
