"""Safe to expose (issue 6): loopback by default, a login beyond it, uploads checked and kept inside the
index folder, every text escaped where it is shown.

Servers are real (Gradio on a free port; ``assistant serve`` in a subprocess); the addresses a server
listens on are read from /proc/net/tcp*, not assumed.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from assistant import Assistant, ConfigError, Settings
from assistant.service.collections import Collections
from assistant.service.service import CollectionService
from assistant.service.uploads import UPLOADS_DIR, safe_filename
from assistant.text.characters import INVISIBLE_FORMAT
from assistant.types import Answer, ArticleInfo, Citation, IngestReport
from assistant.web.answers import answer_html, pending_html, question_html
from assistant.web.app import launch
from assistant.web.articles import article_html, articles_table_html, ingest_report_html
from assistant.web.auth import is_loopback, resolve_auth
from assistant.web.chat import ChatApp
from assistant.web.links import parse_ref
from assistant.web.markup import error_html, status_html
from tests.helpers import EVIL, Child, Tree, assert_safe, child_env, files_outside, free_port

BIDI = "\u202eevil\u202c \u2066isolated\u2069 zero\u200bwidth"
PASSWORD = "correct horse battery"


def listening(port: int) -> set[str]:
    """The local addresses with a socket listening on ``port``, from /proc/net/tcp and tcp6."""
    found = set()
    for name, family in (("tcp", socket.AF_INET), ("tcp6", socket.AF_INET6)):
        try:
            rows = Path(f"/proc/net/{name}").read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            local, state = row.split()[1], row.split()[3]
            addr, hex_port = local.split(":")
            if int(hex_port, 16) != port or state != "0A":  # 0A: LISTEN
                continue
            raw = bytes.fromhex(addr)
            raw = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))  # little-endian words
            found.add(socket.inet_ntop(family, raw))
    return found


def tiny_demo():  # noqa: ANN201 - a gr.Blocks; gradio is imported here only
    import gradio as gr

    def shout(text: str) -> str:
        return text.upper()

    with gr.Blocks() as demo:
        gr.Markdown("hello")
        gr.api(shout, api_name="shout")
    return demo


# --- binding and login -----------------------------------------------------------------------------
def test_serves_on_loopback_only_by_default() -> None:
    settings = Settings()
    assert settings.server.host == "127.0.0.1"
    demo = tiny_demo()
    port = free_port()
    launch(demo, settings, port=port, prevent_thread_lock=True, quiet=True)
    try:
        assert listening(port) == {"127.0.0.1"}
        assert httpx.get(f"http://127.0.0.1:{port}/config", timeout=30).status_code == 200  # no login on loopback
    finally:
        demo.close()


def test_refuses_another_interface_without_a_login_and_listens_on_nothing() -> None:
    port = free_port()
    for host in ("0.0.0.0", "::", "192.168.1.20", "news.example.org"):
        with pytest.raises(ConfigError, match=f"refusing to serve on {host}: beyond this machine the chat needs a login"):
            launch(tiny_demo(), Settings(), host=host, port=port, prevent_thread_lock=True, quiet=True)
    assert listening(port) == set()


def test_a_login_is_required_when_accounts_are_set(tmp_path: Path) -> None:
    from gradio_client import Client

    settings = Settings().replace(server={"auth_user": "desk", "auth_password": PASSWORD})
    demo = tiny_demo()
    port = free_port()
    launch(demo, settings, port=port, prevent_thread_lock=True, quiet=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        assert httpx.get(url + "config", timeout=30).status_code == 401
        assert httpx.post(url + "gradio_api/upload", files={"files": ("a.txt", b"x")}, timeout=30).status_code == 401
        with pytest.raises(Exception, match="(?i)login|auth|401"):
            Client(url, verbose=False, auth=("desk", "wrong password!"))
        assert Client(url, verbose=False, auth=("desk", PASSWORD)).predict("cited", api_name="/shout") == "CITED"
    finally:
        demo.close()


def test_accounts_come_from_the_environment_and_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSISTANT_SERVER__AUTH_USER", "desk")
    monkeypatch.setenv("ASSISTANT_SERVER__AUTH_PASSWORD", PASSWORD)
    f = tmp_path / "users"
    f.write_text("# newsroom accounts\neditor:s3cret:with:colons\n\n  night-shift : long enough pass\n", encoding="utf-8")
    monkeypatch.setenv("ASSISTANT_SERVER__AUTH_FILE", str(f))
    assert resolve_auth(Settings().server) == [("desk", PASSWORD), ("editor", "s3cret:with:colons"),
                                               ("night-shift", " long enough pass")]


@pytest.mark.parametrize(
    "server, message",
    [
        ({"auth_user": "desk"}, "set both server.auth_user and server.auth_password"),
        ({"auth_password": PASSWORD}, "set both"),
        ({"auth_user": "desk", "auth_password": "short"}, "shorter than 8 characters"),
        ({"auth_file": "/nonexistent/users"}, "cannot read server.auth_file /nonexistent/users"),
    ],
)
def test_bad_login_settings_are_refused_with_the_fix(server: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        resolve_auth(Settings().replace(server=server).server)


def test_a_malformed_or_empty_auth_file_is_refused(tmp_path: Path) -> None:
    f = tmp_path / "users"
    f.write_text("editor\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"users:1: expected 'user:password'"):
        resolve_auth(Settings().replace(server={"auth_file": str(f)}).server)
    f.write_text("# nobody yet\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="holds no 'user:password' line"):
        resolve_auth(Settings().replace(server={"auth_file": str(f)}).server)


@pytest.mark.parametrize("host, loop", [("127.0.0.1", True), ("127.3.4.5", True), ("::1", True), ("[::1]", True),
                                        ("localhost", True), ("0.0.0.0", False), ("::", False), ("10.0.0.7", False),
                                        ("example.org", False)])
def test_is_loopback(host: str, loop: bool) -> None:
    assert is_loopback(host) is loop


def test_cli_refuses_a_network_interface_without_login_before_loading_anything(tmp_path: Path) -> None:
    t0 = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "assistant.cli", "serve", "--host", "0.0.0.0", "--port", str(free_port())],
                          env=child_env(tmp_path), capture_output=True, text=True, timeout=300)
    assert done.returncode == 1
    assert "error: refusing to serve on 0.0.0.0: beyond this machine the chat needs a login" in done.stderr
    assert "--auth-file" in done.stderr
    assert not (tmp_path / "indexes").exists()  # refused before any index was opened
    assert time.monotonic() - t0 < 120


@pytest.mark.slow
def test_cli_serves_a_network_interface_with_a_login_and_says_so(tmp_path: Path) -> None:
    from gradio_client import Client

    users = tmp_path / "users"
    users.write_text(f"editor:{PASSWORD}\n", encoding="utf-8")
    users.chmod(0o644)
    port = free_port()
    env = child_env(tmp_path, ASSISTANT_SERVER__AUTH_USER="desk", ASSISTANT_SERVER__AUTH_PASSWORD=PASSWORD + "!",
                    ASSISTANT_ANSWER__MIN_SCORE="0")
    script = "import sys; from assistant.cli import main; sys.exit(main(sys.argv[1:]))"
    server = Child(script, ["serve", "--host", "0.0.0.0", "--port", str(port), "--auth-file", str(users)], env,
                   tmp_path / "serve.log")
    try:
        deadline = time.monotonic() + 300
        while not listening(port) and time.monotonic() < deadline:
            assert server.proc.poll() is None, (tmp_path / "serve.log").read_text()
            time.sleep(0.5)
        assert listening(port) == {"0.0.0.0"}
        log = (tmp_path / "serve.log").read_text(encoding="utf-8")
        assert "login required: 2 account(s) (desk, editor); serving on 0.0.0.0" in log
        assert f"warning: {users} can be read by other users; `chmod 600` it" in log
        url = f"http://127.0.0.1:{port}/"
        assert httpx.get(url + "config", timeout=30).status_code == 401
        for user, password in (("editor", PASSWORD), ("desk", PASSWORD + "!")):
            ans = Client(url, verbose=False, auth=(user, password)).predict("How many foreign troops are in Afghanistan?",
                                                                            api_name="/ask")
            assert ans["citations"]
        with pytest.raises(Exception, match="(?i)login|auth|401"):
            Client(url, verbose=False, auth=("editor", PASSWORD + "?"))
    finally:
        server.proc.terminate()
        server.finish(timeout=60)


# --- uploads ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name, safe",
    [
        ("report.txt", "report.txt"),
        ("../../etc/passwd.txt", "passwd.txt"),
        ("..\\..\\windows\\evil.txt", "evil.txt"),
        ("/abs/path/notes.md", "notes.md"),
        ("..", "upload"),
        (".hidden.txt", "hidden.txt"),
        ("...txt", "txt"),
        ('a:b*c?"d"<e>|f.json', "a_b_c__d__e__f.json"),
        ("تقرير الطقس.txt", "تقرير الطقس.txt"),
        ("مُقال.html", "مُقال.html"),
        ("report\u202etxt.exe", "reporttxt.exe"),
        ("zero\u200bwidth\x00\x1f.txt", "zerowidth.txt"),
        ("  spaced name .txt ", "spaced name .txt"),
        ("x" * 300 + ".txt", "x" * 120 + ".txt"),
    ],
)
def test_safe_filename(name: str, safe: str) -> None:
    assert safe_filename(name) == safe


def test_uploads_are_checked_renamed_and_stored_in_the_index_folder(tmp_path: Path, embedder, settings: Settings) -> None:  # noqa: ANN001
    small = settings.replace(server={"max_upload_mb": 0.001})  # 1 kB
    incoming = tmp_path / "gradio-tmp"
    (incoming / "a").mkdir(parents=True)
    (incoming / "b").mkdir()
    files = {
        "good.txt": "The new bridge over the Euphrates opened to traffic on Sunday.",
        "..\\..\\escape.txt": "The escape attempt should land inside the uploads folder.",
        ".hidden.md": "Hidden files are renamed before they are stored.",
        "تقرير الطقس.txt": "هطلت أمطار غزيرة على بغداد يوم الأحد.",
        "tool.exe": "MZ not a text file",
        "report\u202etxt.exe": "A trick name that shows as report.exe.txt in some viewers.",
        "big.txt": "Long text. " * 200,
        "fake.txt": "%PDF-1.7 binary",
    }
    paths = []
    for name, text in files.items():
        (incoming / "a" / name).write_text(text, encoding="utf-8")
        paths.append(str(incoming / "a" / name))
    (incoming / "b" / "good.txt").write_text("A second file with the same name.", encoding="utf-8")
    paths.append(str(incoming / "b" / "good.txt"))
    (incoming / "a" / "link.txt").symlink_to("/etc/hostname")
    paths.append(str(incoming / "a" / "link.txt"))
    paths.append(str(incoming / "a" / "never-arrived.txt"))

    with Assistant.open(tmp_path / "idx", settings=small, embedder=embedder) as a:
        before = files_outside(tmp_path, a.path)
        app = ChatApp(CollectionService(Collections(a, tmp_path / "root")))
        markup = app.upload(paths, "idx")
        assert_safe(markup)
        text = Tree(markup).text
        assert str(tmp_path) not in markup  # file names only, never server paths
        assert "added 4, replaced 0, unchanged 0, failed 7" in text
        for line in (
            "tool.exe: '.exe' is not a type we take",
            "reporttxt.exe: '.exe' is not a type we take",
            "big.txt: is 2.2 kB, over the upload limit of 1.0 kB (server.max_upload_mb)",
            "good.txt: has the same name as another file of this upload; rename one",
            "link.txt: is not a regular file",
            "never-arrived.txt: was not received; upload it again",
            "fake.txt: this is a PDF document, not text",
        ):
            assert line in text, line
        assert not INVISIBLE_FORMAT.search(markup)
        stored = a.path / UPLOADS_DIR
        assert sorted(p.name for p in stored.iterdir()) == sorted(["good.txt", "escape.txt", "hidden.md", "تقرير الطقس.txt"])
        assert files_outside(tmp_path, a.path) == before  # nothing written anywhere else
        assert sorted(i.id for i in a.articles()) == sorted(["good", "escape", "hidden", "تقرير الطقس"])
        assert all(Path(i.path).parent == stored for i in a.articles())  # type: ignore[arg-type]
        assert a.article("good")[1] == files["good.txt"]
        assert "Removed good" in app.remove("good", "idx")
        assert not (stored / "good.txt").exists()  # its uploaded file goes with it


# --- escaping --------------------------------------------------------------------------------------
def test_every_rendered_text_is_escaped_and_stripped_of_bidi_controls() -> None:
    hostile = EVIL + " " + BIDI
    text = f"Intro line.\nThe cited {hostile} sentence.\n"
    start, end = text.index("The cited"), text.index("sentence.") + len("sentence.")
    c = Citation(1, hostile, "s1", text[start:end], start, end, 0.5, title=hostile, source=hostile, date=hostile, lang="en")
    ans = Answer(hostile, f"{hostile}\n- {c.text} [1] [2]", [c], False, "en", notice=hostile, standalone_question=hostile)
    info = ArticleInfo(hostile, hostile, hostile, hostile, "en", 2, "/srv/x", "h")
    report = IngestReport(added=[hostile], failed=[(hostile, hostile)])
    markups = {
        "answer": answer_html(ans, {hostile: text}, "news"),
        "answer, missing article": answer_html(ans, {}, "news"),
        "question": question_html(hostile),
        "pending": pending_html(hostile, "en"),
        "error": error_html(hostile, "ar"),
        "status": status_html(hostile, "error"),
        "article": article_html(info, text, start, end),
        "articles": articles_table_html([info], "news"),
        "ingest report": ingest_report_html(report, "news"),
    }
    for what, markup in markups.items():
        assert_safe(markup)
        assert "<script" not in markup and "<img" not in markup, what
        assert not INVISIBLE_FORMAT.search(markup), what
        assert EVIL in Tree(markup).text, what
    for a in Tree(markups["answer"]).find("a"):
        ref = parse_ref(a["attrs"]["href"])
        assert ref is not None and ref.article_id == hostile  # the hostile id survives the link intact


def test_links_that_are_not_ours_open_nothing(new_assistant: Assistant, tmp_path: Path) -> None:
    app = ChatApp(CollectionService(Collections(new_assistant, tmp_path / "root")))
    for href in ("javascript:alert(1)", "#cite/../../etc/0/4", "#article/..%2F..%2Fetc/passwd", f"#article/x/{EVIL}"):
        markup = app.open_ref(href)
        assert_safe(markup)
        assert 'role="alert"' in markup and "<script" not in markup
    # a name no collection can have is not one: nothing is looked up on disk, nothing is opened
    assert "there is no collection &#x27;../../etc&#x27; on this server" in app.open_ref("#article/..%2F..%2Fetc/passwd")
    assert list(app.collections.opened()) == ["fresh"]
