#include "cli/http_client.h"

#include <cstdio>

#include <curl/curl.h>

namespace clickstream::cli {
namespace {

std::size_t Append(char* data, std::size_t size, std::size_t count, void* out) {
  static_cast<std::string*>(out)->append(data, size * count);
  return size * count;
}

}  // namespace

struct HttpClient::Handle {
  Handle() : curl(curl_easy_init()) {}
  ~Handle() {
    if (curl != nullptr) curl_easy_cleanup(curl);
  }
  CURL* curl;
};

HttpClient::HttpClient(std::vector<std::string> headers)
    : handle_(std::make_unique<Handle>()), headers_(std::move(headers)) {}
HttpClient::~HttpClient() = default;

absl::StatusOr<HttpAnswer> HttpClient::Get(const std::string& url, std::chrono::milliseconds timeout) {
  return Perform(url, nullptr, "", timeout);
}

absl::StatusOr<HttpAnswer> HttpClient::Post(const std::string& url, const std::string& body,
                                            const std::string& content_type, std::chrono::milliseconds timeout) {
  return Perform(url, &body, content_type, timeout);
}

std::string HttpClient::Escape(const std::string& text) {
  char* escaped = curl_easy_escape(handle_->curl, text.data(), static_cast<int>(text.size()));
  std::string out = escaped != nullptr ? escaped : "";
  curl_free(escaped);
  return out;
}

absl::StatusOr<HttpAnswer> HttpClient::Perform(const std::string& url, const std::string* body,
                                               const std::string& content_type, std::chrono::milliseconds timeout) {
  CURL* curl = handle_->curl;
  if (curl == nullptr) return absl::InternalError("libcurl could not make a handle");
  HttpAnswer answer;
  curl_slist* headers = nullptr;
  for (const auto& header : headers_) headers = curl_slist_append(headers, header.c_str());
  if (body != nullptr) headers = curl_slist_append(headers, ("Content-Type: " + content_type).c_str());
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, Append);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &answer.body);
  if (body != nullptr) {
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body->data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body->size()));
  } else {
    curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
  }
  const CURLcode code = curl_easy_perform(curl);
  curl_slist_free_all(headers);
  if (code != CURLE_OK) return absl::UnavailableError(url + ": " + curl_easy_strerror(code));
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &answer.status);
  return answer;
}

std::vector<std::string> ApiKeyHeaders(const std::string& api_key) {
  if (api_key.empty()) return {};
  return {"X-API-Key: " + api_key};
}

std::optional<std::string> OkBody(const absl::StatusOr<HttpAnswer>& answer) {
  if (!answer.ok()) {
    std::printf("FAILED: %s\n", std::string(answer.status().message()).c_str());
    return std::nullopt;
  }
  if (answer->status != 200) {
    std::printf("FAILED: the gateway answered %ld: %s\n", answer->status, answer->body.c_str());
    return std::nullopt;
  }
  return answer->body;
}

}  // namespace clickstream::cli
