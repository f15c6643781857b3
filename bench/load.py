#!/usr/bin/env python3
"""Load test of `flm serve` over loopback HTTP (issue 17).

CLIENTS threads each send REQUESTS chat completions, alternately streamed and not; every 7th request of every 4th
client reads the first chunk of its stream and hangs up. Reports status counts, p50/p99 latency of the completed
requests, the server's RSS after warm-up, during and at the end (from /proc), and /health's active sequences once
every client is done.

    python3 bench/load.py [model dir] [clients] [requests per client]
"""
import http.client
import json
import os
import re
import statistics
import subprocess
import sys
import threading
import time

MODEL = sys.argv[1] if len(sys.argv) > 1 else "samples/base-model"
CLIENTS = int(sys.argv[2]) if len(sys.argv) > 2 else 32
REQUESTS = int(sys.argv[3]) if len(sys.argv) > 3 else 50
KEY = "load-test-key"


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def request(port, i, stream, hang_up=False):
    body = json.dumps({
        "messages": [{"role": "user", "content": f"第 {i} 个问题：请问怎么退货？"}],
        "max_tokens": 32, "temperature": 0.8, "seed": i, "stream": stream,
    })
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    started = time.perf_counter()
    try:
        connection.request("POST", "/v1/chat/completions", body,
                           {"Content-Type": "application/json", "Authorization": f"Bearer {KEY}"})
        response = connection.getresponse()
        if hang_up:
            response.read(64)
            return ("hung up", None)
        text = response.read().decode()
        if response.status == 200 and stream and not text.rstrip().endswith("data: [DONE]"):
            return ("unfinished stream", None)
        return (response.status, time.perf_counter() - started)
    except Exception as e:  # a dropped connection is an error, not a status
        return (f"error: {type(e).__name__}", None)
    finally:
        connection.close()


def main():
    serve = subprocess.Popen(["./flm", "serve", "--model", MODEL, "--port", "0", "--api-key", KEY],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    port = None
    for line in serve.stdout:
        match = re.search(r"serving '[^']+' on http://127\.0\.0\.1:(\d+)/", line)
        if match:
            port = int(match.group(1))
            break
    if port is None:
        sys.exit("flm serve did not start")
    threading.Thread(target=lambda: [None for _ in serve.stdout], daemon=True).start()
    pid = serve.pid
    for i in range(16):  # warm-up
        request(port, 10_000 + i, stream=i % 2 == 0)
    rss = [("after warm-up", rss_mb(pid))]

    results = []
    lock = threading.Lock()
    done = [0]

    def client(c):
        for r in range(REQUESTS):
            outcome = request(port, c * 1000 + r, stream=r % 2 == 0, hang_up=(c % 4 == 0 and r % 7 == 3))
            with lock:
                results.append(outcome)
                done[0] += 1
                if done[0] % (CLIENTS * REQUESTS // 4) == 0:
                    rss.append((f"after {done[0]} requests", rss_mb(pid)))

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(c,)) for c in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    time.sleep(1)
    health = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    health.request("GET", "/health")
    active = json.loads(health.getresponse().read())["active_sequences"]
    rss.append(("at the end", rss_mb(pid)))
    serve.terminate()
    serve.wait(timeout=60)

    counts = {}
    for status, _ in results:
        counts[status] = counts.get(status, 0) + 1
    latencies = sorted(t for status, t in results if status == 200)
    errors = sum(n for status, n in counts.items() if status not in (200, 429, "hung up"))
    p = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))]
    print(f"model {MODEL}: {CLIENTS} clients x {REQUESTS} requests in {wall:.1f} s ({len(results) / wall:.1f} requests/s)")
    print("outcomes: " + ", ".join(f"{k}: {v}" for k, v in sorted(counts.items(), key=str)))
    print(f"latency of completed requests: p50 {statistics.median(latencies) * 1000:.0f} ms, p99 {p(0.99) * 1000:.0f} ms")
    print("server RSS: " + ", ".join(f"{label} {mb:.0f} MB" for label, mb in rss))
    growth = rss[-1][1] / rss[0][1] - 1
    print(f"RSS growth after warm-up: {growth * 100:+.1f}%; /health active sequences at the end: {active}")
    print(f"flm serve exit code after SIGTERM: {serve.returncode}")
    ok = errors == 0 and active == 0 and abs(growth) <= 0.10 and serve.returncode == 0
    print("PASS" if ok else "FAIL")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
