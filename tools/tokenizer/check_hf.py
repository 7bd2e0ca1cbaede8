#!/usr/bin/env python3
"""Prints Hugging Face `tokenizers`' encodings of the strings that
tests/model/tokenizer_test.cpp works out by hand, for the fixtures of
tests/fixtures/tokenizers/ (run where `tokenizers` is installed).
"""
import json
import sys
from tokenizers import Tokenizer

root = sys.argv[1] if len(sys.argv) > 1 else 'tests/fixtures/tokenizers'
cases = {
    'bytelevel': ['hello', ' hello', ' thee', 'llll', 'abc', ' abc', 'a  b', 'ab  ', '12345', "IT'S", 'é',
                  '<|begin_of_text|>hello<|eot_id|> the'],
    'spbpe': ['the world', 'hello', 'hé', ' the', '<s>the', 'e\u0301'],
}
for name, texts in cases.items():
    tok = Tokenizer.from_file('%s/%s/tokenizer.json' % (root, name))
    for t in texts:
        ids = tok.encode(t, add_special_tokens=False).ids
        print(name, json.dumps(t), ids, json.dumps(tok.decode(ids)), json.dumps(tok.decode(ids, skip_special_tokens=False)))
# Metaspace variant (prepend_scheme first) and decoder.
j = json.load(open('%s/spbpe/tokenizer.json' % root))
j['normalizer'] = None
j['pre_tokenizer'] = {'type': 'Metaspace', 'replacement': '\u2581', 'prepend_scheme': 'first', 'split': True}
j['decoder'] = {'type': 'Metaspace', 'replacement': '\u2581', 'prepend_scheme': 'first', 'split': True}
tok = Tokenizer.from_str(json.dumps(j))
for t in ['the world', '<s>the', '  two']:
    ids = tok.encode(t).ids
    print('metaspace', json.dumps(t), ids, json.dumps(tok.decode(ids)))
print('metaspace decode', json.dumps(tok.decode([259, 259, 271])))
