// Fingerprints of the files a run reads: the checkpoint folders of `model:`
// and `base_model:` and every data set file. They are part of the run's hash,
// so a changed input gives a new run instead of reusing old results, and are
// stored with it, so `qlab report` can tell which stored runs were made from
// inputs that have changed since.
//
// A folder stands for its regular top-level files (hidden ones and *.md left
// out: notes, not inputs); each file for its size and SHA-256. Hashing a 7B
// checkpoint takes a minute, so content hashes are cached by (path, size,
// mtime) in memory and in a cache file shared by every study: a checkpoint is
// hashed again only after it changed on disk.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace qlab {

struct InputFile {
  std::string role;     // what the run reads it as: "model", "datasets.wiki"
  std::string name;     // the file within a folder input, "" for a file input
  std::string path;     // absolute
  int64_t size = -1;    // -1: missing or unreadable
  std::string sha256;   // "" when missing
};

// Content hashes by path, size and mtime. `file` holds one line per hash
// ("sha256 size mtime_ns path"), appended to as files are hashed; "" keeps
// the cache in memory only.
class FingerprintCache {
 public:
  explicit FingerprintCache(std::string file);
  // The file's SHA-256 and size, or {"", -1} when it cannot be read.
  std::pair<std::string, int64_t> hash(const std::string& path);
  size_t files_hashed() const { return hashed_; }   // read in full by this object

  // The process-wide cache: $QLAB_CACHE_DIR/fingerprints.txt, else
  // $XDG_CACHE_HOME/qlab/..., else ~/.cache/qlab/... (memory only when none is writable).
  static FingerprintCache& shared();

 private:
  struct Entry {
    int64_t size, mtime_ns;
    std::string sha256;
  };
  void load();
  std::string file_;
  bool loaded_ = false;
  std::map<std::string, Entry> entries_;
  size_t hashed_ = 0;
};

// The files of one input (a file, or a folder's files as above), fingerprinted.
// A missing input is one entry with size -1.
std::vector<InputFile> fingerprint_input(const std::string& role, const std::string& path, FingerprintCache& cache);

// The text a run's hash covers besides its config: "role/name sha256" lines,
// without paths, so moving inputs keeps identities and changing them does not.
std::string inputs_identity(const std::vector<InputFile>& inputs);

// As stored with a run (JSON array) and read back.
std::string inputs_json(const std::vector<InputFile>& inputs);
std::vector<InputFile> parse_inputs_json(const std::string& text);

// "" when every stored input still has its fingerprint; otherwise what changed
// ("model/model.safetensors changed"). Inputs no longer present are not
// counted as changed (results read on another machine).
std::string changed_inputs(const std::vector<InputFile>& stored, FingerprintCache& cache);

}  // namespace qlab
