// How a study's results are spread over files: shards (`qlab run --shard i/n`,
// one Slurm array task each) and workers (`--workers N` / `--gpus`) each write
// their own file beside the study's `output`, and every reader of the study
// (the runner's skip check, `qlab status`) takes all of them as one.
//
//   results/q.h5                 a serial run
//   results/q.shard2of4.h5       shard 2 of 4
//   results/q.w1.h5              worker 1 of a serial launch
//   results/q.shard2of4.w1.h5    worker 1 inside shard 2 of 4
//
// A run belongs to shard hash % n (its hash read as a 64-bit number), so its
// shard does not change when the YAML is reordered or runs are added.
// Files of the earlier position-based shards have the same names and are
// read the same way: a run complete in any file of the study is complete.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace qlab {

// "i/n" with 0 <= i < n; throws UsageError "--shard: ..." otherwise.
std::pair<size_t, size_t> parse_shard(const std::string& text);

// The shard of n that owns a run: its 16-hex-digit hash as a number, mod n.
// Throws std::invalid_argument for a hash that is not hexadecimal.
size_t shard_of(const std::string& hash, size_t count);

// Results file of shard i of n: "<stem>.shard<i>of<n>.h5" beside `output`;
// `output` itself when n == 1.
std::string shard_output(const std::string& output, size_t index, size_t count);

// Results file of worker w writing `file`: "<stem>.w<w>.h5"; `file` itself when worker < 0.
std::string worker_output(const std::string& file, int worker);

// `output` and every shard or worker file of it that exists, in name order.
std::vector<std::string> study_files(const std::string& output);

}  // namespace qlab
