#!/usr/bin/env bash
# Configures and builds qlab into build/ (Release, ccache, precompiled
# LibTorch header). Arguments name the targets to build (`tools/build.sh qlab`
# builds only the CLI); none builds everything, tests included.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" ${1:+--target "$@"}
