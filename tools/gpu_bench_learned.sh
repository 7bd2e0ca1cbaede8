#!/usr/bin/env bash
# On the GPU machine, in one call: build (tools/gpu_build.sh), run the CUDA
# and learned-transform tests, then the learned-rotation benchmarks at
# LLaMA-2-7B shape (random weights, bf16): a SpinQuant step and its breakdown
# per rotation dtype, attach + bake against the W4A4KV4 forward, recorded in
# docs/benchmarks.md. Logs go to $OUT when set.
#   tools/gpu_bench_learned.sh [build-dir]
set -uo pipefail
build=${1:-build-gpu}
out=${OUT:-/tmp}
QLAB_SKIP_TESTS=1 tools/gpu_build.sh "$build" > "$out/build.log" 2>&1 || { tail -30 "$out/build.log"; exit 1; }
tail -3 "$out/build.log"
(cd "$build" && ctest -j8 --output-on-failure -R 'Cuda|Train|Gradients|Cayley|Optimisers|Invariance|Rotation|SavedOps|QuantizeCli') \
  > "$out/ctest.log" 2>&1
grep -E "tests passed|Failed|FAILED" "$out/ctest.log" | tail -15
nvidia-smi --query-gpu=name,memory.total,clocks.sm --format=csv,noheader
bench=$build/qlab_bench
first=3
for args in "--rotation float64 --quant 1" "--rotation float32 --quant 1" "--rotation tf32 --quant 1" \
            "--rotation float32 --quant 0" "--rotation tf32 --quant 0"; do
  $bench spinquant --shape llama2-7b --batch 8 --seqlen 2048 --steps 3 $args 2>>"$out/bench.err" | tail -$first
  first=1
done
for method in respinquant aaq; do
  b=8; [[ $method == aaq ]] && b=4   # AAQ's batch is 4 x 2048
  $bench spinquant --shape llama2-7b --method $method --batch $b --seqlen 2048 --steps 3 --rotation float64 --quant 1 \
    2>>"$out/bench.err" | tail -1
done
# AAQ with its teachers' top-K targets computed once and the teachers freed
# (--teacher cached) against both teachers resident (above).
$bench spinquant --shape llama2-7b --method aaq --teacher cached --batch 4 --seqlen 2048 --steps 3 --rotation float64 --quant 1 \
  2>>"$out/bench.err" | tail -1
$bench transitions --shape llama3-8b --rank 32 --batch 1,16 2>>"$out/bench.err"
$bench pipeline --shape llama2-7b --gptq 0 2>>"$out/bench.err"
$bench forward --shape llama2-7b --batch 1,4 --iters 5 2>>"$out/bench.err"
