#!/usr/bin/env bash
# The sweep-expansion benchmark of docs/benchmarks.md ("Expanding a large
# sweep"): writes a study of N runs and times `qlab run STUDY --dry-run` on it,
# printing the wall time and peak resident memory that /usr/bin/time -v reports.
#
#   tools/bench/sweep_expansion.sh perplexity N [WORKDIR]
#       a one-axis grid of N values of the perplexity evaluator's max_windows
#       over one RTN step; the model a checkpoint folder and one data file
#       (stand-ins: a dry run fingerprints them, it never loads them)
#   tools/bench/sweep_expansion.sh constant N [WORKDIR]
#       a grid of N values of the test plugin's test_constant evaluator (no
#       model, data set or method), listed against a results file that holds
#       the first 10 runs complete (made here by running a 10-value study)
#
# QLAB (default build/qlab) and QLAB_TEST_PLUGINS (default
# build/tests/fixture_plugins/libqlab_test_plugins.so) name the binaries;
# WRAP prefixes the timed command (WRAP="perf record -g -o /tmp/perf.data").
set -euo pipefail
cd "$(dirname "$0")/../.."
kind=${1:?perplexity or constant}
n=${2:?number of runs}
work=${3:-$(mktemp -d /tmp/qlab-sweep-bench.XXXXXX)}
qlab=$(realpath "${QLAB:-build/qlab}")
plugins=$(realpath "${QLAB_TEST_PLUGINS:-build/tests/fixture_plugins/libqlab_test_plugins.so}")
mkdir -p "$work"
cd "$work"

# "[1, 2, ..., COUNT]"
values() { seq -s, 1 "$1" | sed 's/,/, /g; s/^/[/; s/$/]/'; }

case "$kind" in
  perplexity)
    mkdir -p model
    echo '{"hidden_size": 8}' > model/config.json
    echo 'stand-in weights' > model/model.safetensors
    seq 1 1000 | sed 's/^/line of text /' > data.txt
    cat > study.yaml <<EOF
name: sweep-bench
output: results/sweep-bench.h5
model: {path: model}
datasets:
  wiki: {text: {path: data.txt}}
method:
  - rtn: {w_bits: 4}
evaluators:
  - perplexity: {dataset: wiki, seqlen: 64}
sweep:
  grid:
    evaluators.0.perplexity.max_windows: $(values "$n")
EOF
    extra=()
    ;;
  constant)
    study() {   # study COUNT: the grid over the first COUNT values
      printf 'name: sweep-bench\noutput: results/sweep-bench.h5\nmethod: []\nevaluators:\n  - test_constant: {}\n'
      printf 'sweep:\n  grid:\n    evaluators.0.test_constant.value: %s\n' "$(values "$1")"
    }
    extra=(--plugin "$plugins")
    study 10 > first10.yaml
    rm -rf results
    "$qlab" run first10.yaml -q "${extra[@]}" > /dev/null
    study "$n" > study.yaml
    ;;
  *)
    echo "unknown benchmark '$kind' (perplexity or constant)" >&2
    exit 2
    ;;
esac

${WRAP:-} /usr/bin/time -v "$qlab" run study.yaml --dry-run "${extra[@]}" > listing.txt 2> time.txt
tail -1 listing.txt
grep -E "Elapsed \(wall clock\)|Maximum resident" time.txt
