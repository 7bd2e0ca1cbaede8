// The canonical text of one config entry with holes at some of its scalars:
// a sweep's later run gets its entry by putting each swept value's text in
// place, instead of the entry being resolved and emitted again (emitting
// dominated the expansion of large sweeps: docs/benchmarks.md).
//
// Built from an entry's own text (canonical_entry) and checked against it: the
// text read back and emitted again must be itself, and filled with its own
// scalars it must give itself back. Otherwise there is no template, and the
// caller resolves the entry in full.
#pragma once
#include <optional>
#include <string>
#include <vector>

namespace qlab {

class EntryTemplate {
 public:
  // `paths`: for each hole, the map keys and sequence indices from the
  // entry's value down to a scalar (empty: the value is that scalar).
  static std::optional<EntryTemplate> make(const std::string& key, const std::string& entry,
                                           const std::vector<std::vector<std::string>>& paths);
  // The entry with texts[i] (canonical_scalar of a value) at hole i.
  std::string fill(const std::vector<const std::string*>& texts) const;

 private:
  std::vector<std::string> pieces_;   // the text around the holes: one piece more than holes
  std::vector<size_t> holes_;         // the path of each hole, in the order of the text
};

}  // namespace qlab
