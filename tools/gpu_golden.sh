#!/usr/bin/env bash
# Regenerates tests/fixtures/golden with transformers on the GPU machine.
# Inputs (.carry/golden_inputs): tatoeba.<lang> probe lines (first 300 of each
# ../shared/data/tatoeba_laser file; tatoeba.eng from the deu-eng pair),
# stories260K.bin and tok512.model from ../shared/data/stories260K.
set -euo pipefail
out=${1:-${OUT:-/tmp}/golden}
PYTHONUNBUFFERED=1 python3 tools/golden/make_golden.py --inputs .carry/golden_inputs --out "$out"
