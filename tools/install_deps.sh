#!/usr/bin/env bash
# Installs what qlab needs on Debian 12, by package name. Idempotent: does
# nothing (not even `apt-get update`) when everything is already installed.
# Japanese lines of the LCB get MeCab with the small IPAdic (mecab-ipadic-utf8:
# a 7 MB download, about 150 MB once compiled at install); the
# reference's dictionary, UniDic (a 1 GB download, 5 GB installed), only with
#   QLAB_WITH_UNIDIC=1 tools/install_deps.sh
# which a researcher reproducing the LCB's ja numbers needs (docs/evaluators.md;
# the ja segmenter takes UniDic wherever it is installed).
# Then starts the local single-node Slurm the `slurm` tests submit to
# (tools/slurm_local.sh, which installs its own packages); when that fails
# the build goes on and those tests skip with a message.
set -euo pipefail
packages=(
  build-essential cmake ninja-build ccache pkg-config git
  libtorch-dev libopenblas0-pthread           # LibTorch 1.13 (CPU) + a fast BLAS behind it
  libyaml-cpp-dev libhdf5-dev libboost-program-options-dev libspdlog-dev
  libgtest-dev nlohmann-json3-dev
  libpcre2-dev                                # tokenizer pre-tokenizer regexes
  libcld2-dev libexttextcat-dev libexttextcat-data   # language identification (N-Mix)
  libfasttext-dev                             # fastText language identification (lid.176, the LCB's identifier)
  wamerican                                   # /usr/share/dict/words: the LCB's English word list
  python3-jieba                               # jieba's dictionary and HMM tables: the LCB's zh word segmentation
  libmecab-dev mecab-ipadic-utf8              # MeCab + IPAdic: the LCB's ja segmentation (UniDic: see above)
  python3-h5py python3-pandas                 # only for the test that reads results from Python
  libjs-chart.js                              # plots of `qlab report --format html`, inlined into the page
  chromium                                    # only for the test that opens that page in a browser
)
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
if [[ -z $sudo ]] || sudo -n true 2>/dev/null; then
  $sudo "$(dirname "$0")/slurm_local.sh" ||
    echo "*** install_deps.sh: the local Slurm did not start; the slurm tests will skip ***" >&2
else
  echo "*** install_deps.sh: not root and no sudo: no local Slurm; the slurm tests will skip ***" >&2
fi
