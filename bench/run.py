#!/usr/bin/env python3
"""Clean/format benchmark: flm against the seed tutorial's cleaner on the same records, side by side.

usage: bench/run.py [N] [REPEATS]   (default 1,000,000 records (~350 MB) and 3 interleaved runs of each cleaner;
       data and outputs under bench/data/, git-ignored)
Prints one Markdown table row per step: wall time, records/s, peak RSS (from getrusage of the child).
"""
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "bench", "data")
SEED = os.path.join(ROOT, "..", "shared", "bench", "seed_clean.py")
FLM = os.path.join(ROOT, "flm")


def measure(label, args, records):
    """Runs one command; wall time and the peak RSS of that process (wait4 gives its own rusage)."""
    start = time.perf_counter()
    with open(os.devnull, "w") as devnull, subprocess.Popen(args, stdout=devnull, stderr=subprocess.PIPE, text=True) as process:
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        error = process.stderr.read()
    if process.returncode != 0:
        sys.exit(f"{label} failed ({process.returncode}):\n{error}")
    print(f"| {label} | {elapsed:.2f} s | {records / elapsed:,.0f} | {usage.ru_maxrss / 1024:.0f} MB |", flush=True)
    return elapsed


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    os.makedirs(DATA, exist_ok=True)
    prefix = os.path.join(DATA, f"records-{n}")
    if not os.path.exists(prefix + ".json"):
        subprocess.run([sys.executable, os.path.join(ROOT, "bench", "generate.py"), str(n), prefix], check=True)
    size_mb = os.path.getsize(prefix + ".jsonl") / 1e6
    print(f"{n:,} records, {size_mb:.0f} MB JSONL / {os.path.getsize(prefix + '.json') / 1e6:.0f} MB JSON array, {os.cpu_count()} cores\n")
    subprocess.run([FLM, "--help"], stdout=subprocess.DEVNULL, check=True)  # build first, outside the timings

    print("| step | wall | records/s | peak RSS |")
    print("| --- | --- | --- | --- |")
    flm_runs, seed_runs = [], []
    for _ in range(repeats):  # interleaved, so a slow spell of the machine hits both sides
        flm_runs.append(measure("flm clean (JSON array)", [FLM, "clean", prefix + ".json", "--out", os.path.join(DATA, "flm-array")], n))
        seed_runs.append(measure("seed_clean.py (JSON array)", [sys.executable, SEED, prefix + ".json", os.path.join(DATA, "seed-out.json")], n))
    measure("flm clean (JSONL)", [FLM, "clean", prefix + ".jsonl", "--out", os.path.join(DATA, "flm-jsonl")], n)
    kept = sum(1 for _ in open(os.path.join(DATA, "flm-jsonl", "cleaned.jsonl"), encoding="utf-8"))
    measure("flm format --template seed (cleaned records)", [FLM, "format", os.path.join(DATA, "flm-jsonl", "cleaned.jsonl"),
            "--model", os.path.join(ROOT, "samples", "tokenizer"), "--out", os.path.join(DATA, "flm-format")], kept)
    flm_best, seed_best = min(flm_runs), min(seed_runs)
    flm_median, seed_median = sorted(flm_runs)[len(flm_runs) // 2], sorted(seed_runs)[len(seed_runs) // 2]
    print(f"\nflm clean vs seed_clean.py on the same JSON array: best {seed_best / flm_best:.1f}x "
          f"({flm_best:.2f} s vs {seed_best:.2f} s), median {seed_median / flm_median:.1f}x ({flm_median:.2f} s vs {seed_median:.2f} s)")


if __name__ == "__main__":
    main()
