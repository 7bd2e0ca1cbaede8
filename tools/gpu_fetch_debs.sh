#!/usr/bin/env bash
# Run on a Debian 12 CPU machine: downloads the .deb files tools/gpu_build.sh
# unpacks on the GPU machine (which has no network) into .carry/debs.
set -euo pipefail
mkdir -p .carry/debs && cd .carry/debs
apt-get download libboost1.74-dev libboost-program-options1.74-dev libboost-program-options1.74.0 \
  libcld2-0 libcld2-dev libexttextcat-2.0-0 libexttextcat-dev libexttextcat-data \
  libpcre2-dev libfasttext0 libfasttext-dev wamerican
