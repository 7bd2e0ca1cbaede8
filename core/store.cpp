#include "core/store.h"

#include <H5Cpp.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <system_error>

#include "core/error.h"

namespace fs = std::filesystem;

namespace qlab {
namespace {

const char* const kFormat = "qlab-results";

// HDF5 prints its whole error stack to stderr by default; ours is one line.
void silence_hdf5() {
  static const bool silenced = [] {
    H5::Exception::dontPrint();
    return true;
  }();
  (void)silenced;
}

std::string h5_message(const H5::Exception& e) {
  std::string m = e.getFuncName();
  std::string d = e.getDetailMsg();
  return m.empty() ? d : m + ": " + d;
}

std::string os_error(const std::string& what) { return what + ": " + std::strerror(errno); }

// Folder holding FILE ("." for a bare name): temporary files and the lock live there.
fs::path folder_of(const std::string& path) {
  fs::path dir = fs::path(path).parent_path();
  return dir.empty() ? fs::path(".") : dir;
}

// ---- attributes and datasets ------------------------------------------------

H5::StrType utf8_string() {
  H5::StrType t(H5::PredType::C_S1, H5T_VARIABLE);
  t.setCset(H5T_CSET_UTF8);
  return t;
}

void write_string_attr(H5::H5Object& obj, const std::string& name, const std::string& value) {
  H5::StrType t = utf8_string();
  obj.createAttribute(name, t, H5::DataSpace(H5S_SCALAR)).write(t, value);
}

template <typename T>
void write_number_attr(H5::H5Object& obj, const std::string& name, const H5::PredType& type, T value) {
  obj.createAttribute(name, type, H5::DataSpace(H5S_SCALAR)).write(type, &value);
}

std::string read_string_attr(const H5::H5Object& obj, const std::string& name) {
  if (!obj.attrExists(name)) return "";
  std::string value;
  obj.openAttribute(name).read(utf8_string(), value);
  return value;
}

template <typename T>
T read_number_attr(const H5::H5Object& obj, const std::string& name, const H5::PredType& type) {
  T value{};
  if (obj.attrExists(name)) obj.openAttribute(name).read(type, &value);
  return value;
}

void write_scalars(H5::Group& parent, const std::string& group, const std::map<std::string, double>& values) {
  H5::Group g = parent.createGroup(group);
  for (const auto& [name, v] : values)
    g.createDataSet(name, H5::PredType::NATIVE_DOUBLE, H5::DataSpace(H5S_SCALAR)).write(&v, H5::PredType::NATIVE_DOUBLE);
}

void write_array(H5::Group& g, const std::string& name, const Array& array) {
  std::visit(
      [&](const auto& v) {
        using T = typename std::decay_t<decltype(v)>::value_type;
        hsize_t n = v.size();
        H5::DataSpace space(1, &n);
        if constexpr (std::is_same_v<T, std::string>) {
          H5::StrType t = utf8_string();
          H5::DataSet ds = g.createDataSet(name, t, space);
          std::vector<const char*> ptrs;
          for (const auto& s : v) ptrs.push_back(s.c_str());
          if (n > 0) ds.write(ptrs.data(), t);
        } else {
          const H5::PredType& t = std::is_same_v<T, double> ? H5::PredType::NATIVE_DOUBLE : H5::PredType::NATIVE_INT64;
          H5::DataSet ds = g.createDataSet(name, t, space);
          if (n > 0) ds.write(v.data(), t);
        }
      },
      array);
}

void write_run(H5::Group& g, const RunRecord& r) {
  write_string_attr(g, "study", r.study);
  write_string_attr(g, "config", r.config);
  write_string_attr(g, "inputs", r.inputs);
  write_string_attr(g, "axes", nlohmann::json(r.axes).dump());
  write_number_attr(g, "index", H5::PredType::NATIVE_INT64, r.index);
  write_number_attr(g, "seed", H5::PredType::NATIVE_UINT64, r.seed);
  write_string_attr(g, "status", r.status);
  write_string_attr(g, "error", r.error);
  write_string_attr(g, "start_time", r.start_time);
  write_string_attr(g, "end_time", r.end_time);
  write_string_attr(g, "qlab_version", r.qlab_version);
  write_string_attr(g, "git_commit", r.git_commit);
  write_string_attr(g, "host", r.host);
  write_string_attr(g, "device", r.device);
  write_string_attr(g, "torch_version", r.torch_version);
  write_scalars(g, "metrics", r.output.metrics);
  write_scalars(g, "timing", r.output.timing);
  H5::Group arrays = g.createGroup("arrays");
  for (const auto& [name, a] : r.output.arrays) write_array(arrays, name, a);
}

std::vector<std::string> children(const H5::Group& g) {
  std::vector<std::string> names;
  for (hsize_t i = 0; i < g.getNumObjs(); ++i) names.push_back(g.getObjnameByIdx(i));
  return names;
}

std::map<std::string, double> read_scalars(const H5::Group& run, const std::string& group) {
  std::map<std::string, double> values;
  if (!run.nameExists(group)) return values;
  H5::Group g = run.openGroup(group);
  for (const auto& name : children(g)) {
    H5::DataSet ds = g.openDataSet(name);
    if (ds.getSpace().getSimpleExtentNpoints() != 1) throw std::runtime_error(group + "/" + name + " is not a scalar");
    ds.read(&values[name], H5::PredType::NATIVE_DOUBLE);
  }
  return values;
}

Array read_array(const H5::DataSet& ds) {
  size_t n = ds.getSpace().getSimpleExtentNpoints();
  switch (ds.getTypeClass()) {
    case H5T_FLOAT: {
      std::vector<double> v(n);
      if (n > 0) ds.read(v.data(), H5::PredType::NATIVE_DOUBLE);
      return v;
    }
    case H5T_INTEGER: {
      std::vector<int64_t> v(n);
      if (n > 0) ds.read(v.data(), H5::PredType::NATIVE_INT64);
      return v;
    }
    case H5T_STRING: {
      std::vector<std::string> v(n);
      if (n == 0) return v;
      H5::StrType t = utf8_string();
      std::vector<char*> ptrs(n, nullptr);
      ds.read(ptrs.data(), t);
      for (size_t i = 0; i < n; ++i) v[i] = ptrs[i] ? ptrs[i] : "";
      H5::DataSet::vlenReclaim(ptrs.data(), t, ds.getSpace());
      return v;
    }
    default:
      throw std::runtime_error("dataset of unsupported type");
  }
}

RunRecord read_run(const H5::Group& g, const std::string& hash) {
  RunRecord r;
  r.hash = hash;
  r.study = read_string_attr(g, "study");
  r.config = read_string_attr(g, "config");
  r.inputs = read_string_attr(g, "inputs");
  std::string axes = read_string_attr(g, "axes");
  if (!axes.empty()) r.axes = nlohmann::json::parse(axes).get<std::map<std::string, std::string>>();
  r.index = read_number_attr<int64_t>(g, "index", H5::PredType::NATIVE_INT64);
  r.seed = read_number_attr<uint64_t>(g, "seed", H5::PredType::NATIVE_UINT64);
  r.status = read_string_attr(g, "status");
  r.error = read_string_attr(g, "error");
  r.start_time = read_string_attr(g, "start_time");
  r.end_time = read_string_attr(g, "end_time");
  r.qlab_version = read_string_attr(g, "qlab_version");
  r.git_commit = read_string_attr(g, "git_commit");
  r.host = read_string_attr(g, "host");
  r.device = read_string_attr(g, "device");
  r.torch_version = read_string_attr(g, "torch_version");
  r.output.metrics = read_scalars(g, "metrics");
  r.output.timing = read_scalars(g, "timing");
  if (g.nameExists("arrays")) {
    H5::Group arrays = g.openGroup("arrays");
    for (const auto& name : children(arrays)) r.output.arrays[name] = read_array(arrays.openDataSet(name));
  }
  return r;
}

// ---- files --------------------------------------------------------------------

H5::FileAccPropList file_access() {
  H5::FileAccPropList fapl;
  // The 1.8 format and later checksum their metadata, so a damaged file is an
  // error on open or read instead of garbage; every h5py reads it.
  fapl.setLibverBounds(H5F_LIBVER_V18, H5F_LIBVER_LATEST);
  return fapl;
}

// Opens an existing results file, or throws UsageError saying why it is not one.
// `visit` reads what the caller needs while the file is open; any HDF5 or
// parse failure inside it means a damaged file and becomes the same error.
template <typename Visit>
void with_results_file(const std::string& path, Visit visit) {
  silence_hdf5();
  auto not_results = [&](const std::string& why) { return UsageError(path + ": not a qlab results file (" + why + ")"); };
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) throw not_results("not a regular file");
  try {
    if (!H5::H5File::isHdf5(path)) throw not_results("not an HDF5 file");
    H5::H5File f(path, H5F_ACC_RDONLY, H5::FileCreatPropList::DEFAULT, file_access());
    if (read_string_attr(f, "format") != kFormat) throw not_results("no format attribute \"qlab-results\"");
    int64_t version = read_number_attr<int64_t>(f, "format_version", H5::PredType::NATIVE_INT64);
    if (version < 1 || version > kStoreFormatVersion)
      throw not_results("format_version " + std::to_string(version) + ", this qlab reads " + std::to_string(kStoreFormatVersion));
    if (f.nameExists("runs")) visit(f.openGroup("runs"));
  } catch (const UsageError&) {
    throw;
  } catch (const H5::Exception& e) {
    throw not_results("damaged: " + h5_message(e));
  } catch (const std::exception& e) {   // bad JSON in "axes", a non-scalar metric, ...
    throw not_results(std::string("damaged: ") + e.what());
  }
}

// Exclusive lock on the results file's folder while a commit builds its
// temporary copy: concurrent writers of one file then serialise instead of
// losing each other's runs, and any FILE.tmp-* seen under the lock is stale.
class FolderLock {
 public:
  explicit FolderLock(const fs::path& dir) : fd_(open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) {
    if (fd_ < 0) throw std::runtime_error(os_error("open " + dir.string()));
    while (flock(fd_, LOCK_EX) != 0) {
      if (errno != EINTR) {
        int saved = errno;
        close(fd_);
        errno = saved;
        throw std::runtime_error(os_error("lock " + dir.string()));
      }
    }
  }
  ~FolderLock() { close(fd_); }
  FolderLock(const FolderLock&) = delete;
  FolderLock& operator=(const FolderLock&) = delete;

 private:
  int fd_;
};

void remove_stale_temporaries(const std::string& path) {
  std::string prefix = fs::path(path).filename().string() + ".tmp-";
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(folder_of(path), ec)) {
    if (entry.path().filename().string().rfind(prefix, 0) == 0) fs::remove(entry.path(), ec);
  }
}

void fsync_path(const std::string& path, int flags) {
  int fd = open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error(os_error("open " + path));
  int rc = fsync(fd);
  int saved = errno;
  close(fd);
  errno = saved;
  if (rc != 0) throw std::runtime_error(os_error("fsync " + path));
}

bool valid_name(const std::string& name) { return !name.empty() && name != "." && name.find('/') == std::string::npos; }

}  // namespace

void check_output_names(const RunOutput& out) {
  auto check = [](const char* kind, const std::string& name) {
    if (!valid_name(name)) throw std::invalid_argument(std::string(kind) + " name '" + name + "' is empty or contains '/'");
  };
  for (const auto& [n, v] : out.metrics) check("metric", n);
  for (const auto& [n, v] : out.arrays) check("array", n);
  for (const auto& [n, v] : out.timing) check("timing", n);
}

Store::Store(std::string path, bool writable) : path_(std::move(path)) {
  for (const auto& run : read_summaries(path_)) status_[run.hash] = run.status;
  if (!writable) return;
  try {
    fs::path dir = folder_of(path_);
    fs::create_directories(dir);
    FolderLock lock(dir);
    remove_stale_temporaries(path_);
    std::string probe = path_ + ".tmp-" + std::to_string(getpid());
    int fd = open(probe.c_str(), O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) throw std::runtime_error(os_error("create " + probe));
    close(fd);
    fs::remove(probe);
  } catch (const std::exception& e) {
    throw UsageError(path_ + ": cannot write results (" + e.what() + ")");
  }
}

std::string Store::status(const std::string& hash) const {
  auto it = status_.find(hash);
  return it == status_.end() ? "" : it->second;
}

void Store::commit(const RunRecord& run) {
  silence_hdf5();
  check_output_names(run.output);
  std::string tmp = path_ + ".tmp-" + std::to_string(getpid());
  try {
    fs::path dir = folder_of(path_);
    FolderLock lock(dir);
    bool exists = fs::exists(path_);
    if (exists) fs::copy_file(path_, tmp, fs::copy_options::overwrite_existing);
    {
      H5::H5File f = exists ? H5::H5File(tmp, H5F_ACC_RDWR, H5::FileCreatPropList::DEFAULT, file_access())
                            : H5::H5File(tmp, H5F_ACC_TRUNC, H5::FileCreatPropList::DEFAULT, file_access());
      if (!exists) {
        write_string_attr(f, "format", kFormat);
        write_number_attr(f, "format_version", H5::PredType::NATIVE_INT64, int64_t{kStoreFormatVersion});
      }
      {
        H5::Group runs = f.nameExists("runs") ? f.openGroup("runs") : f.createGroup("runs");
        if (runs.nameExists(run.hash)) runs.unlink(run.hash);   // a failed run being redone
        H5::Group g = runs.createGroup(run.hash);
        write_run(g, run);
      }
      f.close();   // explicit: a destructor would swallow a failed final write
    }
    fsync_path(tmp, O_RDONLY);
    if (std::rename(tmp.c_str(), path_.c_str()) != 0) throw std::runtime_error(os_error("rename " + tmp));
    fsync_path(dir.string(), O_RDONLY | O_DIRECTORY);   // makes the rename itself durable
  } catch (const H5::Exception& e) {
    std::error_code ec;
    fs::remove(tmp, ec);
    throw UsageError(path_ + ": cannot write results (" + h5_message(e) + ")");
  } catch (const std::exception& e) {
    std::error_code ec;
    fs::remove(tmp, ec);
    throw UsageError(path_ + ": cannot write results (" + e.what() + ")");
  }
  status_[run.hash] = run.status;
}

std::vector<RunSummary> read_summaries(const std::string& path) {
  std::vector<RunSummary> runs;
  std::error_code ec;
  if (!fs::exists(path, ec)) return runs;
  with_results_file(path, [&](const H5::Group& g) {
    for (const auto& hash : children(g)) {
      H5::Group run = g.openGroup(hash);
      RunSummary s{hash, read_string_attr(run, "status"), read_string_attr(run, "error"), read_string_attr(run, "end_time")};
      if (run.nameExists("timing")) {
        H5::Group timing = run.openGroup("timing");
        if (timing.nameExists("total")) timing.openDataSet("total").read(&s.seconds, H5::PredType::NATIVE_DOUBLE);
      }
      runs.push_back(std::move(s));
    }
  });
  return runs;
}

std::vector<RunRecord> read_runs(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) throw UsageError(path + ": no such file");
  std::vector<RunRecord> runs;
  with_results_file(path, [&](const H5::Group& g) {
    for (const auto& hash : children(g)) runs.push_back(read_run(g.openGroup(hash), hash));
  });
  return runs;
}

}  // namespace qlab
