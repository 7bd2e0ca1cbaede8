// Benchmarks at real model shapes with random weights made on the device
// (no checkpoint on disk): the forward pass (perplexity-style windows, bf16,
// optionally W4A4KV4 fake-quantized with QuaRot's online Hadamards) and the
// QuaRot + GPTQ pipeline. Prints a table; docs/benchmarks.md records results.
//
//   qlab_bench forward  [--shape llama2-7b] [--seqlen 2048] [--batch 1,4] [--iters 5] [--trace FILE]
//                       (--trace: one W4A4KV4 forward at the first batch size under the profiler)
//   qlab_bench pipeline [--shape llama2-7b] [--nsamples 128] [--seqlen 2048] [--layers N]
//                       [--memory-fraction F] [--trace FILE] (--trace: the GPTQ stage profiled)
//   qlab_bench generate [--shape llama2-7b] [--prompts 520] [--prompt-len 40] [--new 512] [--batch 64]
//                       [--decode auto|dynamic|fixed] [--trace FILE [--trace-steps 16]]
//                       (AdvBench-sized refusal evaluation: every row generates all --new tokens;
//                        one batch first, untimed, as tools/bench/hf_generate.py warms up;
//                        --trace: afterwards one batch of --trace-steps tokens under the profiler,
//                        written as a Chrome trace that tools/bench/trace_summary.py tabulates)
//   qlab_bench spinquant [--shape llama2-7b] [--batch 8] [--seqlen 2048] [--steps 3]
//                        [--rotation float64|float32|tf32] [--quant 1]
//                        [--method spinquant|respinquant|ostquant|aaq]
//                        (one SpinQuant training step: R1 + per-layer R2 as weight ops,
//                         W16A4KV4 fake quantizers, per-layer recomputation; with its breakdown;
//                         respinquant: per-layer bases and exact transitions; ostquant: R1, R2 per
//                         KV head and the smoothing scales (plugins/common/learned_transforms.h),
//                         Riemannian Adam, KL to the same network with quantizers off; aaq: the APC
//                         loss against a full-precision teacher and a perturbed base, both resident)
//   qlab_bench transitions [--shape llama3-8b] [--rank 32] [--batch 1,16]
//                        (W4A4KV4 forward with ReSpinQuant's rank-r online transitions vs without)
#include <torch/csrc/autograd/profiler_kineto.h>
#include <torch/nn/functional/loss.h>
#if QLAB_BENCH_CUDA   // set by CMake when LibTorch has CUDA (Debian's is CPU-only)
#include <c10/cuda/CUDACachingAllocator.h>
#endif

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/allocator.h"
#include "core/learn/apc_loss.h"
#include "core/learn/stiefel.h"
#include "core/model/generate.h"
#include "core/model/linear_blocks.h"
#include "core/model/model.h"
#include "core/quant/hadamard.h"
#include "core/quant/online.h"
#include "core/quant/quantize_model.h"
#include "core/quant/rotation.h"
#include "core/tensor.h"
#include "plugins/common/learned.h"
#include "plugins/common/learned_transforms.h"

using namespace qlab;

namespace {

ModelConfig shape(const std::string& name) {
  ModelConfig c;
  c.architecture = "LlamaForCausalLM";
  c.model_type = "llama";
  c.rms_norm_eps = 1e-5;
  c.max_position = 4096;
  if (name == "llama2-7b") {
    c.vocab_size = 32000, c.hidden_size = 4096, c.intermediate_size = 11008, c.num_layers = 32;
    c.num_heads = 32, c.num_kv_heads = 32;
  } else if (name == "llama3-8b") {
    c.vocab_size = 128256, c.hidden_size = 4096, c.intermediate_size = 14336, c.num_layers = 32;
    c.num_heads = 32, c.num_kv_heads = 8, c.rope.theta = 500000;
  } else if (name == "small") {   // timing on the CPU: LLaMA-2's proportions, 1/8 of its width
    c.vocab_size = 32000, c.hidden_size = 512, c.intermediate_size = 1376, c.num_layers = 2;
    c.num_heads = 4, c.num_kv_heads = 4;
  } else if (name == "tiny") {   // for checking a benchmark on the CPU
    c.vocab_size = 256, c.hidden_size = 64, c.intermediate_size = 160, c.num_layers = 2;
    c.num_heads = 4, c.num_kv_heads = 2;
  } else if (name == "llama2-70b") {
    c.vocab_size = 32000, c.hidden_size = 8192, c.intermediate_size = 28672, c.num_layers = 80;
    c.num_heads = 64, c.num_kv_heads = 8;
  } else {
    throw std::runtime_error("unknown shape " + name);
  }
  c.head_dim = c.hidden_size / c.num_heads;
  return c;
}

// Weights ~ N(0, 1/sqrt(in)) so that activations keep their scale through the layers.
torch::Tensor randw(int64_t out, int64_t in, torch::TensorOptions o) { return torch::randn({out, in}, o) / std::sqrt(double(in)); }

Model random_device_model(const ModelConfig& c, torch::Device dev, torch::ScalarType dt, bool layers_on_cpu) {
  Model m;
  m.config = c;
  m.device = dev;
  m.dtype = dt;
  auto o = torch::TensorOptions().device(dev).dtype(dt);
  m.embed.weight = torch::randn({c.vocab_size, c.hidden_size}, o);
  m.final_norm = torch::ones({c.hidden_size}, o);
  m.lm_head.weight = randw(c.vocab_size, c.hidden_size, o);
  const int64_t q = c.num_heads * c.head_dim, kv = c.num_kv_heads * c.head_dim;
  for (int64_t i = 0; i < c.num_layers; ++i) {
    Layer l;
    l.input_norm = torch::ones({c.hidden_size}, o);
    l.post_attn_norm = torch::ones({c.hidden_size}, o);
    l.q.weight = randw(q, c.hidden_size, o), l.k.weight = randw(kv, c.hidden_size, o), l.v.weight = randw(kv, c.hidden_size, o);
    l.o.weight = randw(c.hidden_size, q, o);
    l.gate.weight = randw(c.intermediate_size, c.hidden_size, o), l.up.weight = randw(c.intermediate_size, c.hidden_size, o);
    l.down.weight = randw(c.hidden_size, c.intermediate_size, o);
    place_adjacent(l);   // as Model::load places them: one GEMM for q/k/v and one for gate/up
    if (layers_on_cpu) l.to(torch::kCPU, dt);
    m.layers.push_back(std::move(l));
  }
  if (layers_on_cpu) m.offload(dev);
  return m;
}

void sync(torch::Device d) {
  if (d.is_cuda()) torch::cuda::synchronize();
}

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

double peak_gib(torch::Device d) {
#if QLAB_BENCH_CUDA
  if (d.is_cuda()) {
    auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(d.index());
    return double(stats.allocated_bytes[0].peak) / (1 << 30);
  }
#endif
  return 0;
}

void reset_peak(torch::Device d) {
#if QLAB_BENCH_CUDA
  if (d.is_cuda()) c10::cuda::CUDACachingAllocator::resetPeakStats(d.index());
#endif
}

void limit_memory(torch::Device d, double fraction) {
#if QLAB_BENCH_CUDA
  if (d.is_cuda()) {
    torch::zeros({1}, d);  // the allocator of a device exists only after its first allocation
    c10::cuda::CUDACachingAllocator::setMemoryFraction(fraction, d.index());
  }
#endif
}

constexpr char kUsage[] =
    "usage: qlab_bench forward|pipeline|generate|spinquant|transitions [--key value ...]\n"
    "(each benchmark's options: the header of tools/bench/bench.cpp; docs/benchmarks.md)\n";

// Every option some benchmark reads. Anything else is refused: a mistyped or
// valueless option would otherwise run the defaults, a 7B-shape model.
const std::set<std::string> kOptions = {
    "batch",  "decode",  "device", "gptq",   "iters",    "layers",  "memory-fraction", "method", "new",
    "nsamples", "peak-tflops", "prompt-len", "prompts", "quant", "rank", "rotation", "seqlen", "shape",
    "steps",  "teacher", "trace",  "trace-steps"};

std::map<std::string, std::string> parse_args(int argc, char** argv, int first) {
  std::map<std::string, std::string> a;
  for (int i = first; i < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag.rfind("--", 0) != 0 || !kOptions.count(flag.substr(2)))
      throw std::invalid_argument("unknown option '" + flag + "'");
    if (i + 1 >= argc) throw std::invalid_argument(flag + " needs a value");
    a[flag.substr(2)] = argv[i + 1];
  }
  return a;
}

std::string get(const std::map<std::string, std::string>& a, const std::string& k, const std::string& d) {
  auto it = a.find(k);
  return it == a.end() ? d : it->second;
}

std::vector<int64_t> int_list(const std::string& s) {
  std::vector<int64_t> v;
  std::stringstream ss(s);
  for (std::string t; std::getline(ss, t, ',');) v.push_back(std::stoll(t));
  return v;
}

// W4A4KV4 as QuaRot evaluates it: online Hadamards (R3, R4, across heads)
// and per-token activation / per-head KV fake quantizers on every linear.
OnlineSpec w4a4kv4_spec() {
  OnlineSpec s;
  s.down_hadamard = s.qk_hadamard = s.o_hadamard = true;
  s.act.bits = 4, s.act.symmetric = true, s.act.clip_ratio = 0.9, s.act.granularity = Granularity::PerToken;
  s.o_act = s.down_act = s.act;
  s.k.bits = 4, s.k.symmetric = false, s.k.clip_ratio = 0.95, s.k.granularity = Granularity::PerToken;
  s.v = s.k;
  return s;
}

// Runs fn under the profiler and writes a Chrome trace of its kernels and the
// host ops between them (tools/bench/trace_summary.py tabulates it). False
// (with the reason on stderr) where LibTorch has no Kineto (Debian's CPU build).
bool write_trace(const std::string& path, torch::Device dev, const std::function<void()>& fn) {
  namespace prof = torch::profiler::impl;
  std::set<prof::ActivityType> activities = {prof::ActivityType::CPU};
  if (dev.is_cuda()) activities.insert(prof::ActivityType::CUDA);
  const prof::ProfilerConfig config(prof::ProfilerState::KINETO);
  torch::autograd::profiler::prepareProfiler(config, activities);
  torch::autograd::profiler::enableProfiler(config, activities);
  fn();
  sync(dev);
  try {
    torch::autograd::profiler::disableProfiler()->save(path);
  } catch (const c10::Error& e) {
    std::fprintf(stderr, "--trace: %s\n", e.what_without_backtrace());
    return false;
  }
  return true;
}

// ReSpinQuant's online cost: the W4A4KV4 forward with a rank-r low-rank
// residual op on both skips of every layer, against the same without.
int bench_transitions(const std::map<std::string, std::string>& a) {
  auto dev = torch::Device(get(a, "device", torch::cuda::is_available() ? "cuda:0" : "cpu"));
  auto cfg = shape(get(a, "shape", "llama3-8b"));
  const int64_t T = std::stoll(get(a, "seqlen", "2048")), iters = std::stoll(get(a, "iters", "5"));
  const int64_t rank = std::stoll(get(a, "rank", "32"));
  torch::NoGradGuard ng;
  Model m = random_device_model(cfg, dev, torch::kBFloat16, false);
  const OnlineSpec spec = w4a4kv4_spec();
  attach_online_hadamards(m, spec, "bench");
  attach_quantizers(m, spec);
  std::printf("| shape | transitions | batch | ms / forward | relative |\n|---|---|---|---|---|\n");
  for (int64_t B : int_list(get(a, "batch", "1,16"))) {
    auto ids = torch::randint(cfg.vocab_size, {B, T}, torch::TensorOptions().dtype(torch::kLong).device(dev));
    double base_ms = 0;
    for (bool with : {false, true}) {
      if (with)
        for (auto& l : m.layers) {
          auto U = std::get<0>(at::linalg_qr(torch::randn({cfg.hidden_size, rank}, torch::kFloat64))).to(dev);
          auto D = 0.01 * torch::randn({rank, rank}, torch::TensorOptions().dtype(torch::kFloat64).device(dev));
          l.attn_skip_ops.push_back(make_online_op("lowrank_residual", {}, {{"U", U}, {"D", D}}, dev, m.dtype, "transitions"));
          l.mlp_skip_ops.push_back(make_online_op("lowrank_residual", {}, {{"U", U}, {"D", D}}, dev, m.dtype, "transitions"));
        }
      m.forward(ids);
      sync(dev);
      std::vector<double> times;
      for (int64_t i = 0; i < iters; ++i) {
        double t0 = now();
        m.forward(ids);
        sync(dev);
        times.push_back(now() - t0);
      }
      std::sort(times.begin(), times.end());
      const double ms = times[times.size() / 2] * 1e3;
      if (!with) base_ms = ms;
      std::printf("| %s | %s | %ld | %.1f | %.3f |\n", get(a, "shape", "llama3-8b").c_str(),
                  with ? ("rank " + std::to_string(rank)).c_str() : "none", long(B), ms, ms / base_ms);
      std::fflush(stdout);
    }
    m.detach("transitions");
  }
  return 0;
}

int bench_forward(const std::map<std::string, std::string>& a) {
  auto dev = torch::Device(get(a, "device", torch::cuda::is_available() ? "cuda:0" : "cpu"));
  auto cfg = shape(get(a, "shape", "llama2-7b"));
  const int64_t T = std::stoll(get(a, "seqlen", "2048")), iters = std::stoll(get(a, "iters", "5"));
  const double peak_tflops = std::stod(get(a, "peak-tflops", "790"));
  torch::NoGradGuard ng;
  Model m = random_device_model(cfg, dev, torch::kBFloat16, false);
  int64_t params = m.num_parameters() - cfg.vocab_size * cfg.hidden_size;  // embedding lookup is no matmul
  std::printf("| mode | batch | tokens/s | ms / forward | peak GiB | matrix-rate fraction |\n|---|---|---|---|---|---|\n");
  // Cumulative: the online Hadamards alone, then with the fake quantizers, to
  // show which costs what.
  // "bf16 NLL" is the perplexity evaluator's path: every token's log-probability
  // with the head run a chunk at a time (no whole-window logits; on CUDA chunks
  // of all rows, each read once by the log-softmax kernel).
  const OnlineSpec spec = w4a4kv4_spec();
  for (std::string mode : {"bf16", "bf16 NLL", "bf16 + online Hadamards", "W4A4KV4"}) {
    if (mode == "bf16 + online Hadamards") attach_online_hadamards(m, spec, "quarot");
    if (mode == "W4A4KV4") attach_quantizers(m, spec);
    auto pass = [&](const torch::Tensor& ids) {
      if (mode == "bf16 NLL") next_token_logprobs(m, ids);
      else m.forward(ids);
    };
    for (int64_t B : int_list(get(a, "batch", "1,4"))) {
      auto ids = torch::randint(cfg.vocab_size, {B, T}, torch::TensorOptions().dtype(torch::kLong).device(dev));
      pass(ids);  // warm-up
      sync(dev);
      reset_peak(dev);
      double t0 = now();
      for (int64_t i = 0; i < iters; ++i) pass(ids);
      sync(dev);
      double per = (now() - t0) / double(iters);
      double tps = double(B * T) / per;
      double frac = 2.0 * double(params) * tps / (peak_tflops * 1e12);
      std::printf("| %s | %ld | %.0f | %.1f | %.1f | %.2f |\n", mode.c_str(), long(B), tps, per * 1e3, peak_gib(dev), frac);
      std::fflush(stdout);
    }
  }
  // One W4A4KV4 forward at the first batch size under the profiler.
  if (const std::string trace = get(a, "trace", ""); !trace.empty()) {
    auto ids = torch::randint(cfg.vocab_size, {int_list(get(a, "batch", "1,4")).at(0), T},
                              torch::TensorOptions().dtype(torch::kLong).device(dev));
    if (!write_trace(trace, dev, [&] { m.forward(ids); })) return 2;
  }
  return 0;
}

int bench_pipeline(const std::map<std::string, std::string>& a) {
  auto dev = torch::Device(get(a, "device", torch::cuda::is_available() ? "cuda:0" : "cpu"));
  auto cfg = shape(get(a, "shape", "llama2-7b"));
  const int64_t n = std::stoll(get(a, "nsamples", "128")), T = std::stoll(get(a, "seqlen", "2048"));
  int64_t layers = std::stoll(get(a, "layers", "0"));
  double fraction = std::stod(get(a, "memory-fraction", "0"));
  if (layers > 0) cfg.num_layers = layers;
  bool offload = fraction > 0;
  if (offload) limit_memory(dev, fraction);
  torch::NoGradGuard ng;
  std::vector<std::pair<std::string, double>> stages;
  double t0 = now();
  Model m = random_device_model(cfg, dev, torch::kBFloat16, offload);
  sync(dev);
  stages.push_back({"random init", now() - t0});
  reset_peak(dev);
  t0 = now();
  const bool gptq = get(a, "gptq", "1") == "1";
  fuse_norms(m, true);
  attach_residual_rotation(m, shared_basis(random_hadamard_matrix(cfg.hidden_size, 0), m.layers.size()), "quarot");
  attach_value_rotation(m, std::vector<torch::Tensor>(m.layers.size(), hadamard_matrix(cfg.head_dim)), "quarot");
  OnlineSpec s;
  s.down_hadamard = s.qk_hadamard = s.o_hadamard = true;
  attach_online_hadamard_weights(m, s, "quarot");
  m.bake();
  attach_online_hadamards(m, s, "quarot");
  sync(dev);
  stages.push_back({"quarot attach + bake (float64)", now() - t0});
  t0 = now();
  QuantConfig w;
  w.bits = 4, w.symmetric = true, w.granularity = Granularity::PerChannel, w.clip_search = true;
  auto calib = torch::randint(cfg.vocab_size, {n, T}, torch::kLong);
  GptqRunOptions opt;
  if (gptq) {
    // --trace: the whole GPTQ under the profiler (keep --layers small).
    const std::string trace = get(a, "trace", "");
    if (trace.empty()) quantize_weights_gptq(m, w, calib, opt);
    else if (!write_trace(trace, dev, [&] { quantize_weights_gptq(m, w, calib, opt); })) return 2;
    sync(dev);
    stages.push_back({"gptq (" + std::to_string(cfg.num_layers) + " layers, " + std::to_string(n) + "x" + std::to_string(T) + ")", now() - t0});
  }
  std::printf("| stage | seconds |\n|---|---|\n");
  for (auto& [name, secs] : stages) std::printf("| %s | %.1f |\n", name.c_str(), secs);
  std::printf("\npeak GPU memory: %.1f GiB%s\n", peak_gib(dev), offload ? " (layers offloaded to CPU)" : "");
  return 0;
}

// The refusal evaluator's workload: n prompts, greedy, batched, KV cache; no
// stop token, so every row runs the full length (the worst case).
int bench_generate(const std::map<std::string, std::string>& a) {
  auto dev = torch::Device(get(a, "device", torch::cuda::is_available() ? "cuda:0" : "cpu"));
  auto cfg = shape(get(a, "shape", "llama2-7b"));
  const int64_t n = std::stoll(get(a, "prompts", "520")), len = std::stoll(get(a, "prompt-len", "40"));
  const int64_t batch = std::stoll(get(a, "batch", "64"));
  GenerateOptions o;
  o.max_new_tokens = std::stoll(get(a, "new", "512"));
  const std::string decode = get(a, "decode", "auto");
  if (decode == "dynamic") o.decode_path = DecodePath::Dynamic;
  else if (decode == "fixed") o.decode_path = DecodePath::FixedShape;
  else if (decode != "auto") throw std::invalid_argument("--decode must be auto, dynamic or fixed");
  torch::NoGradGuard ng;
  Model m = random_device_model(cfg, dev, torch::kBFloat16, false);
  std::vector<std::vector<int64_t>> prompts;
  torch::manual_seed(0);
  for (int64_t i = 0; i < n; ++i) {
    auto ids = torch::randint(3, cfg.vocab_size, {len - i % 8}, torch::kLong);   // ragged, so rows are padded
    prompts.emplace_back(ids.data_ptr<int64_t>(), ids.data_ptr<int64_t>() + ids.numel());
  }
  // One batch untimed, as the transformers side runs one (where it compiles):
  // the first generate() also pays for cuBLAS's set-up, the kernels' lazy
  // loading and the allocator's first cudaMallocs.
  generate(m, std::vector<std::vector<int64_t>>(prompts.begin(), prompts.begin() + std::min(n, batch)), o);
  sync(dev);
  reset_peak(dev);
  double t0 = now();
  int64_t generated = 0;
  for (int64_t b = 0; b < n; b += batch) {
    std::vector<std::vector<int64_t>> chunk(prompts.begin() + b, prompts.begin() + std::min(n, b + batch));
    for (const auto& g : generate(m, chunk, o)) generated += int64_t(g.size());
    sync(dev);
    double el = now() - t0;
    std::fprintf(stderr, "%ld/%ld prompts, %.0f tokens/s, ETA %.0f s\n", long(std::min(n, b + batch)), long(n),
                 double(generated) / el, el / double(std::min(n, b + batch)) * double(n - std::min(n, b + batch)));
  }
  double secs = now() - t0;
  std::printf("| prompts | new tokens each | batch | decode | seconds | generated tokens/s | peak GiB |\n"
              "|---|---|---|---|---|---|---|\n");
  std::printf("| %ld | %ld | %ld | %s | %.1f | %.0f | %.1f |\n", long(n), long(o.max_new_tokens), long(batch),
              decode.c_str(), secs, double(generated) / secs, peak_gib(dev));
  if (const std::string trace = get(a, "trace", ""); !trace.empty()) {
    // One batch of a few steps (a whole run's trace would be huge).
    GenerateOptions traced = o;
    traced.max_new_tokens = std::stoll(get(a, "trace-steps", "16"));
    std::vector<std::vector<int64_t>> chunk(prompts.begin(), prompts.begin() + std::min(n, batch));
    if (!write_trace(trace, dev, [&] { generate(m, chunk, traced); })) return 2;
    std::fprintf(stderr, "trace of %ld steps at batch %ld written to %s\n", long(traced.max_new_tokens),
                 long(chunk.size()), trace.c_str());
  }
  return 0;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// One SpinQuant step as plugins/spinquant trains it, timed in its parts:
// applying the rotations to every weight (the weight ops alone), the forward
// to the loss, the backward (which recomputes each layer), the Cayley step.
// --method aaq adds AAQ's two teachers, resident (--teacher resident) or as
// top-K targets computed once with the teachers freed (--teacher cached).
int bench_spinquant(const std::map<std::string, std::string>& a) {
  auto dev = torch::Device(get(a, "device", torch::cuda::is_available() ? "cuda:0" : "cpu"));
  auto cfg = shape(get(a, "shape", "llama2-7b"));
  const int64_t B = std::stoll(get(a, "batch", "8")), T = std::stoll(get(a, "seqlen", "2048"));
  const int64_t steps = std::stoll(get(a, "steps", "3"));
  if (auto l = std::stoll(get(a, "layers", "0")); l > 0) cfg.num_layers = l;
  const std::string rot = get(a, "rotation", "float64");
  const bool quant = get(a, "quant", "1") == "1";
#if QLAB_BENCH_CUDA
  at::globalContext().setAllowTF32CuBLAS(rot == "tf32");
#endif
  const auto rdt = rot == "float64" ? torch::kFloat64 : torch::kFloat32;
  Model m = random_device_model(cfg, dev, torch::kBFloat16, false);
  const std::string method = get(a, "method", "spinquant");
  const bool ostquant = method == "ostquant";
  OnlineSpec spec;
  spec.down_hadamard = spec.qk_hadamard = true;
  {
    torch::NoGradGuard ng;
    fuse_norms(m, true);
    if (!ostquant) {   // OSTQuant attaches R4's weight side after its scales, as the pipeline does
      attach_online_hadamard_weights(m, spec, "bench");
      m.bake();
    }
  }
  attach_online_hadamards(m, spec, "bench");
  auto o = torch::TensorOptions().device(dev).dtype(rdt);
  auto r1 = random_hadamard_matrix(cfg.hidden_size, 0).to(o).requires_grad_(true);
  std::vector<torch::Tensor> r2, params = {r1}, scales;
  for (int64_t i = 0; i < cfg.num_layers; ++i) r2.push_back(random_hadamard_matrix(cfg.head_dim, i + 1).to(o).requires_grad_(true));
  params.insert(params.end(), r2.begin(), r2.end());
  if (ostquant) {
    LearnedTransforms learned{Rotations(m, 0, false, true, nullptr, o), Scales(cfg, o)};
    params = learned.rot.params();
    scales = learned.scales.params();
    for (auto& t : params) t.requires_grad_(true);
    for (auto& t : scales) t.requires_grad_(true);
    learned.attach(m, spec, "learn", /*live=*/true);
  } else if (method == "respinquant") {
    // Per-layer bases, each its own tensor, and the exact transitions on the skips.
    ResidualBases b;
    for (int64_t i = 0; i < cfg.num_layers; ++i) {
      b.attn_in.push_back(r1.detach().clone().requires_grad_(true));
      b.mlp_in.push_back(r1.detach().clone().requires_grad_(true));
    }
    b.head = r1;
    for (int64_t i = 0; i < cfg.num_layers; ++i) params.push_back(b.attn_in[i]), params.push_back(b.mlp_in[i]);
    attach_residual_rotation(m, b, "learn");
    for (int64_t i = 0; i < cfg.num_layers; ++i) {
      m.layers[i].attn_skip_ops.push_back(dense_transition(b.attn_in[i], b.mlp_in[i], "learn"));
      m.layers[i].mlp_skip_ops.push_back(dense_transition(b.mlp_in[i], i + 1 < cfg.num_layers ? b.attn_in[i + 1] : b.head, "learn"));
    }
  } else {
    attach_residual_rotation(m, shared_basis(r1, m.layers.size()), "learn");
  }
  if (!ostquant) attach_value_rotation(m, r2, "learn");
  // AAQ's teachers: the full-precision model and a perturbed copy as the base, both frozen.
  std::unique_ptr<Model> teacher, base;
  if (method == "aaq") {
    torch::NoGradGuard ng;
    teacher = std::make_unique<Model>(random_device_model(cfg, dev, torch::kBFloat16, false));
    base = std::make_unique<Model>(copy_model(*teacher));
    for (auto& [name, lin] : base->all_linears()) lin->weight.add_(0.05 * torch::randn_like(lin->weight) * lin->weight.std());
  }
  if (quant) {
    OnlineSpec q;   // W16A4KV4 as SpinQuant learns before GPTQ: asymmetric, unclipped
    q.act.bits = 4, q.act.symmetric = false, q.act.granularity = Granularity::PerToken;
    q.o_act = q.down_act = q.act;
    q.o_act.granularity = Granularity::PerGroup, q.o_act.groupsize = cfg.head_dim;
    q.k = q.act;
    q.v = q.k;
    attach_quantizers(m, q);
  }
  for (auto& [name, lin] : m.all_linears()) lin->transform_dtype = rdt;
  m.checkpoint_layers = true;
  std::unique_ptr<StiefelOptimizer> opt;
  if (ostquant) opt = std::make_unique<RiemannianAdam>(params, 1.5e-3, AdamOptions{}, scales, 1.0);
  else opt = std::make_unique<CayleySGD>(params, 1.5);
  auto ids = torch::randint(cfg.vocab_size, {B, T}, torch::TensorOptions().dtype(torch::kLong).device(dev));
  // --teacher cached: the teachers' top-K targets (ApcTargets) computed once,
  // then both teachers freed, so that training holds only the targets.
  const std::string teacher_mode = get(a, "teacher", "resident");
  ApcTargets cached;
  if (method == "aaq" && teacher_mode == "cached") {
    torch::NoGradGuard ng;
    cached = apc_targets(teacher->forward(ids), base->forward(ids), ApcOptions{});
    teacher.reset();
    base.reset();
  }
  std::vector<double> t_rot, t_fwd, t_bwd, t_opt, t_step;
  reset_peak(dev);
  for (int64_t s = 0; s <= steps; ++s) {   // step 0 is the warm-up
    sync(dev);
    double t0 = now();
    {
      torch::NoGradGuard ng;
      for (auto& [name, lin] : m.all_linears()) lin->effective();
    }
    sync(dev);
    double t1 = now();
    opt->zero_grad();
    auto logits = m.forward(ids);
    const int64_t V = logits.size(-1);
    torch::Tensor loss;
    if (method == "aaq" && teacher_mode == "cached") {
      loss = apc_loss(logits, cached, ApcOptions{}).loss;
    } else if (method == "aaq") {
      torch::Tensor ft, pt;
      {
        torch::NoGradGuard ng;
        ft = teacher->forward(ids);
        pt = base->forward(ids);
      }
      loss = apc_loss(logits, ft, pt, ApcOptions{}).loss;
    } else if (ostquant) {
      torch::Tensor fp;
      {
        torch::NoGradGuard ng;
        QuantizersOff off(m);
        fp = m.forward(ids);
      }
      loss = teacher_kl(logits, fp, 0);
    } else {
      loss = torch::nn::functional::cross_entropy(logits.narrow(1, 0, T - 1).reshape({-1, V}),
                                                  ids.narrow(1, 1, T - 1).reshape({-1}));
    }
    sync(dev);
    double t2 = now();
    loss.backward();
    sync(dev);
    double t3 = now();
    opt->step();
    sync(dev);
    double t4 = now();
    std::fprintf(stderr, "step %ld: loss %.4f, %.2f s\n", long(s), loss.item<double>(), t4 - t1);
    if (s == 0) continue;
    t_rot.push_back(t1 - t0), t_fwd.push_back(t2 - t1), t_bwd.push_back(t3 - t2), t_opt.push_back(t4 - t3);
    t_step.push_back(t4 - t1);
  }
  std::printf("| method | teacher | rotations | quantizers | step s | rotations alone s | forward s | backward s | optimiser s | tokens/s | peak GiB | 100 steps min |\n");
  std::printf("|---|---|---|---|---|---|---|---|---|---|---|---|\n");
  std::printf("| %s | %s | %s | %s | %.2f | %.2f | %.2f | %.2f | %.3f | %.0f | %.1f | %.1f |\n", method.c_str(), method == "aaq" ? teacher_mode.c_str() : "-", rot.c_str(), quant ? "A4KV4" : "off",
              median(t_step), median(t_rot), median(t_fwd), median(t_bwd), median(t_opt), double(B * T) / median(t_step),
              peak_gib(dev), median(t_step) * 100 / 60);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  keep_freed_memory();
  if (argc < 2) {
    std::cerr << kUsage;
    return 2;
  }
  for (int i = 1; i < argc; ++i)
    if (std::string(argv[i]) == "--help" || std::string(argv[i]) == "-h") {
      std::cout << kUsage;
      return 0;
    }
  const std::string what = argv[1];
  const std::map<std::string, int (*)(const std::map<std::string, std::string>&)> benchmarks = {
      {"forward", bench_forward},     {"pipeline", bench_pipeline},      {"generate", bench_generate},
      {"spinquant", bench_spinquant}, {"transitions", bench_transitions}};
  auto it = benchmarks.find(what);
  if (it == benchmarks.end()) {
    std::cerr << "qlab_bench: unknown benchmark '" << what << "'\n" << kUsage;
    return 2;
  }
  std::map<std::string, std::string> args;
  try {
    args = parse_args(argc, argv, 2);
  } catch (const std::invalid_argument& e) {
    std::cerr << "qlab_bench " << what << ": " << e.what() << "\n";
    return 2;
  }
  return it->second(args);
}
