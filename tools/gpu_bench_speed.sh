#!/usr/bin/env bash
# On the GPU machine: the speed and scale benchmarks of docs/benchmarks.md
# that need it, in stages that each fit one call (logs go to $OUT when set):
#   tools/gpu_bench_speed.sh build      qlab and qlab_bench only (tools/gpu_build.sh, no tests)
#   tools/gpu_bench_speed.sh generate   qlab's batched greedy generation at LLaMA-2-7B shape
#                                       (130 prompts x 256 tokens at batch 130 and 32; 8 at batch 1),
#                                       each decode path ($DECODE, default "auto dynamic": the CUDA
#                                       graph and the plain forward); TRACE=auto|dynamic adds a profiler
#                                       trace of 16 decode steps at batch 130, tabulated
#   tools/gpu_bench_speed.sh hf         transformers on the same workloads: default cache, then the
#                                       static cache with the forward compiled
#   tools/gpu_bench_speed.sh forward    the forward, qlab then transformers, at LLaMA-2-7B and LLaMA-3-8B
#                                       shapes, batch 1 and 4: logits, and the perplexity path (qlab's
#                                       rows also give + online Hadamards and W4A4KV4)
#   tools/gpu_bench_speed.sh compare    both in one call: the forward stage, then generation (qlab's
#                                       CUDA-graph decode, transformers' two caches)
#   tools/gpu_bench_speed.sh profile    where the time goes: a W4A4KV4 forward (tabulated, and its first
#                                       layer's kernels in order) and the GPTQ of one layer under the
#                                       profiler, and the bf16 forward at LLaMA-3-8B shape against transformers
#   tools/gpu_bench_speed.sh ostquant   one OSTQuant step at LLaMA-2-7B shape, batch 4 x 2048
#   tools/gpu_bench_speed.sh largest    QuaRot + GPTQ layer by layer at LLaMA-2-70B shape in 80 GB
#                                       (the allocator capped at 80 GiB), on the first layers
set -uo pipefail
build=build-gpu
out=${OUT:-/tmp}
deps=/tmp/qlab-deps
export LD_LIBRARY_PATH="$deps/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}"
bench=$build/qlab_bench
gen="--shape llama2-7b --prompt-len 40 --new 256"
case "${1:-}" in
  build)
    QLAB_SKIP_TESTS=1 QLAB_TARGETS="qlab qlab_bench" tools/gpu_build.sh "$build" > "$out/build.log" 2>&1 ||
      { tail -30 "$out/build.log"; exit 1; }
    tail -2 "$out/build.log" ;;
  generate)
    nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
    echo "| prompts | new tokens each | batch | decode | seconds | generated tokens/s | peak GiB |"
    echo "|---|---|---|---|---|---|---|"
    for decode in ${DECODE:-auto dynamic}; do
      $bench generate $gen --prompts 130 --batch 130 --decode "$decode" 2>>"$out/bench.err" | tail -1
      $bench generate $gen --prompts 130 --batch 32 --decode "$decode" 2>>"$out/bench.err" | tail -1
      $bench generate $gen --prompts 8 --batch 1 --decode "$decode" 2>>"$out/bench.err" | tail -1
    done
    if [[ -n "${TRACE:-}" ]]; then   # TRACE=auto|dynamic: 16 decode steps at batch 130 under the profiler
      $bench generate $gen --prompts 130 --batch 130 --decode "$TRACE" --trace "$out/decode_trace.json" \
        2>>"$out/bench.err" > /dev/null
      python3 tools/bench/trace_summary.py "$out/decode_trace.json" --top 20
    fi ;;
  hf)
    python3 tools/bench/hf_generate.py --prompts 130 --batch 130,32 --new 256 2>>"$out/hf.err"
    python3 tools/bench/hf_generate.py --prompts 8 --batch 1 --new 256 2>>"$out/hf.err" | tail -2 ;;
  forward)
    for shape in llama2-7b llama3-8b; do
      $bench forward --shape $shape --batch 1,4 --iters 5 2>>"$out/bench.err"
      python3 tools/bench/hf_forward.py --shape $shape --batch 1,4 2>>"$out/hf.err"
    done ;;
  compare)   # qlab and transformers side by side in one call: the forward at both shapes, then generation
    "$0" forward
    DECODE=auto "$0" generate
    # Where a whole-length decode step's time goes (the steady graph replays).
    $bench generate $gen --prompts 130 --batch 130 --trace "$out/steady.json" --trace-steps 256 \
      2>>"$out/bench.err" > /dev/null
    python3 tools/bench/trace_summary.py "$out/steady.json" --steady --top 12
    rm -f "$out/steady.json"
    "$0" hf ;;
  profile)
    $bench forward --shape llama2-7b --batch 1 --iters 3 --trace "$out/w4a4_trace.json" 2>>"$out/bench.err"
    python3 tools/bench/trace_summary.py "$out/w4a4_trace.json" --top 25 --sequence 30
    $bench pipeline --shape llama2-7b --layers 1 --nsamples 128 --seqlen 2048 --trace "$out/gptq_trace.json" \
      2>>"$out/bench.err"
    python3 tools/bench/trace_summary.py "$out/gptq_trace.json" --top 25
    rm -f "$out"/*_trace.json
    $bench forward --shape llama3-8b --batch 1,4 --iters 5 2>>"$out/bench.err"
    python3 tools/bench/hf_forward.py --shape llama3-8b --batch 1,4 2>>"$out/hf.err" ;;
  ostquant)
    $bench spinquant --shape llama2-7b --method ostquant --batch 4 --seqlen 2048 --steps 3 --rotation float64 --quant 1 \
      2>>"$out/bench.err" ;;
  largest)
    free -g | head -2
    # 80 GiB of the H200's 140: what an 80 GB card holds. Layers live on the CPU
    # and visit the GPU one at a time (the CPU holds the model: 8 layers here).
    $bench pipeline --shape llama2-70b --layers "${LAYERS:-8}" --nsamples 128 --seqlen 2048 --memory-fraction 0.57 \
      2>>"$out/bench.err" ;;
  *) echo "usage: tools/gpu_bench_speed.sh build|generate|hf|compare|profile|ostquant|largest"; exit 2 ;;
esac
