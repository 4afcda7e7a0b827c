// A blocking HTTP/1.1 client over libcurl, one keep-alive connection reused across requests: what the command-line
// tools need to talk to a running stack. Not for the services' request paths.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace clickstream::cli {

struct HttpAnswer {
  long status = 0;
  std::string body;
};

class HttpClient {
 public:
  // `headers` ("Name: value") go with every request, e.g. an API key.
  explicit HttpClient(std::vector<std::string> headers = {});
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // UNAVAILABLE when no answer came (refused, reset, timed out): the message says which.
  absl::StatusOr<HttpAnswer> Get(const std::string& url, std::chrono::milliseconds timeout);
  absl::StatusOr<HttpAnswer> Post(const std::string& url, const std::string& body, const std::string& content_type,
                                  std::chrono::milliseconds timeout);
  // `text` percent-encoded for a query string.
  std::string Escape(const std::string& text);

 private:
  absl::StatusOr<HttpAnswer> Perform(const std::string& url, const std::string* body, const std::string& content_type,
                                     std::chrono::milliseconds timeout);

  struct Handle;
  std::unique_ptr<Handle> handle_;
  std::vector<std::string> headers_;
};

// "X-API-Key: <key>" when `api_key` is set: the headers of a command's requests.
std::vector<std::string> ApiKeyHeaders(const std::string& api_key);

// The body of `answer` when it is a 200; otherwise prints "FAILED: " and why (no answer, or the status and body) and
// returns nullopt.
std::optional<std::string> OkBody(const absl::StatusOr<HttpAnswer>& answer);

}  // namespace clickstream::cli
