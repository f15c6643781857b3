#!/bin/bash
# Issue 21's whole side-by-side in one run: ours and llama.cpp alternately (alternate.sh), the serve bench and the
# chunked-prefill bench twice each as the Inference host runs (tiering off) and once with .NET's default tiering,
# llama.cpp's own 8 streams (LlamaCppBench --streams) and the 8-row step's floors (ModelBench --floors) beside each
# serve run, one-prefill runs for the peak RSS, and the kernels. Prints the load average before each part. Build bench/ModelBench
# and bench/LlamaCppBench in Release first.
cd "$(dirname "$0")/.."
B="dotnet bench/ModelBench/bin/Release/net10.0/ModelBench.dll"
stamp() { echo "=== $(date -u +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg) :: $*"; }
stamp alternate; bash bench/alternate.sh
L="dotnet bench/LlamaCppBench/bin/Release/net10.0/LlamaCppBench.dll"
for i in 1 2; do
  stamp serve tiering-off $i; DOTNET_TieredCompilation=0 $B serve bench/data/llama-100m 8 64 128 2 2>&1 | grep -v '^\s*$'
  stamp llama.cpp streams $i; $L bench/data/llama-100m 64 128 2 --streams 8 2>&1 | grep -E '^streams'
  stamp floors $i; DOTNET_TieredCompilation=0 $B bench/data/llama-100m 512 128 2 --floors 2>&1 | grep -v '^\s*$'
done
stamp serve tiering-on; $B serve bench/data/llama-100m 8 64 128 2 2>&1 | grep -v '^\s*$'
for i in 1 2; do stamp chunked tiering-off $i; DOTNET_TieredCompilation=0 $B chunked bench/data/llama-100m 4 2000 2 128:0.75 2>&1; done
stamp chunked tiering-on; $B chunked bench/data/llama-100m 4 2000 2 128:0.75 2>&1
for i in 1 2; do for w in "" "--weights q8_0"; do
  stamp "one prefill $w"; $B bench/data/llama-100m 512 128 2 $w 2>&1 | grep -E '^(load|prefill|decode|peak)' | tr '\n' ' '; echo
done; done
stamp kernels; $B kernels 2 2>&1
stamp done
