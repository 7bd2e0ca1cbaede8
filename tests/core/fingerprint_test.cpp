// Input fingerprints: content hashes cached by path, size and mtime (a big
// checkpoint is hashed once), part of each run's identity, stored with it,
// and compared again to tell stale runs.
#include "core/fingerprint.h"

#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <filesystem>

#include "core/hash.h"
#include "core/study.h"
#include "test_util.h"

namespace qlab {
namespace {

// Sets a file's mtime (nanoseconds since the epoch).
void set_mtime(const std::string& path, int64_t ns) {
  struct timespec times[2] = {{ns / 1000000000, ns % 1000000000}, {ns / 1000000000, ns % 1000000000}};
  ASSERT_EQ(utimensat(AT_FDCWD, path.c_str(), times, 0), 0);
}

TEST(Fingerprint, IncrementalSha256MatchesOneShot) {
  const std::string data(1000, 'x');
  for (size_t piece : {1u, 63u, 64u, 65u, 999u}) {
    Sha256 h;
    for (size_t i = 0; i < data.size(); i += piece) h.update(data.data() + i, std::min(piece, data.size() - i));
    EXPECT_EQ(h.hex(), sha256_hex(data)) << piece;
  }
}

TEST(Fingerprint, ContentHashCachedByPathSizeAndMtime) {
  const std::string dir = test::temp_dir("fingerprint"), f = dir + "/weights.bin", cache_file = dir + "/cache.txt";
  test::write_file(f, "aaaa");
  set_mtime(f, 1000000000123);
  FingerprintCache cache(cache_file);
  EXPECT_EQ(cache.hash(f), std::make_pair(sha256_hex("aaaa"), int64_t(4)));
  EXPECT_EQ(cache.hash(f).first, sha256_hex("aaaa"));
  EXPECT_EQ(cache.files_hashed(), 1u);
  // Another process reads the cache file: nothing is hashed again; the cache
  // trusts (path, size, mtime), so the same size and mtime give the cached hash.
  test::write_file(f, "bbbb");
  set_mtime(f, 1000000000123);
  FingerprintCache later(cache_file);
  EXPECT_EQ(later.hash(f).first, sha256_hex("aaaa"));
  EXPECT_EQ(later.files_hashed(), 0u);
  // A new mtime (what any write gives) or size: hashed again.
  set_mtime(f, 2000000000000);
  EXPECT_EQ(later.hash(f).first, sha256_hex("bbbb"));
  test::write_file(f, "ccccc");
  EXPECT_EQ(later.hash(f), std::make_pair(sha256_hex("ccccc"), int64_t(5)));
  EXPECT_EQ(later.files_hashed(), 2u);
  EXPECT_EQ(later.hash(dir + "/absent"), std::make_pair(std::string(), int64_t(-1)));
}

TEST(Fingerprint, FolderIsItsTopLevelFilesWithoutHiddenOnesAndNotes) {
  const std::string dir = test::temp_dir("fingerprint_folder");
  test::write_file(dir + "/m/config.json", "{}");
  test::write_file(dir + "/m/model.safetensors", "w");
  test::write_file(dir + "/m/README.md", "notes");
  test::write_file(dir + "/m/.hidden", "h");
  test::write_file(dir + "/m/sub/x", "x");
  FingerprintCache cache("");
  std::vector<InputFile> files = fingerprint_input("model", dir + "/m", cache);
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(files[0].name, "config.json");
  EXPECT_EQ(files[1].name, "model.safetensors");
  EXPECT_EQ(files[1].path, dir + "/m/model.safetensors");
  EXPECT_EQ(files[1].sha256, sha256_hex("w"));
  EXPECT_EQ(inputs_identity(files), "model/config.json " + sha256_hex("{}") + "\nmodel/model.safetensors " + sha256_hex("w") + "\n");
  EXPECT_EQ(parse_inputs_json(inputs_json(files)).at(1).sha256, files[1].sha256);
  // Stale: a stored file whose content changed; one no longer there is not judged.
  EXPECT_EQ(changed_inputs(files, cache), "");
  test::write_file(dir + "/m/model.safetensors", "w2");
  EXPECT_EQ(changed_inputs(files, cache), "model/model.safetensors changed");
  std::filesystem::remove(dir + "/m/model.safetensors");
  EXPECT_EQ(changed_inputs(files, cache), "");
}

// A run's hash covers the contents of what it reads.
TEST(Fingerprint, ChangedInputGivesANewRunIdentity) {
  const std::string dir = test::temp_dir("fingerprint_study");
  test::write_file(dir + "/data/a.txt", "one two three\n");
  const std::string study = dir + "/s.yaml";
  test::write_file(study, "output: " + dir + "/r.h5\nmodel: {path: " + test::fixtures() +
                              "/golden/llama2}\ndata_root: " + dir + "/data\ndatasets: {a: {text: {path: a.txt}}}\n"
                              "evaluators: [{perplexity: {dataset: a, seqlen: 8}}]\n");
  const RunSpec before = load_study(study).runs.at(0);
  std::vector<std::string> roles;
  for (const InputFile& f : before.inputs) roles.push_back(f.role + "/" + f.name);
  EXPECT_NE(std::find(roles.begin(), roles.end(), "model/model.safetensors"), roles.end());
  EXPECT_NE(std::find(roles.begin(), roles.end(), "model/tokenizer.json"), roles.end());
  EXPECT_NE(std::find(roles.begin(), roles.end(), "datasets.a/"), roles.end());
  EXPECT_EQ(load_study(study).runs.at(0).hash, before.hash);
  test::write_file(dir + "/data/a.txt", "one two four\n");
  const RunSpec after = load_study(study).runs.at(0);
  EXPECT_NE(after.hash, before.hash);
  EXPECT_EQ(after.config_yaml, before.config_yaml);
  // Written back: the first run again.
  test::write_file(dir + "/data/a.txt", "one two three\n");
  EXPECT_EQ(load_study(study).runs.at(0).hash, before.hash);
}

}  // namespace
}  // namespace qlab
