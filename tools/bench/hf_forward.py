#!/usr/bin/env python3
"""transformers' side of the forward benchmark: the same shape with random
weights, bf16, SDPA attention, perplexity-style windows. Prints the same table
columns as `qlab_bench forward`."""
import argparse, time
import torch
from transformers import LlamaConfig, LlamaForCausalLM

ap = argparse.ArgumentParser()
ap.add_argument("--shape", choices=["llama2-7b", "llama3-8b"], default="llama2-7b")
ap.add_argument("--seqlen", type=int, default=2048)
ap.add_argument("--batch", default="1,4")
ap.add_argument("--iters", type=int, default=5)
ap.add_argument("--peak-tflops", type=float, default=790)
a = ap.parse_args()
# The shapes of qlab_bench's --shape (tools/bench/bench.cpp).
shapes = {"llama2-7b": dict(vocab_size=32000, intermediate_size=11008, num_key_value_heads=32),
          "llama3-8b": dict(vocab_size=128256, intermediate_size=14336, num_key_value_heads=8, rope_theta=500000.0)}
cfg = LlamaConfig(hidden_size=4096, num_hidden_layers=32, num_attention_heads=32, max_position_embeddings=4096,
                  **shapes[a.shape])
torch.set_default_dtype(torch.bfloat16)
with torch.device("cuda"):
    model = LlamaForCausalLM._from_config(cfg, attn_implementation="sdpa", dtype=torch.bfloat16).eval()
params = sum(p.numel() for p in model.parameters()) - cfg.vocab_size * cfg.hidden_size
print("| transformers | batch | tokens/s | ms / forward | peak GiB | matrix-rate fraction |\n|---|---|---|---|---|---|")
with torch.no_grad():
    # "loss": the perplexity path, logits and the mean next-token NLL (labels given).
    for mode, b in [(m, int(x)) for m in ["bf16 sdpa", "bf16 sdpa, loss"] for x in a.batch.split(",")]:
        ids = torch.randint(cfg.vocab_size, (b, a.seqlen), device="cuda")
        run = (lambda: model(ids, labels=ids)) if mode == "bf16 sdpa, loss" else (lambda: model(ids))
        run()
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        t0 = time.perf_counter()
        for _ in range(a.iters):
            run()
        torch.cuda.synchronize()
        per = (time.perf_counter() - t0) / a.iters
        tps = b * a.seqlen / per
        print(f"| {mode} | {b} | {tps:.0f} | {per*1e3:.1f} | {torch.cuda.max_memory_allocated()/2**30:.1f} | {2*params*tps/(a.peak_tflops*1e12):.2f} |", flush=True)
