#!/usr/bin/env python3
"""Writes the small hand-designed tokenizer.json fixtures of
tests/fixtures/tokenizers/ (bytelevel: LLaMA-3-like; spbpe: LLaMA-2-like).
The vocabularies are tiny on purpose so that tests can work encodings out by
hand; see the comments of tests/model/tokenizer_test.cpp.
Run: python3 tools/tokenizer/make_fixtures.py tests/fixtures/tokenizers
"""
import json
import os
import sys

out_dir = sys.argv[1]


def gpt2_byte_chars():
    printable = [b for b in range(256)
                 if ord('!') <= b <= ord('~') or 0xA1 <= b <= 0xAC or 0xAE <= b <= 0xFF]
    table, extra = {}, 256
    for b in range(256):
        if b in printable:
            table[b] = chr(b)
        else:
            table[b] = chr(extra)
            extra += 1
    return table


def write(name, tokenizer, config):
    d = os.path.join(out_dir, name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, 'tokenizer.json'), 'w', encoding='utf-8') as f:
        json.dump(tokenizer, f, ensure_ascii=False, indent=1)
        f.write('\n')
    with open(os.path.join(d, 'tokenizer_config.json'), 'w', encoding='utf-8') as f:
        json.dump(config, f, ensure_ascii=False, indent=1)
        f.write('\n')


def added(content, id, special=True):
    return {'id': id, 'content': content, 'single_word': False, 'lstrip': False,
            'rstrip': False, 'normalized': not special, 'special': special}


# ---- byte-level BPE: id of byte b's symbol is b; merges get 256...
chars = gpt2_byte_chars()
vocab = {chars[b]: b for b in range(256)}
G = chars[ord(' ')]  # 'Ġ'
merge_pairs = [
    ('l', 'l'),          # 256 ll
    ('e', 'll'),         # 257 ell
    ('h', 'ell'),        # 258 hell
    ('hell', 'o'),       # 259 hello
    ('h', 'e'),          # 260 he
    (G, 't'),            # 261 Ġt
    (G + 't', 'he'),     # 262 Ġthe
    (G, G),              # 263 ĠĠ
    ('1', '2'),          # 264 12
    ('3', '4'),          # 265 34
    ('T', "'"),          # 266 T'
    ("'", 'S'),          # 267 'S
]
for a, b in merge_pairs:
    vocab[a + b] = len(vocab)
vocab['abc'] = len(vocab)   # 268: reachable only through ignore_merges
specials = ['<|begin_of_text|>', '<|end_of_text|>', '<|eot_id|>']
bytelevel = {
    'version': '1.0',
    'truncation': None,
    'padding': None,
    'added_tokens': [added(t, 269 + i) for i, t in enumerate(specials)],
    'normalizer': None,
    'pre_tokenizer': {'type': 'Sequence', 'pretokenizers': [
        {'type': 'Split', 'pattern': {'Regex':
            "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"},
         'behavior': 'Isolated', 'invert': False},
        {'type': 'ByteLevel', 'add_prefix_space': False, 'trim_offsets': True, 'use_regex': False}]},
    'post_processor': {'type': 'Sequence', 'processors': [
        {'type': 'ByteLevel', 'add_prefix_space': True, 'trim_offsets': False, 'use_regex': True},
        {'type': 'TemplateProcessing',
         'single': [{'SpecialToken': {'id': '<|begin_of_text|>', 'type_id': 0}},
                    {'Sequence': {'id': 'A', 'type_id': 0}}],
         'pair': [{'SpecialToken': {'id': '<|begin_of_text|>', 'type_id': 0}},
                  {'Sequence': {'id': 'A', 'type_id': 0}},
                  {'SpecialToken': {'id': '<|begin_of_text|>', 'type_id': 1}},
                  {'Sequence': {'id': 'B', 'type_id': 1}}],
         'special_tokens': {'<|begin_of_text|>': {'id': '<|begin_of_text|>', 'ids': [269],
                                                  'tokens': ['<|begin_of_text|>']}}}]},
    'decoder': {'type': 'ByteLevel', 'add_prefix_space': True, 'trim_offsets': True, 'use_regex': True},
    'model': {'type': 'BPE', 'dropout': None, 'unk_token': None, 'continuing_subword_prefix': None,
              'end_of_word_suffix': None, 'fuse_unk': False, 'byte_fallback': False,
              'ignore_merges': True, 'vocab': vocab,
              'merges': [[a, b] for a, b in merge_pairs]},   # the newer pair form
}
write('bytelevel', bytelevel, {
    'bos_token': '<|begin_of_text|>',
    'eos_token': '<|eot_id|>',
    'chat_template': "{% for m in messages %}{{ '<|start_header_id|>' + m['role'] + '<|end_header_id|>\\n\\n' + m['content'] + '<|eot_id|>' }}{% endfor %}",
})

# ---- SentencePiece-style BPE: <unk> <s> </s>, 256 byte tokens, characters, merges.
M = '\u2581'   # '▁'
vocab = {'<unk>': 0, '<s>': 1, '</s>': 2}
for b in range(256):
    vocab['<0x%02X>' % b] = len(vocab)   # 3 + b
for c in [M, 'a', 'e', 'h', 'l', 'o', 't', 'w', 'r', 'd']:
    vocab[c] = len(vocab)                # 259 ...
merge_pairs = [(M, 't'), ('h', 'e'), (M + 't', 'he'), ('l', 'o'), (M, 'w')]
for a, b in merge_pairs:
    vocab[a + b] = len(vocab)            # 269 ...
spbpe = {
    'version': '1.0',
    'truncation': None,
    'padding': None,
    'added_tokens': [added('<unk>', 0), added('<s>', 1), added('</s>', 2)],
    'normalizer': {'type': 'Sequence', 'normalizers': [
        {'type': 'Prepend', 'prepend': M},
        {'type': 'Replace', 'pattern': {'String': ' '}, 'content': M}]},
    'pre_tokenizer': None,
    'post_processor': {'type': 'TemplateProcessing',
                       'single': [{'SpecialToken': {'id': '<s>', 'type_id': 0}},
                                  {'Sequence': {'id': 'A', 'type_id': 0}}],
                       'pair': [{'SpecialToken': {'id': '<s>', 'type_id': 0}},
                                {'Sequence': {'id': 'A', 'type_id': 0}},
                                {'SpecialToken': {'id': '<s>', 'type_id': 1}},
                                {'Sequence': {'id': 'B', 'type_id': 1}}],
                       'special_tokens': {'<s>': {'id': '<s>', 'ids': [1], 'tokens': ['<s>']}}},
    'decoder': {'type': 'Sequence', 'decoders': [
        {'type': 'Replace', 'pattern': {'String': M}, 'content': ' '},
        {'type': 'ByteFallback'},
        {'type': 'Fuse'},
        {'type': 'Strip', 'content': ' ', 'start': 1, 'stop': 0}]},
    'model': {'type': 'BPE', 'dropout': None, 'unk_token': '<unk>', 'continuing_subword_prefix': None,
              'end_of_word_suffix': None, 'fuse_unk': True, 'byte_fallback': True,
              'vocab': vocab,
              'merges': ['%s %s' % p for p in merge_pairs]},   # the older string form
}
write('spbpe', spbpe, {
    'add_bos_token': True,
    'add_eos_token': False,
    'bos_token': {'content': '<s>', 'lstrip': False, 'normalized': False, 'rstrip': False, 'single_word': False},
    'eos_token': '</s>',
    'unk_token': '<unk>',
    'pad_token': None,
    'chat_template': "{{ bos_token }}{% for m in messages %}{% if m['role'] == 'user' %}{{ '[INST] ' + m['content'] + ' [/INST]' }}{% elif m['role'] == 'system' %}{{ '<<SYS>>\\n' + m['content'] + '\\n<</SYS>>\\n\\n' }}{% endif %}{% endfor %}",
})
