#!/usr/bin/env bash
# Rebuilds samples/base-model: a ~3M-parameter Qwen2-shaped model trained from scratch (full-parameter mode) on
# samples/base-corpus/corpus.jsonl with the demo tokenizer. Deterministic for a given machine and thread count.
set -euo pipefail
cd "$(dirname "$0")/.."
work=out/base-model-build
rm -rf "$work"
mkdir -p "$work/init"
cp samples/base-corpus/config.json samples/base-corpus/generation_config.json samples/tokenizer/tokenizer.json \
   samples/tokenizer/tokenizer_config.json "$work/init/"
./flm clean samples/base-corpus/corpus.jsonl --out "$work/clean" --dedup none --min-output-chars 1 >/dev/null
./flm format "$work/clean/cleaned.jsonl" --model "$work/init" --template chat --eval-fraction 0.05 --out "$work/data" >/dev/null
./flm train --full --model "$work/init" --data "$work/data" --out "$work/run" \
  --epochs "${EPOCHS:-30}" --batch-size 16 --grad-accum 1 --lr "${LR:-4e-3}" --warmup-ratio 0.05 --scheduler cosine \
  --max-seq-len 256 --group-by-length false --logging-steps 20 --eval-steps 100 --save-steps 100 --save-total-limit 1 --seed 42
rm -rf samples/base-model
cp -r "$work/run/model" samples/base-model
# Pre-trained on 256-token sequences, but its 512 positions serve fine-tuning on the samples' longer conversations.
sed -i 's/"model_max_length": 256,/"model_max_length": 512,/' samples/base-model/tokenizer_config.json
du -sh samples/base-model
