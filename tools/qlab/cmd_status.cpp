// `qlab status STUDY [key=value ...]`: each run of the study done, failed (with
// its error), running (a live lock) or missing, across all its results files,
// with counts and the compute time so far (core/study_status.h).
#include <boost/program_options.hpp>
#include <iostream>

#include "core/error.h"
#include "core/study_status.h"
#include "tools/qlab/command.h"
#include "tools/qlab/study_command.h"

namespace po = boost::program_options;

namespace qlab::cli {
namespace {

const char* const kHelpTail = R"(
STUDY and its key=value overrides as given to `qlab run` (the overrides
change run hashes). Reads the study's output, its shard files
(<stem>.shard<i>of<n>.h5) and worker files (<stem>.w<i>.h5) as one; runs
nothing and writes nothing. Exit 0 however the runs stand.
)";

int status_main(const std::vector<std::string>& args) {
  std::string format = "md";
  po::options_description visible("usage: qlab status STUDY [key=value ...] [options]");
  visible.add_options()
      ("help,h", "show this help")
      ("format", po::value(&format), "md, csv or json (default md)");
  StudyCommandLine line;
  if (!line.parse("status", visible, args, kHelpTail)) return kExitOk;
  StatusFormat status_format = parse_status_format(format);
  Study study = line.load();
  std::cout << format_status(study_status(study), status_format);
  return kExitOk;
}

}  // namespace

QLAB_COMMAND(status, "status", "where each run of a study stands: done, failed, running, missing", status_main);

}  // namespace qlab::cli
