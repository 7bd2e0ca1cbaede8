// Japanese word segmentation by MeCab (libmecab), as the Language Confusion
// Benchmark's reference runs it through fugashi: `Tagger("-O wakati")`, the
// line's tokens being its wakati output split at whitespace (the surface
// forms, what fugashi's word.surface gives). Optional: CMake defines
// QLAB_HAVE_MECAB where it finds libmecab-dev; without it no segmenter is made
// and ja lines keep the stand-in (evaluation/common/word_segmenter.h).
#pragma once
#include <memory>
#include <string>

#include "evaluation/common/word_segmenter.h"

namespace qlab {

// Whether this build links MeCab.
bool mecab_built_in();

// A segmenter over the compiled dictionary in `dicdir` (sys.dic, dicrc, ...);
// null when MeCab is not built in. Throws UsageError "DICDIR: ..." when MeCab
// cannot open it.
std::unique_ptr<WordSegmenter> make_mecab_segmenter(const std::string& dicdir);

}  // namespace qlab
