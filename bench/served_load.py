"""Load on a served collection (issue 25): 20 concurrent clients for 2 minutes across two app servers
(`assistant serve`, separate processes) on one PostgreSQL + Chroma server, mixed Arabic and English
questions; then the same with one app server killed (SIGKILL) halfway. Loopback only, bounded in time.

Clients spread over the servers in turn, as a load balancer would; a request that fails (its server
died) counts as an error and that server is left out until its health check answers again. Reports per
phase: requests, errors (and when they happened relative to the kill), latency p50 / p95, answers per
second, each server's memory (RSS).

The collection: the contexts of xquad-dev.ar, xquad-dev.en and arcd-train as articles (their embeddings
copied from the eval indexes when those exist). Needs PostgreSQL (``--catalog-url``, default
$ASSISTANT_TEST_PG_URL: ``. scripts/services.sh; start_services``); starts ``chroma run`` itself.

    python -m bench.served_load [--clients 20] [--seconds 120] [--out runs/served_load.json]
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from assistant import Assistant, Settings
from assistant.evaluation.metrics import percentile
from assistant.evaluation.run import model_tag
from assistant.models.embedding.factory import build_embedder
from bench.common import arguments, free_port, load_set, new_database, shared_data, start_chroma, write_result
from bench.startup import rss_mb

SETS = ("xquad-dev.ar", "xquad-dev.en", "arcd-train")


class Balancer:
    """Round robin over the servers that are up; a failed one is out until its health check answers."""

    def __init__(self, urls: list[str]):
        self.urls = urls
        self._down: dict[str, float] = {}
        self._next = 0
        self._lock = threading.Lock()

    def pick(self) -> str:
        with self._lock:
            now = time.monotonic()
            for _ in range(len(self.urls)):
                url = self.urls[self._next % len(self.urls)]
                self._next += 1
                since = self._down.get(url)
                if since is None:
                    return url
                if now - since > 2:  # probe it again
                    try:
                        if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                            del self._down[url]
                            return url
                    except httpx.TransportError:
                        pass
                    self._down[url] = now
            return self.urls[0]

    def failed(self, url: str) -> None:
        with self._lock:
            self._down[url] = time.monotonic()


def run_phase(urls: list[str], questions: list[str], clients: int, seconds: float,
              kill: tuple[float, subprocess.Popen] | None) -> dict:
    lb = Balancer(urls)
    records: list[tuple[float, float, bool, str]] = []  # (start, latency, ok, url)
    lock = threading.Lock()
    t_start = time.monotonic()
    stop = t_start + seconds

    def client(i: int) -> None:
        rng = random.Random(i)
        with httpx.Client(timeout=120) as http:
            while time.monotonic() < stop:
                url = lb.pick()
                q = rng.choice(questions)
                t0 = time.monotonic()
                try:
                    r = http.post(f"{url}/ask", json={"question": q})
                    ok = r.status_code == 200 and "text" in r.json()
                except (httpx.TransportError, ValueError):
                    ok = False
                if not ok:
                    lb.failed(url)
                with lock:
                    records.append((t0 - t_start, time.monotonic() - t0, ok, url))

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    killed_at = None
    if kill is not None:
        time.sleep(kill[0])
        kill[1].kill()
        killed_at = time.monotonic() - t_start
    for t in threads:
        t.join()
    lat = [x[1] for x in records if x[2]]
    errors = [x for x in records if not x[2]]
    return {
        "requests": len(records), "answered": len(lat), "errors": len(errors),
        "errors_from_s": round(min((e[0] for e in errors), default=0.0), 1),
        "errors_until_s": round(max((e[0] + e[1] for e in errors), default=0.0), 1),
        "killed_at_s": round(killed_at, 1) if killed_at is not None else None,
        "p50_ms": round(1000 * (percentile(lat, 50) or 0.0)), "p95_ms": round(1000 * (percentile(lat, 95) or 0.0)),
        "answers_per_s": round(len(lat) / seconds, 2),
        "per_server": {u: sum(1 for x in records if x[3] == u and x[2]) for u in urls},
    }


def main(argv: list[str] | None = None) -> int:
    ap = arguments(__doc__)
    ap.add_argument("--catalog-url", default=os.environ.get("ASSISTANT_TEST_PG_URL"),
                    help="PostgreSQL URL of a database where a new one may be created (default: $ASSISTANT_TEST_PG_URL)")
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=120)
    args = ap.parse_args(argv)
    if not args.catalog_url:
        raise SystemExit("--catalog-url is needed (or ASSISTANT_TEST_PG_URL): see the docstring")
    data = shared_data(args.data, SETS)
    tmp = Path(tempfile.mkdtemp(prefix="served-load-"))
    chroma, chroma_url = start_chroma(tmp / "chroma")
    catalog_url = new_database(args.catalog_url, "bench_load")
    settings = Settings()
    served = settings.replace(store={"catalog_url": catalog_url, "chroma_url": chroma_url})
    servers: list[subprocess.Popen] = []
    try:
        embedder = build_embedder(settings.embedding, settings.paths)
        questions: list[str] = []
        t0 = time.perf_counter()
        with Assistant.open(tmp / "builder" / "news", settings=served, embedder=embedder) as a:
            a.reuse_embeddings(sorted(settings.index_root.glob(f"eval-*-{model_tag(embedder.vector_id)}")))
            for name in SETS:
                qs = load_set(data, name, settings)
                a.add(qs.articles)
                questions += [q.question for q in qs.questions]
            n_art, n_sent = a.index.catalog.count()
        del embedder
        print(f"collection: {n_art} articles, {n_sent} sentences ({time.perf_counter() - t0:.0f} s); "
              f"{len(questions)} questions (ar, en)", flush=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
        env.update(ASSISTANT_STORE__CATALOG_URL=catalog_url, ASSISTANT_STORE__CHROMA_URL=chroma_url,
                   GRADIO_ANALYTICS_ENABLED="False", HF_HUB_OFFLINE="1")
        ports = [free_port(), free_port()]

        def start(i: int) -> subprocess.Popen:
            (tmp / f"machine{i}").mkdir(exist_ok=True)
            e = dict(env, ASSISTANT_INDEX_ROOT=str(tmp / f"machine{i}" / "indexes"))
            log = (tmp / f"server{i}.log").open("a")
            p = subprocess.Popen([sys.executable, "-m", "assistant.cli", "serve", "--index", "news", "--port",
                                  str(ports[i])], env=e, stdout=log, stderr=subprocess.STDOUT)
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline:
                try:
                    if httpx.get(f"http://127.0.0.1:{ports[i]}/api/v1/health", timeout=2).status_code == 200:
                        httpx.post(f"http://127.0.0.1:{ports[i]}/api/v1/ask", json={"question": questions[0]}, timeout=120)
                        return p
                except httpx.TransportError:
                    pass
                if p.poll() is not None:
                    break
                time.sleep(0.5)
            raise SystemExit(f"server {i} did not start: {(tmp / f'server{i}.log').read_text()[-2000:]}")

        servers = [start(0), start(1)]
        urls = [f"http://127.0.0.1:{p}/api/v1" for p in ports]
        rss_before = [round(rss_mb(p.pid)) for p in servers]
        steady = run_phase(urls, questions, args.clients, args.seconds, None)
        steady["rss_mb_after"] = [round(rss_mb(p.pid)) for p in servers]
        steady["rss_mb_before"] = rss_before
        print(f"both servers: {steady}", flush=True)
        servers[1].kill()
        servers[1].wait()
        servers[1] = start(1)
        killed = run_phase(urls, questions, args.clients, args.seconds, (args.seconds / 2, servers[1]))
        print(f"one killed halfway: {killed}", flush=True)
        print(f"{'phase':28s} {'requests':>8s} {'errors':>6s} {'p50 ms':>7s} {'p95 ms':>7s} {'answers/s':>9s}")
        for label, r in (("both servers", steady), ("server 2 killed at half", killed)):
            print(f"{label:28s} {r['requests']:8d} {r['errors']:6d} {r['p50_ms']:7d} {r['p95_ms']:7d} "
                  f"{r['answers_per_s']:9.2f}")
        write_result(args.out, settings, args, {"articles": n_art, "sentences": n_sent, "steady": steady,
                                                 "one_killed": killed})
    finally:
        for p in servers:
            if p.poll() is None:
                p.terminate()
                p.wait(timeout=60)
        chroma.terminate()
        chroma.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
