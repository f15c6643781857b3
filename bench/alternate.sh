#!/bin/bash
# Ours (F32, Q8_0) and llama.cpp (Q8_0, F32) on bench/data/llama-100m, alternately, three rounds, without waiting for a
# quiet machine (bench/model_compare.py waits); build bench/ModelBench and bench/LlamaCppBench in Release first.
# Each run times the first prefill after its warm-up and the median of 5 more (--prefills 6, the "prefill+" line).
cd "$(dirname "$0")/.."
for round in 1 2 3; do
  for cfg in "ModelBench|" "ModelBench|--weights q8_0" "LlamaCppBench|--weights q8_0" "LlamaCppBench|"; do
    proj=${cfg%%|*}; opt=${cfg#*|}
    out=$(dotnet bench/$proj/bin/Release/net10.0/$proj.dll bench/data/llama-100m 512 128 2 $opt --prefills 6 2>&1)
    echo "round $round $proj $opt :: $(echo "$out" | grep -E '^(load|prefill|decode|peak RSS)' | tr '\n' ' ')"
    echo "$out" | grep -E '^(logits|greedy)' | sed 's/^/    /'
  done
done
