#!/usr/bin/env bash
# On the GPU machine: the GPU testbed (issue "self-contained testbed", item 5)
# and the checks that need transformers, in stages that each fit one call:
#   tools/gpu_testbed.sh build     build qlab (tools/gpu_build.sh, no tests)
#   tools/gpu_testbed.sh pair      qlab testbed --size gpu --device cuda (resumes if interrupted),
#                                  then tools/golden/check_trained.py on the base and aligned models
#   tools/gpu_testbed.sh study     experiments/testbed_gpu.yaml on one GPU, through --gpus all, and its table
#   tools/gpu_testbed.sh bench     the AAQ step with resident vs cached teachers at LLaMA-2-7B shape
# Logs go to $OUT when set. The build folder is build-gpu.
set -uo pipefail
build=build-gpu
out=${OUT:-/tmp}
deps=/tmp/qlab-deps
export LD_LIBRARY_PATH="$deps/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}"
export QLAB_TEXTCAT_DIR="$deps/usr/share/libexttextcat"
export QLAB_ENGLISH_WORDS="$deps/usr/share/dict/american-english"   # wamerican, the LCB word list
case "${1:-}" in
  build)
    QLAB_SKIP_TESTS=1 tools/gpu_build.sh "$build" > "$out/build.log" 2>&1 || { tail -30 "$out/build.log"; exit 1; }
    tail -2 "$out/build.log" ;;
  pair)
    /usr/bin/time -v "$build/qlab" testbed --size gpu --device cuda --out results/testbed-gpu 2> "$out/testbed.log" |
      tail -4
    grep -E "train: [0-9]+ parameters|Elapsed|Maximum resident" "$out/testbed.log"
    grep -E "step [0-9]+/[0-9]+ " "$out/testbed.log" | tail -1
    for m in base aligned; do python3 tools/golden/check_trained.py "$build/qlab" results/testbed-gpu/$m cuda; done ;;
  study)
    "$build/qlab" run experiments/testbed_gpu.yaml --gpus all > "$out/study.log" 2>&1; echo "qlab run exit $?"
    tail -3 "$out/study.log"
    "$build/qlab" report results/testbed_gpu*.h5 --rows method,tags.precision \
      --cols perplexity.ppl,harmful.refusal_rate,benign.refusal_rate,nmix_es.line_pass_rate,nmix_ru.line_pass_rate
    "$build/qlab" run experiments/testbed_gpu.yaml --gpus 1 2>&1 | tail -1 ;;
  bench)
    for teacher in resident cached; do
      "$build/qlab_bench" spinquant --shape llama2-7b --method aaq --teacher $teacher --batch 4 --seqlen 2048 --steps 3 \
        --rotation float64 --quant 1 2>>"$out/bench.err" | tail -1
    done ;;
  *) echo "usage: tools/gpu_testbed.sh build|pair|study|bench"; exit 2 ;;
esac
