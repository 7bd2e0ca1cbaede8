#!/usr/bin/env python3
"""transformers' side of the generation benchmark: the same shape with random
weights, bf16, SDPA attention, ragged prompts left-padded, greedy, every row
generating all --new tokens (min_new_tokens, as `qlab_bench generate` runs
with no stop token). Default (dynamic) cache, then the static cache, with which
generate() compiles the decode step itself (its compile_config). Prints the
same columns as `qlab_bench generate`."""
import argparse, time
import torch
from transformers import LlamaConfig, LlamaForCausalLM

ap = argparse.ArgumentParser()
ap.add_argument("--prompts", type=int, default=130)
ap.add_argument("--prompt-len", type=int, default=40)
ap.add_argument("--new", type=int, default=256)
ap.add_argument("--batch", default="130")
ap.add_argument("--modes", default="dynamic,static")
a = ap.parse_args()
cfg = LlamaConfig(vocab_size=32000, hidden_size=4096, intermediate_size=11008, num_hidden_layers=32,
                  num_attention_heads=32, num_key_value_heads=32, max_position_embeddings=4096,
                  pad_token_id=0, eos_token_id=2, bos_token_id=1)
with torch.device("cuda"):
    model = LlamaForCausalLM._from_config(cfg, attn_implementation="sdpa", dtype=torch.bfloat16).eval()
torch.manual_seed(0)
prompts = [torch.randint(3, cfg.vocab_size, (a.prompt_len - i % 8,)) for i in range(a.prompts)]


def run(batch, mode, n_prompts):
    generated = 0
    for b in range(0, n_prompts, batch):
        chunk = prompts[b:b + batch]
        T = max(len(p) for p in chunk)
        ids = torch.zeros(len(chunk), T, dtype=torch.long)
        mask = torch.zeros(len(chunk), T, dtype=torch.long)
        for i, p in enumerate(chunk):
            ids[i, T - len(p):] = p
            mask[i, T - len(p):] = 1
        kw = dict(max_new_tokens=a.new, min_new_tokens=a.new, do_sample=False, pad_token_id=0)
        if mode == "static":
            kw["cache_implementation"] = "static"
        out = model.generate(input_ids=ids.cuda(), attention_mask=mask.cuda(), **kw)
        generated += (out.shape[1] - T) * len(chunk)
    torch.cuda.synchronize()
    return generated


print("| transformers | prompts | new tokens each | batch | seconds | generated tokens/s | peak GiB |\n"
      "|---|---|---|---|---|---|---|", flush=True)
with torch.no_grad():
    for mode in a.modes.split(","):
        for batch in [int(x) for x in a.batch.split(",")]:
            run(batch, mode, batch)   # warm-up (where generate() compiles, for the static cache)
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            t0 = time.perf_counter()
            n = run(batch, mode, a.prompts)
            secs = time.perf_counter() - t0
            print(f"| {mode} | {a.prompts} | {a.new} | {batch} | {secs:.1f} | {n / secs:.0f} | "
                  f"{torch.cuda.max_memory_allocated() / 2**30:.1f} |", flush=True)
