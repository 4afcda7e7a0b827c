#include "services/common/static_files.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>
#include <system_error>

#include "common/files.h"

namespace clickstream::services {
namespace {

// Only what the dashboard's build writes and a browser needs; anything else is served as bytes.
const std::map<std::string, std::string, std::less<>>& MediaTypes() {
  static const auto* const types = new std::map<std::string, std::string, std::less<>>{
      {".css", "text/css; charset=utf-8"},
      {".html", "text/html; charset=utf-8"},
      {".ico", "image/x-icon"},
      {".js", "text/javascript; charset=utf-8"},
      {".json", "application/json"},
      {".map", "application/json"},
      {".png", "image/png"},
      {".svg", "image/svg+xml"},
      {".txt", "text/plain; charset=utf-8"},
  };
  return *types;
}

constexpr std::string_view kHtmlPolicy =
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

ports::HttpResponse FileResponse(const StaticFile& file) {
  ports::HttpResponse response{200, file.body, file.content_type, {}};
  response.headers.emplace_back("Cache-Control", file.cache_control);
  response.headers.emplace_back("X-Content-Type-Options", "nosniff");
  if (file.content_type.rfind("text/html", 0) == 0) {
    response.headers.emplace_back("Content-Security-Policy", std::string(kHtmlPolicy));
  }
  return response;
}

ports::HttpRoute RouteTo(std::string path, std::shared_ptr<const StaticFile> file) {
  return {"GET", std::move(path), [file = std::move(file)](const ports::HttpRequest&, const ports::Respond& respond) {
            respond(FileResponse(*file));
          }};
}

}  // namespace

ports::HttpRoute FileRoute(std::string path, StaticFile file) {
  return RouteTo(std::move(path), std::make_shared<const StaticFile>(std::move(file)));
}

std::string MediaTypeOfFile(std::string_view name) {
  const auto dot = name.rfind('.');
  if (dot != std::string_view::npos) {
    const auto type = MediaTypes().find(name.substr(dot));
    if (type != MediaTypes().end()) return type->second;
  }
  return "application/octet-stream";
}

absl::StatusOr<std::vector<StaticFile>> LoadSite(const std::string& folder) {
  std::error_code error;
  std::filesystem::directory_iterator entries(folder, error);
  if (error) return absl::InvalidArgumentError("cannot read the folder " + folder + ": " + error.message());
  std::vector<StaticFile> files;
  for (const auto& entry : entries) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name[0] == '.' || !entry.is_regular_file(error)) continue;
    auto body = common::ReadWholeFile(entry.path().string(), "static");
    if (!body.ok()) return body.status();
    files.push_back({name, MediaTypeOfFile(name), *std::move(body)});
  }
  std::sort(files.begin(), files.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  if (std::none_of(files.begin(), files.end(), [](const auto& file) { return file.name == "index.html"; })) {
    return absl::InvalidArgumentError("the folder " + folder + " holds no index.html");
  }
  return files;
}

std::vector<ports::HttpRoute> SiteRoutes(std::string_view prefix, std::vector<StaticFile> files) {
  std::vector<ports::HttpRoute> routes;
  const std::string base(prefix);
  for (auto& file : files) {
    auto shared = std::make_shared<const StaticFile>(std::move(file));
    if (shared->name == "index.html") {
      routes.push_back(RouteTo(base, shared));
      routes.push_back(RouteTo(base + "/", shared));
    }
    std::string path = base + "/" + shared->name;
    routes.push_back(RouteTo(std::move(path), std::move(shared)));
  }
  return routes;
}

}  // namespace clickstream::services
