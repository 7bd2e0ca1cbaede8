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

// Which dictionary `dicdir` holds, by what its dicrc names: "UniDic" (UniDic's
// dicrc names its output formats unidic22, ...), "IPAdic" (IPAdic's says it
// is IPADIC's), "" for any other or none. Needs no MeCab.
std::string mecab_dictionary_name(const std::string& dicdir);

// A segmenter over the compiled dictionary in `dicdir` (sys.dic, dicrc, ...);
// null when MeCab is not built in. Its `describe` names the dictionary
// ("MeCab 0.996 (UniDic, dictionary DIR)") and says when it is not the
// reference's UniDic. Throws UsageError "DICDIR: ..." when MeCab
// cannot open it.
std::unique_ptr<WordSegmenter> make_mecab_segmenter(const std::string& dicdir);

}  // namespace qlab
