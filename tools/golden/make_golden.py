#!/usr/bin/env python3
"""Golden fixtures for qlab's model runtime, computed with Hugging Face transformers.

Run on the GPU machine (tools/gpu_golden.sh does it): it has transformers,
tokenizers, sentencepiece and safetensors; it has no network, so the inputs
travel in a carried folder (--inputs) holding the Tatoeba probe lines and
stories260K.bin.

For each family it trains a small tokenizer on the probe languages, builds a
random-weight model with transformers, saves it with save_pretrained
(safetensors), and writes expected.json with, per probe text: token ids, the
log-probability of every token given its prefix (fp32, and bf16 on the GPU),
the last position's logits and the greedy continuation.

For stories260K it converts the llama2c file to a Hugging Face Llama with its
own (independent) Python conversion and records the same quantities, so the C++
test checks `qlab convert` against transformers.
"""
import argparse, json, os, struct, sys, io

import numpy as np
import torch

FAMILIES = {
    # name: (architecture, tokenizer kind, extra config)
    "llama3": ("llama", "bytelevel_llama3", dict(rope_scaling=dict(rope_type="llama3", factor=8.0, low_freq_factor=1.0,
                                                                   high_freq_factor=4.0, original_max_position_embeddings=64),
                                                 rope_theta=500000.0)),
    "llama2": ("llama", "sp_json", dict()),
    "qwen2": ("qwen2", "bytelevel_qwen2", dict(tie_word_embeddings=True)),
    "mistral": ("mistral", "sp_model", dict(sliding_window=8)),
}

LLAMA3_PATTERN = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
QWEN2_PATTERN = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def read_lines(inputs, lang, n):
    path = os.path.join(inputs, f"tatoeba.{lang}")
    with open(path, encoding="utf-8") as f:
        return [l.rstrip("\n") for l in f][:n]


def train_bytelevel(out_dir, corpus, pattern, llama3):
    from tokenizers import Tokenizer, Regex, models, pre_tokenizers, decoders, trainers, processors
    specials = ["<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>"] if llama3 else ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    tok = Tokenizer(models.BPE(ignore_merges=llama3))
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(pattern), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=700, special_tokens=specials, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(corpus, trainer)
    if llama3:
        bos = tok.token_to_id(specials[0])
        tok.post_processor = processors.TemplateProcessing(single=f"{specials[0]} $A", pair=f"{specials[0]} $A {specials[0]} $B",
                                                           special_tokens=[(specials[0], bos)])
        cfg = dict(bos_token=specials[0], eos_token=specials[2], tokenizer_class="PreTrainedTokenizerFast",
                   chat_template="{% for m in messages %}<|start_header_id|>{{ m['role'] }}<|end_header_id|>\n\n{{ m['content'] }}<|eot_id|>{% endfor %}")
        ids = dict(bos=bos, eos=[tok.token_to_id(specials[1]), tok.token_to_id(specials[2])])
    else:
        tok.post_processor = processors.ByteLevel(trim_offsets=False)
        cfg = dict(bos_token=None, eos_token=specials[2], pad_token=specials[0], tokenizer_class="Qwen2Tokenizer",
                   chat_template="{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}")
        ids = dict(bos=None, eos=[tok.token_to_id(specials[2]), tok.token_to_id(specials[0])])
    tok.save(os.path.join(out_dir, "tokenizer.json"))
    with open(os.path.join(out_dir, "tokenizer_config.json"), "w") as f:
        json.dump(cfg, f, indent=1)
    return tok.get_vocab_size(), ids, (lambda text: tok.encode(text, add_special_tokens=True).ids), tok


def train_sentencepiece(out_dir, corpus, keep_json):
    import sentencepiece as spm
    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(sentence_iterator=iter(corpus), model_writer=buf, vocab_size=800, model_type="bpe",
                                   byte_fallback=True, character_coverage=0.98, bos_id=1, eos_id=2, unk_id=0, pad_id=-1,
                                   normalization_rule_name="identity", add_dummy_prefix=True, split_digits=True,
                                   remove_extra_whitespaces=False, allow_whitespace_only_pieces=True, minloglevel=2)
    path = os.path.join(out_dir, "tokenizer.model")
    with open(path, "wb") as f:
        f.write(buf.getvalue())
    sp = spm.SentencePieceProcessor(model_file=path)
    with open(os.path.join(out_dir, "tokenizer_config.json"), "w") as f:
        json.dump(dict(add_bos_token=True, add_eos_token=False, bos_token="<s>", eos_token="</s>", unk_token="<unk>",
                       legacy=True, tokenizer_class="LlamaTokenizer",
                       chat_template="{{ bos_token }}{% for m in messages %}[INST] {{ m['content'] }} [/INST]{% endfor %}"), f, indent=1)
    encode = lambda text: [1] + sp.encode(text)
    if keep_json:
        # The fast tokenizer transformers derives from tokenizer.model: a tokenizer.json
        # with a SentencePiece-style BPE model and byte fallback.
        from transformers import AutoTokenizer
        fast = AutoTokenizer.from_pretrained(out_dir)
        fast.backend_tokenizer.save(os.path.join(out_dir, "tokenizer.json"))
        from tokenizers import Tokenizer
        tj = Tokenizer.from_file(os.path.join(out_dir, "tokenizer.json"))
        json_ids = lambda text: tj.encode(text, add_special_tokens=True).ids
        return sp.get_piece_size(), dict(bos=1, eos=[2]), json_ids, sp
    return sp.get_piece_size(), dict(bos=1, eos=[2]), encode, sp


def make_config(arch, vocab, ids, extra):
    from transformers import LlamaConfig, Qwen2Config, MistralConfig
    common = dict(vocab_size=vocab, hidden_size=64, intermediate_size=160, num_hidden_layers=2, num_attention_heads=4,
                  num_key_value_heads=2, max_position_embeddings=256, rms_norm_eps=1e-5, initializer_range=0.08,
                  bos_token_id=ids["bos"], eos_token_id=ids["eos"][0] if len(ids["eos"]) == 1 else ids["eos"])
    common.update(extra)
    if arch == "llama":
        try:
            return LlamaConfig(**common)
        except Exception as e:  # newer transformers: rope settings under rope_parameters
            log("LlamaConfig(rope_scaling) failed:", repr(e))
            rp = dict(common.pop("rope_scaling", {}) or {}, rope_theta=common.pop("rope_theta", 10000.0))
            rp.setdefault("rope_type", "default")
            return LlamaConfig(rope_parameters=rp, **common)
    if arch == "qwen2":
        return Qwen2Config(use_sliding_window=False, **common)
    return MistralConfig(**common)


def probe_texts(inputs):
    texts = []
    for lang in ["eng", "deu", "rus", "cmn", "jpn", "ara", "hin", "kor"]:
        texts += read_lines(inputs, lang, 2)
    texts.append("Numbers 12345 and  double  spaces,\nnew lines\tand tabs! Émile's café?")
    return texts


@torch.no_grad()
def expectations(model, ids_list, eos, device):
    out = []
    for ids in ids_list:
        x = torch.tensor([ids], device=device)
        logits = model(x).logits.float()[0]
        lp = torch.log_softmax(logits.double(), -1)
        tok_lp = lp[:-1].gather(1, x[0, 1:, None]).squeeze(1)
        gen = model.generate(x, attention_mask=torch.ones_like(x), max_new_tokens=12, do_sample=False,
                             eos_token_id=eos, pad_token_id=eos[0])
        out.append(dict(token_logprobs=tok_lp.cpu().tolist(), logprob_sum=float(tok_lp.sum()),
                        last_logits=logits[-1].cpu().tolist(), greedy=gen[0, len(ids):].cpu().tolist()))
    return out


def build_family(name, inputs, out_root, device):
    from transformers import AutoModelForCausalLM
    arch, tok_kind, extra = FAMILIES[name]
    out_dir = os.path.join(out_root, name)
    os.makedirs(out_dir, exist_ok=True)
    # SentencePiece needs every kept character in its vocabulary (coverage >= 0.98),
    # so CJK gets few lines there: the rest of CJK goes through byte fallback.
    corpus = []
    for lang in ["eng", "deu", "fra", "spa", "rus", "cmn", "jpn", "ara", "hin", "kor"]:
        few = tok_kind.startswith("sp") and lang in ("cmn", "jpn", "kor")
        corpus += read_lines(inputs, lang, 25 if few else 300)
    if tok_kind.startswith("bytelevel"):
        vocab, ids, encode, _ = train_bytelevel(out_dir, corpus, LLAMA3_PATTERN if name == "llama3" else QWEN2_PATTERN, name == "llama3")
    else:
        vocab, ids, encode, _ = train_sentencepiece(out_dir, corpus, keep_json=(tok_kind == "sp_json"))
    torch.manual_seed({"llama3": 1, "llama2": 2, "qwen2": 3, "mistral": 4}[name])
    config = make_config(arch, vocab, ids, extra)
    model = AutoModelForCausalLM.from_config(config, attn_implementation="eager").float().eval()
    if arch == "qwen2":  # random biases, so the test sees them
        with torch.no_grad():
            for layer in model.model.layers:
                for p in (layer.self_attn.q_proj, layer.self_attn.k_proj, layer.self_attn.v_proj):
                    p.bias.normal_(0, 0.1)
    model.save_pretrained(out_dir, safe_serialization=True)
    texts = probe_texts(inputs)
    ids_list = [encode(t) for t in texts]
    hf_ids = None
    try:
        from transformers import AutoTokenizer
        at = AutoTokenizer.from_pretrained(out_dir)
        hf_ids = [at(t)["input_ids"] for t in texts]
        log(name, "AutoTokenizer", type(at).__name__, "agrees" if hf_ids == ids_list else "DIFFERS from the tokenizer library")
    except Exception as e:
        log(name, "AutoTokenizer failed:", repr(e))
    model.to(device)
    fp32 = expectations(model, ids_list, ids["eos"], device)
    bf16 = expectations(model.to(torch.bfloat16), ids_list, ids["eos"], device) if device != "cpu" else None
    cases = []
    for i, t in enumerate(texts):
        c = dict(text=t, ids=ids_list[i], **fp32[i])
        if hf_ids is not None:
            c["autotokenizer_ids"] = hf_ids[i]
        if bf16:
            c["bf16_token_logprobs"] = bf16[i]["token_logprobs"]
            c["bf16_greedy"] = bf16[i]["greedy"]
        cases.append(c)
    meta = dict(family=name, tokenizer=tok_kind, transformers=__import__("transformers").__version__,
                torch=torch.__version__, eos=ids["eos"], bos=ids["bos"])
    with open(os.path.join(out_dir, "expected.json"), "w") as f:
        json.dump(dict(meta=meta, cases=cases), f)
    log(name, "vocab", vocab, "cases", len(cases))


def llama2c_to_hf(path):
    """Reads llama2c's format (MANIFEST.md) into Hugging Face Llama tensors."""
    with open(path, "rb") as f:
        dim, hidden, n_layers, n_heads, n_kv, vocab, seq_len = struct.unpack("<7i", f.read(28))
        data = np.frombuffer(f.read(), dtype="<f4")
    shared = vocab > 0
    vocab = abs(vocab)
    hd = dim // n_heads
    off = 0

    def take(*shape):
        nonlocal off
        n = int(np.prod(shape))
        a = data[off:off + n].reshape(shape)
        off += n
        return torch.from_numpy(a.copy())

    emb = take(vocab, dim)
    attn_norm = take(n_layers, dim)
    wq, wk, wv, wo = take(n_layers, dim, dim), take(n_layers, n_kv * hd, dim), take(n_layers, n_kv * hd, dim), take(n_layers, dim, dim)
    ffn_norm = take(n_layers, dim)
    w1, w2, w3 = take(n_layers, hidden, dim), take(n_layers, dim, hidden), take(n_layers, hidden, dim)
    final_norm = take(dim)

    def permute(w, heads):  # interleaved pairs (2i, 2i+1) -> rotate-half halves
        return w.view(heads, hd // 2, 2, dim).transpose(1, 2).reshape(heads * hd, dim)

    sd = {"model.embed_tokens.weight": emb, "model.norm.weight": final_norm}
    for l in range(n_layers):
        p = f"model.layers.{l}."
        sd[p + "self_attn.q_proj.weight"] = permute(wq[l], n_heads)
        sd[p + "self_attn.k_proj.weight"] = permute(wk[l], n_kv)
        sd[p + "self_attn.v_proj.weight"] = wv[l]
        sd[p + "self_attn.o_proj.weight"] = wo[l]
        sd[p + "mlp.gate_proj.weight"] = w1[l]
        sd[p + "mlp.down_proj.weight"] = w2[l]
        sd[p + "mlp.up_proj.weight"] = w3[l]
        sd[p + "input_layernorm.weight"] = attn_norm[l]
        sd[p + "post_attention_layernorm.weight"] = ffn_norm[l]
    if not shared:
        raise SystemExit("unshared classifier not expected for stories260K")
    sd["lm_head.weight"] = emb
    return dict(dim=dim, hidden=hidden, n_layers=n_layers, n_heads=n_heads, n_kv=n_kv, vocab=vocab, seq_len=seq_len), sd


def build_stories(inputs, out_root, device):
    import sentencepiece as spm
    from transformers import LlamaConfig, LlamaForCausalLM
    hp, sd = llama2c_to_hf(os.path.join(inputs, "stories260K.bin"))
    cfg = LlamaConfig(vocab_size=hp["vocab"], hidden_size=hp["dim"], intermediate_size=hp["hidden"], num_hidden_layers=hp["n_layers"],
                      num_attention_heads=hp["n_heads"], num_key_value_heads=hp["n_kv"], max_position_embeddings=hp["seq_len"],
                      rms_norm_eps=1e-5, rope_theta=10000.0, bos_token_id=1, eos_token_id=2, tie_word_embeddings=True)
    model = LlamaForCausalLM(cfg).float().eval()
    missing = model.load_state_dict(sd, strict=False)
    log("stories260K load:", missing)
    model.to(device)
    sp = spm.SentencePieceProcessor(model_file=os.path.join(inputs, "tok512.model"))
    texts = ["Once upon a time", "Once upon a time, there was a little girl named Lily. She loved to play outside in the park.",
             "The dog was very happy. He ran to the big tree and found a red ball."]
    ids_list = [[1] + sp.encode(t) for t in texts]
    cases = []
    res = expectations(model, ids_list, [2], device)
    with torch.no_grad():
        long_gen = model.generate(torch.tensor([ids_list[0]], device=device), max_new_tokens=64, do_sample=False,
                                  eos_token_id=2, pad_token_id=0)[0, len(ids_list[0]):].tolist()
    for i, t in enumerate(texts):
        cases.append(dict(text=t, ids=ids_list[i], **res[i]))
    cases[0]["greedy64"] = long_gen
    cases[0]["greedy64_text"] = sp.decode(long_gen)
    out_dir = os.path.join(out_root, "stories260K")
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "expected.json"), "w") as f:
        json.dump(dict(meta=dict(family="stories260K", transformers=__import__("transformers").__version__), cases=cases), f)
    log("stories260K:", cases[0]["greedy64_text"][:200])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--inputs", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--only", default="")
    args = ap.parse_args()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    log("device", device, "torch", torch.__version__)
    names = args.only.split(",") if args.only else list(FAMILIES) + ["stories260K"]
    for name in names:
        try:
            build_stories(args.inputs, args.out, device) if name == "stories260K" else build_family(name, args.inputs, args.out, device)
        except Exception as e:
            import traceback
            traceback.print_exc()
            log("FAILED", name, repr(e))


if __name__ == "__main__":
    main()
