#!/usr/bin/env bash
# The README's first command, after install and build: converts the real tiny
# model stories260K (../shared/data) to a Hugging Face checkpoint, runs the
# default study and prints its table.
set -euo pipefail
cd "$(dirname "$0")/.."
data=${QLAB_SHARED_DATA:-../shared/data}
mkdir -p results
[[ -f results/stories260K-hf/config.json ]] || build/qlab convert --from llama2c "$data/stories260K/stories260K.bin" \
  --tokenizer "$data/stories260K/tok512.model" --out results/stories260K-hf
build/qlab run experiments/quickstart.yaml
build/qlab report results/quickstart.h5 --rows method --cols perplexity.ppl,perplexity.windows
