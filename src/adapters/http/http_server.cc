#include "adapters/http/http_server.h"

#include <map>
#include <mutex>

#include <restinio/all.hpp>

#include "adapters/http/query_string.h"
#include "common/json_text.h"
#include "common/log.h"

namespace clickstream::http {
namespace {

using ports::HttpRequest;
using ports::HttpResponse;
using ports::HttpRoute;

// default_traits_t guards each connection with a strand, which makes answering from another thread safe.
using Traits = restinio::default_traits_t;

const char* ReasonPhrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Status";
  }
}

void Send(const restinio::request_handle_t& req, const HttpResponse& response) {
  auto builder = req->create_response(restinio::http_status_line_t(
      restinio::http_status_code_t(static_cast<std::uint16_t>(response.status)), ReasonPhrase(response.status)));
  builder.append_header(restinio::http_field::content_type, response.content_type);
  for (const auto& [name, value] : response.headers) builder.append_header(name, value);
  builder.set_body(response.body);
  builder.done();
}

HttpResponse JsonError(int status, std::string_view code, std::string_view message) {
  return HttpResponse{status, common::ErrorJson(code, message), "application/json", {}};
}

class RestinioHttpServer final : public HttpServer {
 public:
  RestinioHttpServer(std::string name, std::vector<HttpRoute> routes, metrics::Registry* metrics)
      : name_(std::move(name)), log_(common::Logger("http")), metrics_(metrics) {
    for (auto& route : routes) routes_[route.path][route.method] = std::move(route.handler);
  }
  ~RestinioHttpServer() override { Stop(); }

  absl::Status Run(const HttpServerOptions& options) {
    try {
      auto settings = restinio::server_settings_t<Traits>{}
                          .address(options.address)
                          .port(options.port)
                          .read_next_http_message_timelimit(options.read_timeout)
                          .handle_request_timeout(options.handle_timeout)
                          .incoming_http_msg_limits(
                              restinio::incoming_http_msg_limits_t{}.max_body_size(options.max_body_bytes))
                          .request_handler([this](restinio::request_handle_t req) { return Dispatch(req); });
      server_ = restinio::run_async<Traits>(restinio::own_io_context(), std::move(settings), options.threads);
    } catch (const std::exception& e) {
      return absl::UnavailableError("cannot serve HTTP on " + options.address + ":" +
                                    std::to_string(options.port) + ": " + e.what());
    }
    log_->info("{} listening address={} port={}", name_, options.address, options.port);
    return absl::OkStatus();
  }

  void Stop() override {
    std::lock_guard lock(stop_mutex_);
    if (!server_) return;
    server_->stop();
    server_->wait();
    server_.reset();
  }

 private:
  // Writes the answer and records it: requests by route and status, and latency by route.
  void Answer(const restinio::request_handle_t& req, const std::string& route,
              std::chrono::steady_clock::time_point start, const HttpResponse& response) {
    Send(req, response);
    if (metrics_ == nullptr) return;
    metrics_
        ->GetCounter("clickstream_http_requests_total", "HTTP requests answered, by service, route and status",
                     {{"service", name_}, {"route", route}, {"status", std::to_string(response.status)}})
        .Inc();
    metrics_
        ->GetHistogram("clickstream_http_request_duration_seconds", "HTTP request latency, by service and route",
                       metrics::LatencyBuckets(), {{"service", name_}, {"route", route}})
        .Observe(metrics::SecondsSince(start));
  }

  restinio::request_handling_status_t Dispatch(const restinio::request_handle_t& req) {
    const auto start = std::chrono::steady_clock::now();
    const auto& header = req->header();
    const std::string path(header.path());
    auto by_path = routes_.find(path);
    if (by_path == routes_.end()) {
      Answer(req, "unmatched", start, JsonError(404, "not_found", "no such endpoint: " + path));
      return restinio::request_accepted();
    }
    const std::string method(header.method().c_str());
    auto handler = by_path->second.find(method);
    if (handler == by_path->second.end()) {
      std::string allowed;
      for (const auto& [name, unused] : by_path->second) allowed += (allowed.empty() ? "" : ", ") + name;
      auto response = JsonError(405, "method_not_allowed", method + " is not allowed on " + path);
      response.headers.emplace_back("Allow", allowed);
      Answer(req, path, start, response);
      return restinio::request_accepted();
    }

    HttpRequest request;
    request.method = method;
    request.path = path;
    if (auto query = DecodeQueryString(std::string_view(header.query().data(), header.query().size()))) {
      request.query = std::move(*query);
    } else {
      Answer(req, path, start, JsonError(400, "invalid_argument", "query string is malformed"));
      return restinio::request_accepted();
    }
    request.content_type = header.get_field_or(restinio::http_field::content_type, "");
    request.body = req->body();

    // A handler answers exactly once; the response may be written from any thread.
    handler->second(request, [this, req, route = by_path->first, start](HttpResponse response) {
      Answer(req, route, start, response);
    });
    return restinio::request_accepted();
  }

  const std::string name_;
  std::shared_ptr<spdlog::logger> log_;
  metrics::Registry* const metrics_;
  std::map<std::string, std::map<std::string, ports::HttpHandler>> routes_;  // path -> method -> handler
  std::mutex stop_mutex_;
  // Declared last: stopping it joins the I/O threads that use the members above.
  restinio::running_server_handle_t<Traits> server_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(const HttpServerOptions& options,
                                                                std::vector<ports::HttpRoute> routes) {
  auto server = std::make_unique<RestinioHttpServer>(options.name, std::move(routes), options.metrics);
  if (auto status = server->Run(options); !status.ok()) return status;
  return server;
}

}  // namespace clickstream::http
