// One host, several worker processes on one study (`qlab run --workers N`,
// `--gpus all|0,1,...`): each worker is the same qlab binary (/proc/self/exe)
// started with the same arguments plus a hidden `--worker i`; the runner's
// per-run locks (core/runner.h) share the runs out, so a worker with nothing
// left does not idle while another still has a queue, and each writes its own
// file (core/shards.h). GPU workers see one device each through
// CUDA_VISIBLE_DEVICES. Workers run in their own process group, so a Ctrl-C
// reaches them once, forwarded by the launcher (twice: abandon the runs), and
// they stop after their current run if the launcher dies (PR_SET_PDEATHSIG).
#pragma once
#include <cstddef>
#include <map>
#include <string>
#include <vector>

namespace qlab {

// GPUs of this host: the lines of `nvidia-smi -L`, else the entries of
// /proc/driver/nvidia/gpus, else 0.
size_t host_gpu_count();

// `--gpus` as device indices: "all" (every GPU of the host) or "0,2".
// Throws UsageError "--gpus: ..." for no GPU on the host, an index the host
// does not have, a repeated or malformed one.
std::vector<std::string> parse_gpus(const std::string& text, size_t available);

// Starts one worker per entry of `env` (variables added to its environment)
// as `/proc/self/exe ARGS... --worker i`, forwards SIGINT/SIGTERM to them,
// waits for all and returns the worst exit code: 130 if any was interrupted,
// else 2, else 1 (a worker failed runs or died of a signal), else 0.
int run_workers(const std::vector<std::string>& args, const std::vector<std::map<std::string, std::string>>& env);

}  // namespace qlab
