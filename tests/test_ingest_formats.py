"""Reading every format and encoding into Articles (no index needed)."""

import json
from pathlib import Path

import pytest

from assistant.errors import (
    DecodingError,
    EmptyArticleError,
    FileTooLargeError,
    IngestError,
    MalformedInputError,
    UnsupportedFormatError,
)
from assistant.ingest.html import html_to_text, markdown_to_text, visible_text
from assistant.ingest.reading import decode_bytes, iter_files, read_path
from assistant.types import Article

AR = "قال مسؤول إيراني إن المحادثات مستمرة. وأضاف أن طالبان لن تقبل بأقل من ذلك."


def read(path: Path, file_id: str = "x", max_bytes: int = 10_000_000) -> list:
    return list(read_path(path, file_id, max_bytes=max_bytes))


@pytest.mark.parametrize(
    "encoding, prefix",
    [("utf-8", b""), ("utf-8", b"\xef\xbb\xbf"), ("utf-16", b""), ("utf-16-le", b"\xff\xfe"),
     ("utf-16-be", b"\xfe\xff"), ("cp1256", b""), ("utf-16-le", b"")],
)
def test_encodings_are_detected(tmp_path: Path, encoding: str, prefix: bytes) -> None:
    f = tmp_path / "a.txt"
    f.write_bytes(prefix + AR.encode(encoding))
    [art] = read(f)
    assert isinstance(art, Article)
    assert art.text == AR


def test_windows_1256_is_not_mistaken_for_latin(tmp_path: Path) -> None:
    raw = AR.encode("cp1256")
    assert decode_bytes(raw, "f") == AR


def test_invalid_utf8_that_is_not_arabic_is_refused_with_the_file_name(tmp_path: Path) -> None:
    f = tmp_path / "bad.txt"
    f.write_bytes(b"caf\xe9 au lait \xff\xfe\xfa broken")
    [err] = read(f)
    assert isinstance(err, DecodingError)
    assert "bad.txt" in str(err) and "UTF-8" in str(err)


@pytest.mark.parametrize(
    "magic, what",
    [(b"%PDF-1.7\n...", "PDF"), (b"\x89PNG\r\n\x1a\n\x00\x00", "PNG"), (b"PK\x03\x04\x14\x00", "zip")],
)
def test_binary_files_with_text_extension_are_refused(tmp_path: Path, magic: bytes, what: str) -> None:
    f = tmp_path / "fake.txt"
    f.write_bytes(magic + bytes(range(256)))
    [err] = read(f)
    assert isinstance(err, UnsupportedFormatError)
    assert what in str(err) and "fake.txt" in str(err)


def test_empty_and_whitespace_files(tmp_path: Path) -> None:
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "blank.md").write_text("   \n\t\n", encoding="utf-8")
    for name in ("empty.txt", "blank.md"):
        [err] = read(tmp_path / name)
        assert isinstance(err, EmptyArticleError)
        assert name in str(err)


def test_size_limit(tmp_path: Path) -> None:
    f = tmp_path / "big.txt"
    f.write_text(AR * 100, encoding="utf-8")
    [err] = read(f, max_bytes=1000)
    assert isinstance(err, FileTooLargeError)
    assert "max_file_mb" in str(err)


def test_unknown_extension(tmp_path: Path) -> None:
    f = tmp_path / "a.pptx"  # .docx and .pdf are read now (tests/test_documents.py)
    f.write_text("x", encoding="utf-8")
    [err] = read(f)
    assert isinstance(err, UnsupportedFormatError) and ".pdf or .docx" in str(err)


def test_html_text_title_and_no_scripts(tmp_path: Path) -> None:
    html = """<!doctype html><html><head><title>محادثات سرية</title>
    <meta property="og:site_name" content="رويترز"><meta property="article:published_time" content="2019-07-01">
    <style>p { color: red }</style><script>alert("x")</script></head>
    <body><h1>عنوان آخر</h1><p>قال مسؤول &amp; أضاف&nbsp;آخر.</p><script>document.write('bad')</script>
    <p>السطر <b>الثاني</b>.</p><noscript>no</noscript></body></html>"""
    f = tmp_path / "page.html"
    f.write_text(html, encoding="utf-8")
    [art] = read(f, "page")
    assert art.title == "عنوان آخر"  # trafilatura takes the headline (<h1>) over <title>; og:title would win
    assert art.source == "رويترز" and art.date == "2019-07-01"
    assert "alert" not in art.text and "color" not in art.text and "bad" not in art.text and "no" != art.text[-2:]
    assert "قال مسؤول & أضاف\xa0آخر." in art.text or "قال مسؤول & أضاف آخر." in art.text
    assert "السطر الثاني." in art.text


def test_html_title_falls_back_to_h1() -> None:
    text, meta = html_to_text("<body><h1>Talks</h1><p>Body.</p></body>")
    assert meta["title"] == "Talks" and text == "Body."  # the headline is the title, not repeated in the body
    text, meta = visible_text("<body><h1>Talks</h1><p>Body.</p></body>")  # the whole page's visible text
    assert meta["title"] == "Talks" and text == "Talks\nBody."


def test_og_title_wins_and_a_page_without_an_article_falls_back_to_its_visible_text() -> None:
    page = ('<html><head><meta property="og:title" content="Stated title"><title>T | Site</title></head>'
            "<body><h1>Headline</h1><p>One paragraph about the talks in Doha that resumed on Monday.</p></body></html>")
    assert html_to_text(page)[1]["title"] == "Stated title"
    text, _ = html_to_text("<p>ok</p>")  # too little for trafilatura: the visible text
    assert text == "ok"


def test_markdown_marks_are_removed_and_title_found() -> None:
    text, meta = markdown_to_text("# عنوان الخبر\n\nقال **المسؤول** إن [الاتفاق](http://x) *قائم*.\n\n- بند أول\n")
    assert meta["title"] == "عنوان الخبر"
    assert text == "عنوان الخبر\nقال المسؤول إن الاتفاق قائم.\nبند أول"


def test_json_list_object_and_wrapper(tmp_path: Path) -> None:
    recs = [{"id": "a1", "title": "T", "text": AR, "source": "S", "date": "2019", "lang": "ar"},
            {"text": "English text here."}]
    (tmp_path / "list.json").write_text(json.dumps(recs, ensure_ascii=False), encoding="utf-8")
    (tmp_path / "one.json").write_text(json.dumps(recs[0], ensure_ascii=False), encoding="utf-8")
    (tmp_path / "wrap.json").write_text(json.dumps({"articles": recs}, ensure_ascii=False), encoding="utf-8")
    arts = read(tmp_path / "list.json", "list")
    assert [a.id for a in arts] == ["a1", "list#2"]
    assert arts[0].title == "T" and arts[0].source == "S" and arts[0].date == "2019" and arts[0].lang == "ar"
    assert [a.id for a in read(tmp_path / "one.json", "one")] == ["a1"]
    assert [a.id for a in read(tmp_path / "wrap.json", "wrap")] == ["a1", "wrap#2"]


def test_malformed_json_names_file_and_position(tmp_path: Path) -> None:
    f = tmp_path / "broken.json"
    f.write_text('[{"id": "a", "text": "x"', encoding="utf-8")
    [err] = read(f)
    assert isinstance(err, MalformedInputError)
    assert "broken.json" in str(err) and "line 1" in str(err)


def test_jsonl_bad_line_is_reported_with_its_number_and_the_rest_read(tmp_path: Path) -> None:
    lines = [json.dumps({"id": "g1", "text": AR}, ensure_ascii=False), "{not json", "",
             json.dumps({"id": "g2", "text": "Second article."}), json.dumps({"id": "g3"})]
    f = tmp_path / "feed.jsonl"
    f.write_text("\n".join(lines), encoding="utf-8")
    out = read(f, "feed")
    good = [x for x in out if isinstance(x, Article)]
    bad = [x for x in out if isinstance(x, IngestError)]
    assert [a.id for a in good] == ["g1", "g2"]
    assert len(bad) == 2
    assert "feed.jsonl:2" in str(bad[0]) and "line 2" in str(bad[0])
    assert "feed.jsonl:5" in str(bad[1]) and "'text'" in str(bad[1])


def test_folder_ids_are_relative_paths_without_extension(tmp_path: Path) -> None:
    (tmp_path / "2019").mkdir()
    (tmp_path / "2019" / "talks.txt").write_text(AR, encoding="utf-8")
    (tmp_path / "a.md").write_text("x", encoding="utf-8")
    (tmp_path / "skip.pdf").write_text("x", encoding="utf-8")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "h.txt").write_text("x", encoding="utf-8")
    found = [(p.name, i) for p, i in iter_files(tmp_path, (".txt", ".md"))]
    assert found == [("talks.txt", "2019/talks"), ("a.md", "a")]
    assert [i for _, i in iter_files(tmp_path / "a.md", (".md",))] == ["a"]
