#!/usr/bin/env python3
"""Model benchmark: our decoder (bench/ModelBench) against llama.cpp (bench/LlamaCppBench) on the same F32 model.

usage: bench/model_compare.py [REPEATS] [-- extra LlamaCppBench options, e.g. --flash-attention on, --weights q8_0]
Builds both (one after the other), then runs them alternately REPEATS times each. The machine is shared: before each
run it waits (up to 10 minutes) for 3 seconds of idle CPUs, and it measures how much CPU other
processes took during the run (busy time from /proc/stat minus the child's own rusage); runs where others took more
than 10% of one core are reported and repeated, up to 3 times. Prints every run, then the median of each metric.
"""
import os
import re
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TICK = os.sysconf("SC_CLK_TCK")
BENCHES = {
    "ours": os.path.join(ROOT, "bench", "ModelBench", "bin", "Release", "net10.0", "ModelBench.dll"),
    "llama.cpp": os.path.join(ROOT, "bench", "LlamaCppBench", "bin", "Release", "net10.0", "LlamaCppBench.dll"),
}
METRICS = {
    "load s": r"load\s+([\d.]+) s",
    "prefill tok/s": r"prefill .*= ([\d.]+) tokens/s",
    "decode tok/s": r"decode .*: ([\d.]+) tokens/s",
    "median step ms": r"median step ([\d.]+) ms",
    "peak RSS MB": r"peak RSS\s+(\d+) kB",
}


def busy_seconds():
    fields = [int(v) for v in open("/proc/stat").readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / TICK


def wait_for_quiet(limit=600):
    """Until the CPUs were at least 95% idle over 3 seconds (other engineers build on this machine too)."""
    start = time.time()
    while time.time() - start < limit:
        busy = busy_seconds()
        time.sleep(3)
        if (busy_seconds() - busy) / (3 * os.cpu_count()) < 0.05:
            return


def run(name, extra):
    wait_for_quiet()
    busy, start = busy_seconds(), time.perf_counter()
    process = subprocess.Popen(["dotnet", BENCHES[name], *extra], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    output = process.stdout.read()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{name} failed:\n{output}")
    others = busy_seconds() - busy - usage.ru_utime - usage.ru_stime
    values = {metric: float(m.group(1)) for metric, pattern in METRICS.items() if (m := re.search(pattern, output))}
    values["peak RSS MB"] = values.get("peak RSS MB", 0) / 1024
    return values, others / wall, output


def ours_options(extra):
    """The options ModelBench takes too: the weight type (--weights q8_0)."""
    at = extra.index("--weights") if "--weights" in extra else -1
    return extra[at:at + 2] if at >= 0 else []


def main():
    argv = sys.argv[1:]
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    repeats = int(argv[0]) if argv and argv[0] != "--" else 5
    for project in ("ModelBench", "LlamaCppBench"):
        subprocess.run(["dotnet", "build", os.path.join(ROOT, "bench", project), "-c", "Release", "-v", "q", "-tl:off", "--nologo"],
                       check=True, stdout=subprocess.DEVNULL)
    results = {name: [] for name in BENCHES}
    for i in range(repeats):
        for name in BENCHES:
            for attempt in range(3):
                values, others, output = run(name, extra if name == "llama.cpp" else ours_options(extra))
                row = "  ".join(f"{metric} {value:.2f}" for metric, value in values.items())
                print(f"{name:10} run {i + 1}: {row}  (others' CPU {others:.0%} of a core)", flush=True)
                if others <= 0.10:
                    results[name].append(values)
                    break
            if name == "llama.cpp":
                for m in re.finditer(r"^(logits|greedy).*$", output, re.M):
                    print(f"           {m.group(0)}")
    print(f"\nmedians over {repeats} runs each:")
    print("| | " + " | ".join(METRICS) + " |")
    print("| --- |" + " --- |" * len(METRICS))
    for name, runs in results.items():
        cells = [f"{statistics.median(r[m] for r in runs):.2f}" if runs else "-" for m in METRICS]
        print(f"| {name} ({len(runs)} clean runs) | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
