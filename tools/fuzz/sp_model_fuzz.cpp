// libFuzzer target: any byte string given to the tokenizer.model reader must
// either give a model whose tokenizer.json conversion succeeds or raise
// UsageError. Any other exception, a crash, or a sanitizer report is a bug.
#include <cstddef>
#include <cstdint>

#include "core/error.h"
#include "core/model/sp_model.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    qlab::SpModel m = qlab::SpModel::parse(data, size, "fuzz.model");
    m.to_tokenizer_json("fuzz.model");
  } catch (const qlab::UsageError&) {
  }
  return 0;
}
