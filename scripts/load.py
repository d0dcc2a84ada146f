#!/usr/bin/env python3
"""A small, bounded load test for a running billing-identity on this machine.

Hits GET /healthz and GET /readyz from a few threads for a fixed time and prints requests
per second and latency percentiles. Standard library only. Loopback addresses only: this is
for measuring your own server, never someone else's.

    cargo run --release &            # or any running instance on loopback
    python3 scripts/load.py --seconds 10 --threads 4
"""

import argparse
import ipaddress
import socket
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

MAX_SECONDS = 120
MAX_THREADS = 64


def loopback_only(base):
    host = urllib.parse.urlsplit(base).hostname or ""
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except socket.gaierror as e:
        sys.exit(f"cannot resolve {host!r}: {e}")
    for address in addresses:
        if not ipaddress.ip_address(address.split("%")[0]).is_loopback:
            sys.exit(f"refusing {base}: {host} is not a loopback address ({address})")


def worker(url, deadline, latencies, errors, lock):
    mine, failed = [], 0
    while time.monotonic() < deadline:
        start = time.perf_counter()
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                response.read()
                ok = response.status == 200
        except (urllib.error.URLError, OSError):
            ok = False
        if ok:
            mine.append(time.perf_counter() - start)
        else:
            failed += 1
    with lock:
        latencies.extend(mine)
        errors[0] += failed


def percentile(sorted_values, p):
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, int(round(p / 100 * (len(sorted_values) - 1))))
    return sorted_values[index]


def run(base, path, seconds, threads):
    url = base.rstrip("/") + path
    latencies, errors, lock = [], [0], threading.Lock()
    deadline = time.monotonic() + seconds
    pool = [
        threading.Thread(target=worker, args=(url, deadline, latencies, errors, lock))
        for _ in range(threads)
    ]
    started = time.monotonic()
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    elapsed = time.monotonic() - started
    latencies.sort()
    ms = lambda p: percentile(latencies, p) * 1000  # noqa: E731
    print(
        f"{path:<10} {len(latencies) / elapsed:9.1f} req/s  ok {len(latencies):7d}  "
        f"errors {errors[0]:5d}  p50 {ms(50):6.2f} ms  p90 {ms(90):6.2f} ms  "
        f"p99 {ms(99):6.2f} ms  max {ms(100):6.2f} ms"
    )
    return errors[0]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="http://127.0.0.1:8080", help="loopback URL of the server")
    parser.add_argument("--seconds", type=float, default=10, help=f"per endpoint, at most {MAX_SECONDS}")
    parser.add_argument("--threads", type=int, default=4, help=f"concurrent clients, at most {MAX_THREADS}")
    parser.add_argument("--paths", default="/healthz,/readyz", help="comma-separated GET paths")
    args = parser.parse_args()
    loopback_only(args.base)
    seconds = max(1.0, min(args.seconds, MAX_SECONDS))
    threads = max(1, min(args.threads, MAX_THREADS))
    print(f"{args.base}: {threads} threads, {seconds:g} s per path (urllib, one connection per request)")
    failures = sum(run(args.base, p.strip(), seconds, threads) for p in args.paths.split(",") if p.strip())
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
