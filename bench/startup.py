"""Start-up: seconds from ``python app.py`` to HTTP 200 and to the first answer, first and second start;
and ``assistant ask`` cold (a new process each time, the disk cache warm).

First start: an empty index root (the sample collection is built: its sentences are embedded). Second
start: the same root again. The first answer is asked through the page's ``/ask`` API endpoint as soon
as the page answers HTTP 200 (it waits for the model if the model is still loading).

    python -m bench.startup [--runs 3] [--out runs/startup.json]
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


def env_for(root: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    env.update(ASSISTANT_INDEX_ROOT=str(root), ASSISTANT_SERVER__PORT=str(port), GRADIO_ANALYTICS_ENABLED="False",
               HF_HUB_OFFLINE="1", PYTHONUNBUFFERED="1")
    return env


def web_start(root: Path) -> dict[str, float]:
    from gradio_client import Client

    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, str(ROOT / "app.py")], env=env_for(root, port), cwd=ROOT,
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
        answer = Client(url, verbose=False).predict(QUESTION, api_name="/ask")
        first = time.perf_counter() - t0
        assert answer["citations"], answer
        return {"http_200_s": http, "first_answer_s": first}
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def cli_ask(root: Path) -> float:
    t0 = time.perf_counter()
    done = subprocess.run([str(ROOT / ".venv" / "bin" / "assistant"), "ask", QUESTION, "--index", "sample"],
                          env=env_for(root, 0), capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(done.stderr[-2000:])
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    ap = arguments(__doc__, data=False, out=ROOT / "runs" / "startup.json")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args(argv)
    out: dict = {"web": [], "cli_ask_s": []}
    for run in range(args.runs):
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            first, second = web_start(root), web_start(root)
            out["web"].append({"first": first, "second": second})
            print(f"run {run + 1}: first start HTTP 200 {first['http_200_s']:.1f} s, first answer "
                  f"{first['first_answer_s']:.1f} s; second start HTTP 200 {second['http_200_s']:.1f} s, first answer "
                  f"{second['first_answer_s']:.1f} s", flush=True)
            out["cli_ask_s"].append(cli_ask(root))
            print(f"       assistant ask, cold: {out['cli_ask_s'][-1]:.1f} s", flush=True)
    for start in ("first", "second"):
        for k in ("http_200_s", "first_answer_s"):
            out[f"{start}_{k}_median"] = statistics.median(r[start][k] for r in out["web"])
    out["cli_ask_s_median"] = statistics.median(out["cli_ask_s"])
    print(f"median: second start HTTP 200 {out['second_http_200_s_median']:.1f} s (bar <= 5 s), first answer "
          f"{out['second_first_answer_s_median']:.1f} s; assistant ask cold {out['cli_ask_s_median']:.1f} s (bar <= 4 s)")
    write_result(args.out, None, args, out)  # the processes ran with the default settings, not this one's
    return 0


if __name__ == "__main__":
    sys.exit(main())
