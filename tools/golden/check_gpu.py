#!/usr/bin/env python3
"""On the GPU machine: qlab's CUDA forward against the transformers golden
fixtures, in float32 and bfloat16. For each family and probe text it runs
`qlab score` and `qlab generate` and prints the largest differences of the
summed log-probability (against transformers fp32 and bf16) and how many
greedy continuations are identical. Usage: check_gpu.py QLAB_BIN FIXTURES_DIR [MAX_CASES]"""
import json, subprocess, sys

qlab, root = sys.argv[1], sys.argv[2]
max_cases = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
print("| family | dtype | max abs diff of logprob sum vs HF fp32 | vs HF same dtype | mean abs diff per token | greedy identical |")
print("|---|---|---|---|---|---|")
for fam in ["llama3", "llama2", "qwen2", "mistral"]:
    exp = json.load(open(f"{root}/{fam}/expected.json"))
    for dtype in ["float32", "bfloat16"]:
        d32, dsame, per_tok, same_greedy, n = 0.0, 0.0, 0.0, 0, 0
        for c in exp["cases"][:max_cases]:
            args = ["--device", "cuda", "--dtype", dtype, "--json"]
            s = json.loads(subprocess.run([qlab, "score", f"{root}/{fam}", "--text", c["text"]] + args,
                                          capture_output=True, text=True, check=True).stdout)
            ref32 = c["logprob_sum"]
            refsame = ref32 if dtype == "float32" else sum(c["bf16_token_logprobs"])
            d32 = max(d32, abs(s["logprob_sum"] - ref32))
            dsame = max(dsame, abs(s["logprob_sum"] - refsame))
            per_tok += abs(s["logprob_sum"] - refsame) / max(1, len(c["ids"]) - 1)
            g = json.loads(subprocess.run([qlab, "generate", f"{root}/{fam}", "--prompt", c["text"], "--max-new-tokens", "12",
                                           "--greedy"] + args, capture_output=True, text=True, check=True).stdout)
            want = c["greedy"] if dtype == "float32" else c["bf16_greedy"]
            same_greedy += g["generated_ids"] == want
            n += 1
        print(f"| {fam} | {dtype} | {d32:.2e} | {dsame:.2e} | {per_tok / n:.2e} | {same_greedy}/{n} |", flush=True)
