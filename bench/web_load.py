"""Load on the web API: concurrent clients on loopback for a bounded time.

Starts `unspin serve` on a free 127.0.0.1 port with a throw-away SQLite file (or uses --url, which
must be a loopback address), runs N clients with keep-alive connections for D seconds, and prints
requests/s, p50/p95 latency per request kind, errors, and the server's resident memory.

    .venv/bin/python bench/web_load.py                      # 50 clients, 30 s, mixed reads and analyses
    .venv/bin/python bench/web_load.py --clients 10 --duration 10 --mix analyze
    .venv/bin/python bench/web_load.py --oversized 2           # plus two clients posting 2 MB texts

With --oversized N, N more clients post 2 MB texts back to back; the server refuses those up front (400:
past the analysed-text limit, 413: past the body limit) or, with the limits raised, answers 504 (past the
time limit) or 503 (no worker free in time); the table counts each answer apart from errors. The server's
memory is sampled every few seconds and printed as a series.
"""

from __future__ import annotations

import argparse
import http.client
import ipaddress
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.table import Table

MAX_CLIENTS = 200
MAX_DURATION = 300.0
ROOT = Path(__file__).resolve().parents[1]
ARTICLE = """Traitors in the capital sold out our glorious nation

The corrupt elites in the capital have once again betrayed every hard-working family. Everyone knows the truth:
they are puppets of foreign masters. Can we really trust a government that lies every single day?

If this deal goes through, our children will grow up in a country they no longer recognise. Prices rose the very
week the agreement was announced, so the agreement is to blame for every empty shelf. Either you stand with the
people or you stand with the elites; there is no third way.

The ministry said the deal was signed on Tuesday, and that the first shipments would leave the port in May.
"""


@dataclass
class Results:
    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def ok(self, kind: str, seconds: float) -> None:
        with self.lock:
            self.latencies.setdefault(kind, []).append(seconds)

    def error(self, what: str) -> None:
        with self.lock:
            self.errors[what] = self.errors.get(what, 0) + 1


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def start_server(port: int, db: Path) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "unspin.cli.main", "serve", "--host", "127.0.0.1", "--port", str(port)]
    cmd += ["--db", f"sqlite:///{db}"]
    env = {k: v for k, v in os.environ.items() if k != "UNSPIN_API_KEY"}
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def wait_ready(host: str, port: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection(host, port, timeout=2)
            conn.request("GET", "/api/health")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"the server on {host}:{port} did not answer /api/health within {timeout:g} s")


def request(conn: http.client.HTTPConnection, method: str, path: str, body: bytes | None, headers: dict) -> tuple:
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    return response.status, response.read()


def seed(host: str, port: int, headers: dict) -> list[str]:
    conn = http.client.HTTPConnection(host, port, timeout=60)
    ids = []
    for i in range(5):
        body = json.dumps({"text": ARTICLE + f"\nSeed {i}."}).encode()
        status, data = request(conn, "POST", "/api/analyze", body, {**headers, "Content-Type": "application/json"})
        if status != 200:
            raise SystemExit(f"seeding failed: HTTP {status}: {data[:200]!r}")
        ids.append(json.loads(data)["id"])
    conn.close()
    return ids


OVERSIZED_CHARS = 2 * 1024 * 1024


def oversized_client(host: str, port: int, stop: float, headers: dict, results: Results) -> None:
    """Posts 2 MB texts back to back: they may run to the time limit, and must not slow the others."""
    body = json.dumps({"text": (ARTICLE * (OVERSIZED_CHARS // len(ARTICLE) + 1))[:OVERSIZED_CHARS]}).encode()
    hdrs = {**headers, "Content-Type": "application/json"}
    while time.monotonic() < stop:
        conn = http.client.HTTPConnection(host, port, timeout=300)
        started = time.perf_counter()
        try:
            status, _ = request(conn, "POST", "/api/analyze", body, hdrs)
        except (OSError, http.client.HTTPException) as err:
            results.error(f"oversized: {type(err).__name__}")
            continue
        finally:
            conn.close()
        if status in (200, 400, 413, 503, 504):  # 400/413: refused up front (over the text or body limit)
            results.ok(f"POST /api/analyze 2 MB → {status}", time.perf_counter() - started)
        else:
            results.error(f"oversized: HTTP {status}")


def client(host: str, port: int, stop: float, mix: str, ids: list[str], headers: dict, results: Results) -> None:
    rng = random.Random()
    conn = http.client.HTTPConnection(host, port, timeout=120)
    analyze_share = {"analyze": 1.0, "read": 0.0, "mixed": 0.2}[mix]
    while time.monotonic() < stop:
        roll = rng.random()
        if roll < analyze_share:
            kind, method, path = "POST /api/analyze", "POST", "/api/analyze"
            body = json.dumps({"text": ARTICLE + f"\nRequest {rng.random()}."}).encode()
            expect = 200
            hdrs = {**headers, "Content-Type": "application/json"}
        elif roll < analyze_share + (1 - analyze_share) / 2:
            kind, method, path, body, expect, hdrs = "GET /api/analyses/{id}", "GET", "", None, 200, headers
            path = f"/api/analyses/{rng.choice(ids)}"
        else:
            kind, method, path, body, expect, hdrs = "GET /a/{id} (page)", "GET", "", None, 200, headers
            path = f"/a/{rng.choice(ids)}"
        started = time.perf_counter()
        try:
            status, _ = request(conn, method, path, body, hdrs)
        except (OSError, http.client.HTTPException) as err:
            results.error(f"{kind}: {type(err).__name__}")
            conn.close()
            conn = http.client.HTTPConnection(host, port, timeout=120)
            continue
        elapsed = time.perf_counter() - started
        if status == expect:
            results.ok(kind, elapsed)
        else:
            results.error(f"{kind}: HTTP {status}")
    conn.close()


def percentile(values: list[float], q: float) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of load (at most 300)")
    parser.add_argument("--mix", choices=["mixed", "read", "analyze"], default="mixed")
    parser.add_argument("--url", help="an already running server on loopback, e.g. http://127.0.0.1:8000")
    parser.add_argument("--api-key", default=os.environ.get("UNSPIN_API_KEY"))
    parser.add_argument("--oversized", type=int, default=0, help="more clients posting 2 MB texts (at most 4)")
    args = parser.parse_args()
    clients = max(1, min(args.clients, MAX_CLIENTS))
    duration = max(1.0, min(args.duration, MAX_DURATION))
    headers = {"X-API-Key": args.api_key} if args.api_key else {}

    server = None
    tmp = tempfile.TemporaryDirectory(prefix="unspin-load-")
    if args.url:
        parsed = urllib.parse.urlsplit(args.url)
        host, port = parsed.hostname or "", parsed.port or 80
        if host != "localhost" and not ipaddress.ip_address(host).is_loopback:
            raise SystemExit("--url must point at a loopback address (127.0.0.1, ::1 or localhost)")
        pid = None
    else:
        host, port = "127.0.0.1", free_port()
        server = start_server(port, Path(tmp.name) / "load.db")
        pid = server.pid
    console = Console()
    try:
        wait_ready(host, port)
        ids = seed(host, port, headers)
        rss_before = rss_mb(pid) if pid else None
        results = Results()
        rss_peak = rss_before or 0.0
        stop = time.monotonic() + duration
        threads = [
            threading.Thread(target=client, args=(host, port, stop, args.mix, ids, headers, results), daemon=True)
            for _ in range(clients)
        ]
        threads += [
            threading.Thread(target=oversized_client, args=(host, port, stop, headers, results), daemon=True)
            for _ in range(max(0, min(args.oversized, 4)))
        ]
        started = time.monotonic()
        rss_series: list[tuple[float, float]] = []
        for t in threads:
            t.start()
        while any(t.is_alive() for t in threads):
            if pid:
                now_mb = rss_mb(pid) or 0.0
                rss_peak = max(rss_peak, now_mb)
                if not rss_series or time.monotonic() - started - rss_series[-1][0] >= 5:
                    rss_series.append((time.monotonic() - started, now_mb))
            time.sleep(0.5)
            if time.monotonic() > stop + 150:
                console.print("[yellow]some clients still wait for answers 150 s after the end; giving up[/]")
                break
        elapsed = time.monotonic() - started
        rss_after = rss_mb(pid) if pid else None
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
        tmp.cleanup()

    total = sum(len(v) for k, v in results.latencies.items() if "2 MB" not in k)
    errors = sum(results.errors.values())
    extra = f" + {args.oversized} oversized" if args.oversized else ""
    title = f"unspin web load: {clients} clients{extra}, {duration:g} s, mix={args.mix}, {os.cpu_count()} CPUs"
    table = Table(title=title)
    for col in ("request", "ok", "req/s", "p50 ms", "p95 ms", "max ms"):
        table.add_column(col, justify="right" if col != "request" else "left")
    for kind, values in sorted(results.latencies.items()):
        table.add_row(
            kind,
            str(len(values)),
            f"{len(values) / elapsed:.1f}",
            f"{1000 * percentile(values, 50):.1f}",
            f"{1000 * percentile(values, 95):.1f}",
            f"{1000 * max(values):.1f}",
        )
    everything = [x for k, v in results.latencies.items() if "2 MB" not in k for x in v]
    if everything:
        table.add_row(
            "all" if not args.oversized else "all but 2 MB",
            str(total),
            f"{total / elapsed:.1f}",
            f"{1000 * percentile(everything, 50):.1f}",
            f"{1000 * percentile(everything, 95):.1f}",
            f"{1000 * max(everything):.1f}",
            style="bold",
        )
    console.print(table)
    console.print(f"errors: {errors}" + (f"  {dict(results.errors)}" if errors else ""))
    if rss_before is not None:
        console.print(
            f"server RSS: {rss_before:.0f} MB after start-up and seeding, peak {rss_peak:.0f} MB, "
            f"{rss_after or 0:.0f} MB at the end"
        )
        console.print("server RSS over time: " + ", ".join(f"{t:.0f} s {mb:.0f} MB" for t, mb in rss_series))
    else:
        console.print("server RSS: not measured (server not started by this script)")


if __name__ == "__main__":
    main()
