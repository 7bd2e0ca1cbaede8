#!/usr/bin/env python3
"""A checkpoint written by `qlab train` against transformers: loads DIR with
AutoTokenizer / AutoModelForCausalLM (float32, CPU or CUDA), checks that both
tokenizers give the same ids for each probe text (plain and through the chat
template), and compares the summed log-probability with `qlab score DIR
--json`, and the greedy continuation with `qlab generate --greedy --json`.
Prints one line per probe and exits 1 on a mismatch (ids differ, or |diff of
logprob sum| > 1e-3 per token). Usage: check_trained.py QLAB_BIN DIR [cuda]"""
import json, subprocess, sys

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

qlab, ckpt = sys.argv[1], sys.argv[2]
device = sys.argv[3] if len(sys.argv) > 3 else "cpu"
tok = AutoTokenizer.from_pretrained(ckpt)
model = AutoModelForCausalLM.from_pretrained(ckpt, torch_dtype=torch.float32).to(device).eval()

probes = ["Once upon a time, there was a little cat.", "Привет, мир! 😀 12345",
          tok.apply_chat_template([{"role": "user", "content": "Where did the cat sit?"}], tokenize=False,
                                  add_generation_prompt=True)]
bad = 0
for text in probes:
    ids = tok(text, add_special_tokens=True)["input_ids"]
    q = json.loads(subprocess.run([qlab, "score", ckpt, "--text", text, "--json", "--device", device],
                                  capture_output=True, text=True, check=True).stdout)
    with torch.no_grad():
        logits = model(torch.tensor([ids], device=device)).logits.float()
    lp = torch.log_softmax(logits[0, :-1], -1).gather(1, torch.tensor(ids[1:], device=device)[:, None]).sum().item()
    g = json.loads(subprocess.run([qlab, "generate", ckpt, "--prompt", text, "--max-new-tokens", "16", "--greedy",
                                   "--json", "--device", device], capture_output=True, text=True, check=True).stdout)
    with torch.no_grad():
        hf = model.generate(torch.tensor([ids], device=device), max_new_tokens=16, do_sample=False)[0, len(ids):].tolist()
    same_ids = ids == q["ids"]
    diff = abs(lp - q["logprob_sum"])
    ok = same_ids and diff <= 1e-3 * max(1, len(ids) - 1)
    bad += not ok
    print(f"{'ok ' if ok else 'BAD'} ids {'same' if same_ids else 'DIFFER'} | logprob hf {lp:.5f} qlab "
          f"{q['logprob_sum']:.5f} (diff {diff:.2e}) | greedy {'same' if hf[:len(g['generated_ids'])] == g['generated_ids'] else 'differs'} | {text[:40]!r}")
sys.exit(1 if bad else 0)
