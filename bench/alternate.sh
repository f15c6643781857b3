#!/bin/bash
# Ours (F32, Q8_0) and llama.cpp (Q8_0, F32) on bench/data/llama-100m, alternately, three rounds, without waiting for a
# quiet machine (bench/model_compare.py waits); build bench/ModelBench and bench/LlamaCppBench in Release first.
# Each run times the first prefill after its warm-up and the median of 5 more (--prefills 6, the "prefill+" line).
# Ours runs as the Inference host runs it (TieredCompilation off: its csproj), and once more per round with .NET's
# default tiering, where the first prefill shares the cores with the JIT's tier-1 compiles (bench/README.md).
cd "$(dirname "$0")/.."
for round in 1 2 3; do
  for cfg in "ModelBench||0" "ModelBench|--weights q8_0|0" "LlamaCppBench|--weights q8_0|" "LlamaCppBench||" \
             "ModelBench||1" "ModelBench|--weights q8_0|1"; do
    proj=${cfg%%|*}; rest=${cfg#*|}; opt=${rest%%|*}; tiering=${rest#*|}
    label="$proj $opt"
    [ -n "$tiering" ] && label="$label (tiering $([ "$tiering" = 1 ] && echo on || echo off))"
    out=$(env ${tiering:+DOTNET_TieredCompilation=$tiering} dotnet bench/$proj/bin/Release/net10.0/$proj.dll bench/data/llama-100m 512 128 2 $opt --prefills 6 2>&1)
    echo "round $round $label :: $(echo "$out" | grep -E '^(load|prefill|decode|peak RSS)' | tr '\n' ' ')"
    echo "$out" | grep -E '^(logits|greedy)' | sed 's/^/    /'
  done
done
