#!/usr/bin/env bash
# The default study over three testbeds (issue "self-contained testbed":
# the qualitative claims with mean ± std over seeds). Testbed seed s
# (corpus, tokenizer, base and aligned models all drawn from it) is run with
# study seed s (the methods' rotations and calibration order), into one file.
#   tools/quickstart_seeds.sh [seeds...]     (default: 0 1 2)
set -euo pipefail
cd "$(dirname "$0")/.."
seeds=("$@"); [[ ${#seeds[@]} -gt 0 ]] || seeds=(0 1 2)
for s in "${seeds[@]}"; do
  dir=results/testbed; [[ $s == 0 ]] || dir=results/testbed-seed$s
  build/qlab testbed --seed "$s" --out "$dir"
  build/qlab run experiments/quickstart.yaml output=results/quickstart_seeds.h5 seed="$s" \
    model.path="$dir/aligned" base_model.path="$dir/base" data_root="$dir/corpus"
done
# The testbed's folders differ from seed to seed: they are replicates, not configurations.
build/qlab report results/quickstart_seeds.h5 --rows method,tags.precision \
  --replicate model.path,base_model.path,data_root \
  --cols perplexity.ppl,harmful.refusal_rate,benign.refusal_rate,nmix_es.line_pass_rate,nmix_ru.line_pass_rate
