#!/usr/bin/env bash
# Installs what qlab needs on Debian 12, by package name. Idempotent: does
# nothing (not even `apt-get update`) when everything is already installed.
#   tools/install_deps.sh           what building qlab and running studies need
#   tools/install_deps.sh --tests   that, and what only the test suite needs:
#                                   GoogleTest, h5py and pandas, Chromium (for
#                                   the HTML report's test), and a local
#                                   single-node Slurm (tools/slurm_local.sh, which
#                                   installs its own packages; when it fails the
#                                   build goes on and the slurm tests skip)
# The test-only part is about a fifth of the download (Chromium most of it),
# a minute of the first command's budget on a fresh machine.
# Japanese lines of the LCB get MeCab with the small IPAdic (mecab-ipadic-utf8:
# a 7 MB download, about 150 MB once compiled at install); the
# reference's dictionary, UniDic (a 1 GB download, 5 GB installed), only with
#   QLAB_WITH_UNIDIC=1 tools/install_deps.sh
# which a researcher reproducing the LCB's ja numbers needs (docs/evaluators.md;
# the ja segmenter takes UniDic wherever it is installed).
set -euo pipefail
packages=(
  build-essential cmake ninja-build ccache pkg-config git
  libtorch-dev libopenblas0-pthread           # LibTorch 1.13 (CPU) + a fast BLAS behind it
  libyaml-cpp-dev libhdf5-dev libboost-program-options-dev libspdlog-dev
  nlohmann-json3-dev
  libpcre2-dev                                # tokenizer pre-tokenizer regexes
  libcld2-dev libexttextcat-dev libexttextcat-data   # language identification (N-Mix)
  libfasttext-dev                             # fastText language identification (lid.176, the LCB's identifier)
  wamerican                                   # /usr/share/dict/words: the LCB's English word list
  python3-jieba                               # jieba's dictionary and HMM tables: the LCB's zh word segmentation
  libmecab-dev mecab-ipadic-utf8              # MeCab + IPAdic: the LCB's ja segmentation (UniDic: see above)
  libjs-chart.js                              # plots of `qlab report --format html`, inlined into the page
)
tests=0
case ${1:-} in
  --tests) tests=1 ;;
  "") ;;
  *) echo "usage: tools/install_deps.sh [--tests]" >&2; exit 2 ;;
esac
if ((tests)); then
  packages+=(
    libgtest-dev
    python3-h5py python3-pandas               # the test that reads results from Python
    chromium                                  # the test that opens the HTML report in a browser
  )
fi
if [[ ${QLAB_WITH_UNIDIC:-0} == 1 ]]; then packages+=(unidic-mecab); fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
sudo=""; [[ $(id -u) -ne 0 ]] && sudo=sudo
if ((${#missing[@]})); then
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
((tests)) || exit 0
if [[ -z $sudo ]] || sudo -n true 2>/dev/null; then
  $sudo "$(dirname "$0")/slurm_local.sh" ||
    echo "*** install_deps.sh: the local Slurm did not start; the slurm tests will skip ***" >&2
else
  echo "*** install_deps.sh: not root and no sudo: no local Slurm; the slurm tests will skip ***" >&2
fi
