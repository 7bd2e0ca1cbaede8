#!/usr/bin/env bash
# The README's first command, after install and build (of the `qlab` target).
#   tools/quickstart.sh            builds the testbed (a generated corpus, a base
#                                  model and an aligned one trained from it, cached
#                                  in results/testbed), runs the default study
#                                  experiments/quickstart.yaml, prints its table
#                                  and writes its HTML report (table and plots)
#                                  to results/quickstart.html; needs nothing but
#                                  the repository
#   tools/quickstart.sh --stories  the second example: the real tiny stories260K
#                                  from ../shared/data (QLAB_SHARED_DATA), perplexity only
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p results
if [[ "${1:-}" == --stories ]]; then
  data=${QLAB_SHARED_DATA:-../shared/data}
  [[ -f results/stories260K-hf/config.json ]] || build/qlab convert --from llama2c "$data/stories260K/stories260K.bin" \
    --tokenizer "$data/stories260K/tok512.model" --out results/stories260K-hf
  build/qlab run experiments/stories260k.yaml
  build/qlab report results/stories260k.h5 --rows method --cols perplexity.ppl,perplexity.windows
  exit 0
fi
build/qlab testbed --out results/testbed
build/qlab run experiments/quickstart.yaml
columns=(--rows method,tags.precision
  --cols perplexity.ppl,harmful.refusal_rate,benign.refusal_rate,nmix_es.line_pass_rate,nmix_ru.line_pass_rate)
build/qlab report results/quickstart.h5 "${columns[@]}"
build/qlab report results/quickstart.h5 "${columns[@]}" --format html --out results/quickstart.html
