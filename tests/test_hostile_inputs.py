"""Hostile input, round two (issue 14): each case leaves what is already indexed intact, keeps the process
alive, and names the file and the fix. Fast tier: the fake embedder at the model boundary (tests/fakes.py),
a real Chroma, BM25 and catalog; the inputs are made here."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant import Article, Assistant
from assistant.errors import FileTooLargeError, StorageFullError

KEPT = Article(id="kept", text="The harbour master counted 4711 ships near the old lighthouse.", source="AFP")


@pytest.fixture
def indexed(fake_assistant: Assistant) -> Assistant:
    assert fake_assistant.add(KEPT).added == ["kept"]
    return fake_assistant


def _intact(a: Assistant) -> None:
    """What was indexed before the hostile input is all still there and answerable."""
    assert [i.id for i in a.articles() if i.id == "kept"] == ["kept"]
    ans = a.ask("How many ships did the harbour master count?", retriever="bm25")
    assert any(c.article_id == "kept" and "4711 ships" in c.text for c in ans.citations)


def test_a_200_mb_file_is_refused_by_size_before_it_is_read(indexed: Assistant, tmp_path: Path) -> None:
    big = tmp_path / "dump.txt"
    with open(big, "wb") as f:  # sparse: 200 MB on paper, nothing written
        f.truncate(200 * 1024 * 1024)
    rep = indexed.add([big])
    [(where, why)] = rep.failed
    assert where == str(big) and "209.7 MB, over the 20.0 MB limit" in why and "ingest.max_file_mb" in why
    _intact(indexed)
    with pytest.raises(FileTooLargeError):
        from assistant.ingest.reading import read_path

        raise next(iter(read_path(big, "dump", max_bytes=20_000_000)))  # type: ignore[misc]


def test_json_nested_100000_deep_is_refused_with_the_file(indexed: Assistant, tmp_path: Path) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    also = tmp_path / "deep.jsonl"
    also.write_text('{"id": "ok", "text": "Talks resumed in Doha."}\n' + "{\"a\":" * 100_000 + "1" + "}" * 100_000 + "\n",
                    encoding="utf-8")
    rep = indexed.add([deep, also])
    failed = dict(rep.failed)
    assert "nested too deeply" in failed[str(deep)] and "flatten" in failed[str(deep)]
    assert any("deep.jsonl:2" in w and "nested too deeply" in why for w, why in rep.failed)
    assert "ok" in rep.added  # the good line of the JSONL file is read
    _intact(indexed)


@pytest.mark.slow  # ~10-25 s: 5,000 sentences through the whole ingest
def test_one_5_mb_line_without_a_sentence_end_is_cut_and_indexed(indexed: Assistant) -> None:
    words = "عشرة آلاف جندي في المدينة القديمة قرب النهر الكبير "
    text = (words * (5_000_000 // len(words) + 1))[:5_000_000]
    rep = indexed.add(Article(id="one-line", text=text))
    assert rep.added == ["one-line"]
    sents = indexed.index.catalog.sentences_of("one-line")
    assert len(sents) >= 5_000 and all(len(s.text) <= indexed.settings.chunking.max_sentence_chars for s in sents)
    assert all(text[s.start : s.end] == s.text for s in sents[:50] + sents[-50:])
    _intact(indexed)


def test_html_with_100000_nested_tags_is_read(indexed: Assistant, tmp_path: Path) -> None:
    page = tmp_path / "nested.html"
    page.write_text("<html><body>" + "<div>" * 100_000 + "<p>Talks resumed in Doha on Monday.</p>"
                    + "</div>" * 100_000 + "</body></html>", encoding="utf-8")
    rep = indexed.add([page])
    assert rep.added == ["nested"] and not rep.failed
    assert "Talks resumed in Doha on Monday." in indexed.article("nested")[1]
    _intact(indexed)


def test_a_20000_character_question_and_one_of_control_characters(indexed: Assistant) -> None:
    long = ("How many ships did the harbour master count? " * 500)[:20_000]
    ans = indexed.ask(long, retriever="bm25")
    assert any("4711 ships" in c.text for c in ans.citations)
    hybrid = indexed.ask(long)  # the dense side embeds it (the model cuts it at its token limit)
    assert hybrid.question == long
    for q in ("\x00\x01\x02\x1b[31m\x7f", "\u202e\u200b\ufeff", "\x00" * 20_000):
        ans = indexed.ask(q)
        assert ans.abstained and ans.citations == []
        assert "\x1b" not in ans.text and "\x00" not in ans.text
    _intact(indexed)


@pytest.fixture
def small_disk(tmp_path: Path):  # noqa: ANN201
    """A 64 MB ext4 file system on a loop device (needs root: mkfs, mount); skipped where it cannot be made.
    Not tmpfs: Chroma cannot write its segments on tmpfs at all ("Error in compaction: Failed to apply
    logs to the metadata segment" with 400 MB free)."""
    import subprocess

    image, mnt = tmp_path / "disk.img", tmp_path / "small"
    mnt.mkdir()
    with open(image, "wb") as f:
        f.truncate(64 * 1024 * 1024)
    for cmd in (["mkfs.ext4", "-q", "-F", str(image)], ["mount", "-o", "loop", str(image), str(mnt)]):
        try:
            done = subprocess.run(cmd, capture_output=True, text=True)
        except FileNotFoundError:
            pytest.skip(f"{cmd[0]} is not installed")
        if done.returncode != 0:
            pytest.skip(f"cannot make a small file system here ({cmd[0]}: {done.stderr.strip()}): needs root")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_the_disk_filling_up_during_an_ingest_loses_nothing_indexed(small_disk: Path, fake_embedder,  # noqa: ANN001
                                                                     fake_settings) -> None:  # noqa: ANN001
    a = Assistant.open(small_disk / "idx", settings=fake_settings, embedder=fake_embedder)
    assert a.add(KEPT).added == ["kept"]
    filler = small_disk / "filler"
    with open(filler, "wb") as f:  # leave the index a few MB
        free = __import__("shutil").disk_usage(small_disk).free
        f.write(b"\0" * max(0, free - 3_000_000))
    many = [Article(id=f"a{i}", text=" ".join(f"Sentence {i}-{j} about the harbour and its {j} ships." for j in range(60)))
            for i in range(200)]
    with pytest.raises(StorageFullError) as info:
        a.add(many)
    message = str(info.value)
    assert f"the disk holding the index {small_disk / 'idx'} is full" in message
    assert "were committed before it and are kept" in message and "Free some space" in message
    committed = {i.id for i in a.articles()} - {"kept"}
    filler.unlink()
    _intact(a)
    a.close()
    again = Assistant.open(small_disk / "idx", settings=fake_settings, embedder=fake_embedder)
    _intact(again)
    rep = again.add(many[:20])  # with space again, the ingest goes on where it stopped
    assert not rep.failed and set(rep.unchanged) == committed & {x.id for x in many[:20]}
    assert len(rep.added) + len(rep.unchanged) == 20 and rep.added
    for x in many[:20]:
        _, text = again.article(x.id)
        assert text == x.text
    again.close()
