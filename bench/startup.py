"""Start-up: seconds from ``python app.py`` to HTTP 200 and to the first answer, first and second start,
and the server's memory (RSS) at HTTP 200 and after the first answer; and ``assistant ask`` cold (a new
process each time, the disk cache warm). Per embedding precision (``--precisions bf16 int8``; int8 needs
its graph built once, with nncf).

First start: an empty index root (the sample collection is built: its sentences are embedded). Second
start: the same root again. The first answer is asked through the page's ``/ask`` API endpoint as soon
as the page answers HTTP 200 (it waits for the model if the model is still loading).

    python -m bench.startup [--runs 3] [--precisions bf16 int8] [--out runs/startup.json]
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from bench.common import ROOT, arguments, free_port, write_result

QUESTION = "كم عدد الجنود الأجانب في أفغانستان؟"


def env_for(root: Path, port: int, precision: str = "bf16") -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    env.update(ASSISTANT_INDEX_ROOT=str(root), ASSISTANT_SERVER__PORT=str(port), GRADIO_ANALYTICS_ENABLED="False",
               HF_HUB_OFFLINE="1", PYTHONUNBUFFERED="1", ASSISTANT_EMBEDDING__PRECISION=precision)
    return env


def rss_mb(pid: int) -> float:
    """The resident memory of process ``pid`` in MB (Linux: /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def web_start(root: Path, precision: str) -> dict[str, float]:
    from gradio_client import Client

    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, str(ROOT / "app.py")], env=env_for(root, port, precision), cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"app.py exited with {proc.returncode}")
            try:
                with urllib.request.urlopen(url, timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.05)
        http = time.perf_counter() - t0
        rss_start = rss_mb(proc.pid)
        answer = Client(url, verbose=False).predict(QUESTION, api_name="/ask")
        first = time.perf_counter() - t0
        assert answer["citations"], answer
        return {"http_200_s": http, "first_answer_s": first, "rss_at_http_mb": rss_start,
                "rss_after_answer_mb": rss_mb(proc.pid)}
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def cli_ask(root: Path, precision: str) -> float:
    t0 = time.perf_counter()
    done = subprocess.run([str(ROOT / ".venv" / "bin" / "assistant"), "ask", QUESTION, "--index", "sample"],
                          env=env_for(root, 0, precision), capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(done.stderr[-2000:])
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    ap = arguments(__doc__, data=False, out=ROOT / "runs" / "startup.json")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--precisions", nargs="+", default=["bf16"], choices=["bf16", "int8", "f32"])
    args = ap.parse_args(argv)
    out: dict = {}
    for precision in args.precisions:
        out[precision] = measure(precision, args.runs)
    write_result(args.out, None, args, out)  # the processes ran with the default settings, not this one's
    return 0


def measure(precision: str, runs: int) -> dict:
    out: dict = {"web": [], "cli_ask_s": []}
    for run in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            first, second = web_start(root, precision), web_start(root, precision)
            out["web"].append({"first": first, "second": second})
            print(f"{precision} run {run + 1}: first start HTTP 200 {first['http_200_s']:.1f} s, first answer "
                  f"{first['first_answer_s']:.1f} s; second start HTTP 200 {second['http_200_s']:.1f} s, first answer "
                  f"{second['first_answer_s']:.1f} s, RSS {second['rss_at_http_mb']:.0f} MB at HTTP 200, "
                  f"{second['rss_after_answer_mb']:.0f} MB after the answer", flush=True)
            out["cli_ask_s"].append(cli_ask(root, precision))
            print(f"       assistant ask, cold: {out['cli_ask_s'][-1]:.1f} s", flush=True)
    for start in ("first", "second"):
        for k in ("http_200_s", "first_answer_s", "rss_at_http_mb", "rss_after_answer_mb"):
            out[f"{start}_{k}_median"] = statistics.median(r[start][k] for r in out["web"])
    out["cli_ask_s_median"] = statistics.median(out["cli_ask_s"])
    print(f"{precision} median: second start HTTP 200 {out['second_http_200_s_median']:.1f} s (bar <= 5 s), first "
          f"answer {out['second_first_answer_s_median']:.1f} s, RSS {out['second_rss_at_http_mb_median']:.0f} MB at "
          f"HTTP 200 and {out['second_rss_after_answer_mb_median']:.0f} MB after the answer; assistant ask cold "
          f"{out['cli_ask_s_median']:.1f} s (bar <= 4 s)")
    return out


if __name__ == "__main__":
    sys.exit(main())
