#!/usr/bin/env python3
"""Writes a small seed corpus of safetensors files (valid and near-valid) for
safetensors_fuzz into the folder given as the first argument."""
import json
import os
import struct
import sys


def safetensors(header, buffer):
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text)) + text + buffer


def main(out):
    os.makedirs(out, exist_ok=True)
    seeds = {
        "empty": safetensors({}, b""),
        "one_f32": safetensors({"w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]}}, bytes(16)),
        "mixed": safetensors({
            "a": {"dtype": "BF16", "shape": [3], "data_offsets": [0, 6]},
            "b": {"dtype": "I64", "shape": [1], "data_offsets": [6, 14]},
            "c": {"dtype": "BOOL", "shape": [0], "data_offsets": [14, 14]},
            "__metadata__": {"format": "pt"}}, bytes(14)),
        "overlap": safetensors({
            "a": {"dtype": "U8", "shape": [4], "data_offsets": [0, 4]},
            "b": {"dtype": "U8", "shape": [2], "data_offsets": [2, 4]}}, bytes(4)),
        "short": b"\x10\x00\x00",
    }
    for name, data in seeds.items():
        with open(os.path.join(out, name + ".safetensors"), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main(sys.argv[1])
