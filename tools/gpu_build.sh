#!/usr/bin/env bash
# Builds qlab and runs its tests on the lent GPU machine (Ubuntu 24.04, no
# network, LibTorch from the image's PyTorch wheel, CUDA 13).
#
# What the machine lacks travels as Debian .deb files in .carry/debs (made on a
# CPU machine with tools/gpu_fetch_debs.sh) and is unpacked into a prefix:
#   - Boost.Program_options 1.74 (the image has Boost 1.83 headers, no library);
#   - CLD2, exttextcat and fastText (language identification), wamerican (English words).
# Not carried: python3-jieba and MeCab with its dictionaries, the LCB's zh
# and ja segmenters; CMake builds without MeCab, and each nmix run there
# records in nmix.lcb_segmenters that zh and ja lines got the stand-in.
# The torch wheel ships fmt 12 headers ahead of the system's fmt 9 that spdlog
# was built against: an include folder holding only `fmt -> /usr/include/fmt`
# goes first (QLAB_FMT_OVERRIDE_DIR).
#
# Usage (from the repository root on the GPU machine):
#   tools/gpu_build.sh [build-dir] [ctest args...]
# Environment: QLAB_SKIP_TESTS=1 builds only; QLAB_TARGETS="qlab qlab_bench" builds only those.
set -euo pipefail
build=${1:-build-gpu}; shift || true
deps=/tmp/qlab-deps
mkdir -p "$deps" /tmp/qlab-fmt
for f in .carry/debs/*.deb; do dpkg -x "$f" "$deps"; done
ln -sfn /usr/include/fmt /tmp/qlab-fmt/fmt
# A -dev package's libfoo.so link points at the runtime package's file; where
# that package was not carried, point it at the system's copy.
for link in "$deps"/usr/lib/x86_64-linux-gnu/*.so; do
  [[ -e "$link" ]] || ln -sfn "/usr/lib/x86_64-linux-gnu/$(readlink "$link")" "$link"
done
export LD_LIBRARY_PATH="$deps/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}"
export QLAB_TEXTCAT_DIR="$deps/usr/share/libexttextcat"
export QLAB_ENGLISH_WORDS="$deps/usr/share/dict/american-english"   # wamerican, the LCB word list
torch_prefix=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')

cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$torch_prefix;$deps/usr" \
  -DBoost_DIR="$deps/usr/lib/x86_64-linux-gnu/cmake/Boost-1.74.0" \
  -DBoost_NO_SYSTEM_PATHS=ON \
  -DQLAB_FMT_OVERRIDE_DIR=/tmp/qlab-fmt \
  -DTORCH_CUDA_ARCH_LIST=9.0 \
  -DQLAB_SHARED_DATA="${QLAB_SHARED_DATA:-$PWD/.carry/shared_data}"
cmake --build "$build" -j"$(nproc)" ${QLAB_TARGETS:+--target $QLAB_TARGETS} -- -k 0 ||
  echo "BUILD HAD ERRORS (continuing with what built)"
if [[ "${QLAB_SKIP_TESTS:-0}" != 1 ]]; then
  (cd "$build" && ctest --output-on-failure -j8 "$@")
fi
