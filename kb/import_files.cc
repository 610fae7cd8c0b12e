// Reading what `kefu kb import` is given: files, folders walked, zip archives read in memory.
#include <zip.h>

#include <algorithm>
#include <filesystem>
#include <memory>

#include "base/file.h"
#include "kb/import.h"

namespace kefu {
namespace {

namespace fs = std::filesystem;

bool Importable(const std::string& name) {
  std::string ext = fs::path(name).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](char c) { return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c; });
  return ext == ".yml" || ext == ".yaml" || ext == ".json" || ext == ".csv" || ext == ".zip";
}

bool IsZip(std::string_view content) { return content.substr(0, 4) == std::string_view("PK\x03\x04", 4); }

class Collector {
 public:
  explicit Collector(const ImportLimits& limits) : limits_(limits) {}

  Status Add(std::string name, std::string content) {
    if (content.size() > limits_.max_file_bytes) {
      return Status::ResourceExhausted(name + ": larger than " + std::to_string(limits_.max_file_bytes) + " bytes");
    }
    total_ += content.size();
    if (files_.size() >= limits_.max_files || total_ > limits_.max_total_bytes) {
      return Status::ResourceExhausted(name + ": more than " + std::to_string(limits_.max_files) + " files or " +
                                       std::to_string(limits_.max_total_bytes) + " bytes to import");
    }
    if (IsZip(content)) return AddZip(name, content);
    files_.push_back({std::move(name), std::move(content)});
    return Status::OK();
  }

  Status AddPath(const std::string& path) {
    std::error_code ec;
    const fs::file_status st = fs::status(path, ec);
    if (ec || !fs::exists(st)) return Status::NotFound(path + ": no such file or folder");
    if (!fs::is_directory(st)) return AddFile(path, path);
    std::vector<std::string> found;
    fs::recursive_directory_iterator it(path, fs::directory_options::skip_permission_denied, ec), end;
    for (; !ec && it != end; it.increment(ec)) {
      const std::string name = it->path().filename().string();
      if (!name.empty() && name[0] == '.') {
        if (it->is_directory()) it.disable_recursion_pending();
        continue;
      }
      if (it->is_regular_file() && Importable(name)) found.push_back(it->path().string());
    }
    if (ec) return Status::IOError(path + ": " + ec.message());
    std::sort(found.begin(), found.end());
    for (const std::string& f : found) KEFU_RETURN_IF_ERROR(AddFile(f, f));
    return Status::OK();
  }

  std::vector<ImportFile> Take() { return std::move(files_); }

 private:
  Status AddFile(const std::string& path, std::string name) {
    auto content = ReadFileToString(path, limits_.max_file_bytes);
    if (!content.ok()) return content.status();
    return Add(std::move(name), std::move(*content));
  }

  // Each member of the archive that a folder walk would take, named "<archive>/<member>".
  Status AddZip(const std::string& name, const std::string& content) {
    zip_error_t error;
    zip_error_init(&error);
    zip_source_t* source = zip_source_buffer_create(content.data(), content.size(), 0, &error);
    zip_t* archive = source == nullptr ? nullptr : zip_open_from_source(source, ZIP_RDONLY, &error);
    if (archive == nullptr) {
      if (source != nullptr) zip_source_free(source);
      const std::string why = zip_error_strerror(&error);
      zip_error_fini(&error);
      return Status::InvalidArgument(name + ": not a readable zip archive: " + why);
    }
    zip_error_fini(&error);
    std::unique_ptr<zip_t, void (*)(zip_t*)> closer(archive, [](zip_t* z) { zip_discard(z); });
    const zip_int64_t n = zip_get_num_entries(archive, 0);
    for (zip_int64_t i = 0; i < n; ++i) {
      zip_stat_t st;
      if (zip_stat_index(archive, static_cast<zip_uint64_t>(i), 0, &st) != 0 || st.name == nullptr) continue;
      const std::string member = st.name;
      if (member.empty() || member.back() == '/' || !Importable(member) || IsHidden(member)) continue;
      if (fs::path(member).extension() == ".zip") continue;  // archives inside archives: not opened
      std::string data;
      KEFU_RETURN_IF_ERROR(ReadMember(archive, i, name + "/" + member, &data));
      files_.push_back({name + "/" + member, std::move(data)});
    }
    return Status::OK();
  }

  static bool IsHidden(const std::string& member) {
    return member[0] == '.' || member.find("/.") != std::string::npos || member.rfind("__MACOSX/", 0) == 0;
  }

  // Reads at most max_file_bytes + 1 bytes, whatever the archive claims the size is.
  Status ReadMember(zip_t* archive, zip_int64_t index, const std::string& name, std::string* out) {
    zip_file_t* file = zip_fopen_index(archive, static_cast<zip_uint64_t>(index), 0);
    if (file == nullptr) return Status::InvalidArgument(name + ": cannot be read from the archive");
    char buffer[65536];
    zip_int64_t got = 0;
    while ((got = zip_fread(file, buffer, sizeof(buffer))) > 0) {
      out->append(buffer, static_cast<size_t>(got));
      total_ += static_cast<size_t>(got);
      if (out->size() > limits_.max_file_bytes || total_ > limits_.max_total_bytes) {
        zip_fclose(file);
        return Status::ResourceExhausted(name + ": larger than " + std::to_string(limits_.max_file_bytes) +
                                         " bytes (or too much to import in all)");
      }
    }
    zip_fclose(file);
    if (got < 0) return Status::InvalidArgument(name + ": cannot be read from the archive");
    if (files_.size() >= limits_.max_files) {
      return Status::ResourceExhausted(name + ": more than " + std::to_string(limits_.max_files) + " files to import");
    }
    return Status::OK();
  }

  const ImportLimits& limits_;
  std::vector<ImportFile> files_;
  size_t total_ = 0;
};

}  // namespace

Result<std::vector<ImportFile>> ReadImportFiles(const std::vector<std::string>& paths, const ImportLimits& limits) {
  Collector collector(limits);
  for (const std::string& p : paths) KEFU_RETURN_IF_ERROR(collector.AddPath(p));
  return collector.Take();
}

}  // namespace kefu
