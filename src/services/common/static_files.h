// Static files an HTTP service serves as they are: the gateway's dashboard (web/dashboard, built by esbuild) and
// ingestion's tracker script. The files of one folder are read once, at start, and held in memory: they are a few
// small files, and a service then never touches the disk to answer them.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "ports/http.h"

namespace clickstream::services {

struct StaticFile {
  std::string name;  // its file name, no folder
  std::string content_type;
  std::string body;
  std::string cache_control = "no-cache";  // the default: browsers check back before reusing it
};

// The media type served for a file name, by its extension; application/octet-stream when unknown.
std::string MediaTypeOfFile(std::string_view name);

// The regular files directly in `folder` (its subfolders and hidden files are left out), sorted by name. Fails,
// naming the folder, when it cannot be read or holds no index.html.
absl::StatusOr<std::vector<StaticFile>> LoadSite(const std::string& folder);

// GET `path` answering `file`, with its Cache-Control, and telling browsers not to guess another type; an HTML file
// may load scripts, styles and make requests from the service's own origin only.
ports::HttpRoute FileRoute(std::string path, StaticFile file);

// GET routes for a site under `prefix` ("/dashboard"): prefix/<name> for each file, and prefix and prefix/ for its
// index.html.
std::vector<ports::HttpRoute> SiteRoutes(std::string_view prefix, std::vector<StaticFile> files);

}  // namespace clickstream::services
