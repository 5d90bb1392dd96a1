"""Nothing phones home (README): the CLI and the web chat answer a question without one connection or name
lookup beyond loopback, and without writing into the user's home.

Each scenario runs once (a module fixture) in a subprocess with a clean environment, as a user would start
it: none of the telemetry switches of :mod:`assistant.telemetry` preset (the app must set them itself),
no ``CI`` variable (OpenVINO's telemetry stays quiet in CI on its own), ``HOME`` a fresh temp folder (so
``~/intel``, OpenVINO's telemetry folder, is observable), the real default model found through
``ASSISTANT_PATHS__MODELS``. Two recorders watch it:

- Python's socket layer: a ``sitecustomize.py`` first on ``PYTHONPATH`` wraps ``socket.socket.connect``,
  ``connect_ex``, ``sendto``, ``socket.getaddrinfo``, ``gethostbyname`` and ``gethostbyname_ex``
  (``create_connection``, urllib, httpx and asyncio go through these) and appends each destination to a
  file, from every process of the run (forked and spawned children included);
- the kernel's view, for native code that bypasses Python: the run under ``strace -f`` (connect and the
  send calls that carry an address; execve to show that it watched), when strace can trace here; those
  tests are skipped, saying why, when it cannot.

A destination passes when it is a Unix socket, ``localhost``, or a loopback address (127.0.0.0/8, ::1).
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from assistant import Settings
from assistant.telemetry import TELEMETRY_SWITCHES
from tests.helpers import child_env, free_port

ROOT = Path(__file__).resolve().parents[1]
QUESTION = "How many foreign troops are in Afghanistan?"
# Variables that would switch a library's telemetry off behind the app's back: the app must do it itself.
NOT_INHERITED = {*TELEMETRY_SWITCHES, "HF_HUB_OFFLINE", "CI", "TF_BUILD", "JENKINS_URL"}

HOOK = r'''"""Written by tests/test_no_phone_home.py: every destination this process connects to, sends to or
looks up is appended to $NO_PHONE_HOME_LOG (one JSON line each)."""
import json
import os
import socket
import sys

_LOG = os.environ.get("NO_PHONE_HOME_LOG")


def _record(call, family, host, port=None):
    if not _LOG:
        return
    if isinstance(host, bytes):
        host = host.decode("utf-8", "replace")
    line = json.dumps({"pid": os.getpid(), "ppid": os.getppid(), "call": call, "family": family,
                       "host": None if host is None else str(host), "port": None if port is None else str(port),
                       "argv": sys.argv[:3]})
    with open(_LOG, "a", encoding="utf-8") as f:
        f.write(line + "\n")


def _address(sock, address):
    family = getattr(sock.family, "name", str(sock.family))
    if family == "AF_UNIX":
        return family, address, None
    if isinstance(address, tuple) and address:
        return family, address[0], address[1] if len(address) > 1 else None
    return family, address, None


def _wrap_method(name):
    real = getattr(socket.socket, name)

    def wrapper(self, *args):
        _record(name, *_address(self, args[-1]))
        return real(self, *args)

    wrapper.__name__ = name
    setattr(socket.socket, name, wrapper)


for _name in ("connect", "connect_ex", "sendto"):
    _wrap_method(_name)


def _wrap_lookup(name):
    real = getattr(socket, name)

    def wrapper(host, *args, **kwargs):
        port = args[0] if args else kwargs.get("port")
        _record(name, "lookup", host, port)
        return real(host, *args, **kwargs)

    wrapper.__name__ = name
    setattr(socket, name, wrapper)


for _name in ("getaddrinfo", "gethostbyname", "gethostbyname_ex"):
    _wrap_lookup(_name)

_record("start", "process", None)


def _chain():
    """Run the sitecustomize this one hides, if the interpreter has one."""
    import importlib.machinery
    import importlib.util

    here = os.path.dirname(os.path.abspath(__file__))
    rest = [p for p in sys.path if os.path.abspath(p or os.curdir) != here]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", rest)
    if spec is not None and spec.loader is not None:
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)


_chain()
'''

_STRACE_CALL = re.compile(r"^\s*(\d+)\s+(connect|sendto|sendmsg|sendmmsg)\(")
_STRACE_ADDR = re.compile(r'inet_addr\("([^"]+)"\)|inet_pton\(AF_INET6, "([^"]+)"')


def strace_reason() -> str | None:
    """Why strace cannot watch a run here (None: it can)."""
    exe = shutil.which("strace")
    if exe is None:
        return "strace is not installed (apt-get install strace): the native-code check is skipped"
    probe = subprocess.run([exe, "-f", "-qq", "--seccomp-bpf", "-e", "trace=connect", "-o", os.devnull, "true"],
                           capture_output=True, text=True, timeout=60)
    if probe.returncode != 0:
        return f"strace cannot trace here (ptrace refused?): {probe.stderr.strip()[:200]}"
    return None


STRACE_REASON = strace_reason()


def is_loopback(host: str | None) -> bool:
    """Whether a destination stays on this machine: no host (a passive/bind lookup), localhost, a
    loopback address."""
    if host is None or host == "" or host.lower() in ("localhost", "localhost.") or host.lower().endswith(".localhost"):
        return True
    try:
        ip = ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        return False  # a name other than localhost: a lookup that may leave the machine
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback


@dataclass(repr=False)
class Run:
    """What one scenario did: the hook's records, the strace lines, files under the fake HOME, output."""

    hook: list[dict] = field(default_factory=list)
    strace: list[str] = field(default_factory=list)
    home_files: list[str] = field(default_factory=list)
    output: str = ""
    answer: object = None

    def outside(self) -> list[dict]:
        return [r for r in self.hook if r["family"] not in ("AF_UNIX", "process") and not is_loopback(r["host"])]

    def native_outside(self) -> list[str]:
        bad = []
        for line in self.strace:
            m = _STRACE_CALL.match(line)
            if m is None:
                continue
            hosts = [a or b for a, b in _STRACE_ADDR.findall(line)]
            if any(not is_loopback(h) for h in hosts):
                bad.append(line.strip()[:300])
        return bad


def _environment(tmp: Path) -> tuple[dict[str, str], Path, Path]:
    """The child's environment (see the module doc), its hook log and fake HOME."""
    hook_dir, home, log = tmp / "hook", tmp / "home", tmp / "destinations.jsonl"
    hook_dir.mkdir()
    home.mkdir()
    (hook_dir / "sitecustomize.py").write_text(HOOK, encoding="utf-8")
    env = {k: v for k, v in child_env(tmp).items() if k not in NOT_INHERITED and not k.startswith("XDG_")}
    env.pop("ASSISTANT_EMBEDDING__BACKEND", None)  # the real default model, as a user gets it
    env.update(HOME=str(home), NO_PHONE_HOME_LOG=str(log), ASSISTANT_PATHS__MODELS=str(Settings().paths.models),
               PYTHONPATH=os.pathsep.join([str(hook_dir), *filter(None, [os.environ.get("PYTHONPATH")])]))
    return env, log, home


def _traced(cmd: list[str], trace: Path) -> list[str]:
    if STRACE_REASON is not None:
        return cmd
    return [shutil.which("strace") or "strace", "-f", "-qq", "--seccomp-bpf", "-e",
            "trace=execve,connect,sendto,sendmsg,sendmmsg", "-o", str(trace), *cmd]


def _collect(run: Run, log: Path, trace: Path, home: Path) -> Run:
    if log.exists():
        run.hook = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines() if line.strip()]
    if trace.exists():
        run.strace = trace.read_text(encoding="utf-8", errors="replace").splitlines()
    run.home_files = sorted(str(p.relative_to(home)) for p in home.rglob("*"))
    return run


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """``python -m assistant.cli ask`` over the sample index, as a user starts it."""
    tmp = tmp_path_factory.mktemp("cli")
    env, log, home = _environment(tmp)
    trace = tmp / "strace.txt"
    done = subprocess.run(_traced([sys.executable, "-m", "assistant.cli", "ask", QUESTION], trace),
                          capture_output=True, text=True, timeout=900, env=env, cwd=tmp)
    run = _collect(Run(output=done.stdout + done.stderr), log, trace, home)
    assert done.returncode == 0, run.output[-3000:]
    run.answer = done.stdout
    return run


def _get(url: str, timeout: float = 5) -> int:
    with urllib.request.urlopen(url, timeout=timeout) as r:  # noqa: S310 (loopback)
        return r.status


@pytest.fixture(scope="module")
def web_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """``python app.py`` (the web chat): wait for the page, POST a question to ``/api/v1/ask``, stop it."""
    tmp = tmp_path_factory.mktemp("web")
    env, log, home = _environment(tmp)
    port = free_port()
    env["ASSISTANT_SERVER__PORT"] = str(port)
    trace, out = tmp / "strace.txt", tmp / "server.log"
    base = f"http://127.0.0.1:{port}"
    with out.open("w", encoding="utf-8") as sink:
        proc = subprocess.Popen(_traced([sys.executable, str(ROOT / "app.py")], trace), stdout=sink,
                                stderr=subprocess.STDOUT, env=env, cwd=tmp, start_new_session=True)
    run = Run()
    try:
        deadline = time.monotonic() + 600
        while True:
            try:
                if _get(base + "/") == 200:
                    break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            assert proc.poll() is None, f"the server stopped ({proc.returncode}):\n{out.read_text()[-3000:]}"
            assert time.monotonic() < deadline, f"the page never answered 200:\n{out.read_text()[-3000:]}"
            time.sleep(1)
        body = json.dumps({"question": QUESTION}).encode()
        req = urllib.request.Request(base + "/api/v1/ask", data=body, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=600) as r:  # noqa: S310 (loopback)
            assert r.status == 200
            run.answer = json.loads(r.read())
    finally:
        _stop(proc, log)
    run.output = out.read_text(encoding="utf-8", errors="replace")
    return _collect(run, log, trace, home)


def _stop(proc: subprocess.Popen, log: Path) -> None:
    """Ctrl-C to the server itself (under strace: the traced Python, so strace sees it to the end), then
    the whole group the test started if it lingers."""
    pids = [proc.pid]
    if STRACE_REASON is None and log.exists():  # under strace, the server's own pid: the first process the hook saw whose parent is the one we started
        for line in log.read_text(encoding="utf-8").splitlines():
            rec = json.loads(line)
            if rec["call"] == "start" and rec["ppid"] == proc.pid:  # the traced Python, child of strace
                pids = [rec["pid"]]
                break
    for pid in pids:
        try:
            os.kill(pid, signal.SIGINT)
        except ProcessLookupError:
            pass
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)


def _explain(bad: list) -> str:
    return "destinations beyond loopback:\n" + "\n".join(map(str, bad[:20]))


@pytest.mark.slow  # the fixtures start the app on the real model (reached through getfixturevalue)
@pytest.mark.parametrize("scenario", ["cli_run", "web_run"])
def test_every_python_connection_and_lookup_stays_on_loopback(scenario: str, request: pytest.FixtureRequest) -> None:
    run: Run = request.getfixturevalue(scenario)
    assert run.answer, run.output[-3000:]
    assert any(r["call"] == "start" for r in run.hook), "the hook never ran: PYTHONPATH lost in the child?"
    assert not run.outside(), _explain(run.outside())


@pytest.mark.slow  # the fixtures start the app on the real model (reached through getfixturevalue)
@pytest.mark.parametrize("scenario", ["cli_run", "web_run"])
def test_native_code_connects_nowhere_beyond_loopback(scenario: str, request: pytest.FixtureRequest) -> None:
    if STRACE_REASON is not None:
        pytest.skip(STRACE_REASON)
    run: Run = request.getfixturevalue(scenario)
    assert any(" execve(" in line for line in run.strace), "strace did not see the run start (execve)"
    assert not run.native_outside(), _explain(run.native_outside())


@pytest.mark.slow  # the fixtures start the app on the real model (reached through getfixturevalue)
@pytest.mark.parametrize("scenario", ["cli_run", "web_run"])
def test_nothing_written_into_home(scenario: str, request: pytest.FixtureRequest) -> None:
    run: Run = request.getfixturevalue(scenario)
    assert run.home_files == [], f"the run wrote into HOME: {run.home_files}"


@pytest.mark.fast
def test_importing_the_package_leaves_openvino_telemetry_alone() -> None:
    """quiet_telemetry acts when an entry point calls it, not on import (as for the environment)."""
    code = "import sys, assistant; print('openvino_telemetry' in sys.modules, 'openvino' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "False"]


@pytest.mark.fast
def test_our_own_import_of_openvino_hides_its_telemetry_without_an_entry_point(tmp_path: Path) -> None:
    """A script that builds on the OpenVINO runtime without calling quiet_telemetry (a bench, a tool, a
    user's own) is covered too: the code that imports openvino hides the telemetry package first."""
    code = ("import sys; from assistant.models.embedding.openvino_runtime import effective_precision\n"
            "effective_precision('bf16'); print(sys.modules['openvino_telemetry'] is None, 'openvino' in sys.modules)")
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in TELEMETRY_SWITCHES and k != "CI"} | {"HOME": str(home)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "True"]
    assert list(home.rglob("*")) == [], "importing openvino wrote into HOME"
