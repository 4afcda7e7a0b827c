#include "adapters/http/http_server.h"

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <thread>

#include <restinio/all.hpp>
#include <restinio/tls.hpp>

#include "absl/strings/ascii.h"
#include "adapters/http/query_string.h"
#include "common/json_text.h"
#include "common/log.h"

namespace clickstream::http {
namespace {

using ports::HttpRequest;
using ports::HttpResponse;
using ports::HttpRoute;

// Both guard each connection with a strand, which makes answering from another thread safe, and count
// connections, so settings can bound them.
struct PlainTraits : restinio::default_traits_t {
  static constexpr bool use_connection_count_limiter = true;
};
struct TlsTraits : restinio::default_tls_traits_t {
  static constexpr bool use_connection_count_limiter = true;
};

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
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Status";
  }
}

// Past the limits handlers and this adapter answer with JSON, the parser's hard limits sit this many times higher:
// requests between the two get a JSON answer, requests beyond close the connection.
constexpr std::size_t kHardLimitFactor = 4;
constexpr std::size_t kHardLimitSlack = 4096;  // so that even a tiny limit lets a body slightly over it be answered
// Longest text of a client's request echoed in an error message.
constexpr std::size_t kMaxEchoBytes = 200;
constexpr char kTraceparentField[] = "traceparent";  // W3C Trace Context

// Writes the whole answer with its Content-Length. A HEAD answer carries the length the body would have, no body.
// `written` runs once the bytes are on the socket (or the write failed).
void Send(const restinio::request_handle_t& req, const HttpResponse& response, bool head_only,
          restinio::write_status_cb_t written) {
  auto builder = req->create_response<restinio::user_controlled_output_t>(restinio::http_status_line_t(
      restinio::http_status_code_t(static_cast<std::uint16_t>(response.status)), ReasonPhrase(response.status)));
  builder.append_header(restinio::http_field::content_type, response.content_type);
  for (const auto& [name, value] : response.headers) builder.append_header(name, value);
  builder.set_content_length(response.body.size());
  if (!head_only) builder.set_body(response.body);
  builder.done(std::move(written));
}

HttpResponse JsonError(int status, std::string_view code, std::string_view message) {
  return HttpResponse{status, common::ErrorJson(code, message), "application/json", {}};
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  auto lower = [](char c) { return absl::ascii_tolower(static_cast<unsigned char>(c)); };
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [&](char x, char y) { return lower(x) == lower(y); });
}

// Client text quoted in an error message: printable ASCII only and short, so the answer stays small and its
// message readable whatever bytes the client sent.
std::string Quoted(std::string_view text) {
  std::string out;
  for (char c : text.substr(0, kMaxEchoBytes)) out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
  if (text.size() > kMaxEchoBytes) out += "...";
  return out;
}

// The path of a request target. Proxies send the absolute form ("http://host/ingest"), which RFC 9112 section
// 3.2.2 requires servers to accept.
std::string_view OriginPath(std::string_view path) {
  for (std::string_view scheme : {"http://", "https://"}) {
    if (path.size() >= scheme.size() && EqualsIgnoreCase(path.substr(0, scheme.size()), scheme)) {
      const std::size_t slash = path.find('/', scheme.size());
      return slash == std::string_view::npos ? std::string_view("/") : path.substr(slash);
    }
  }
  return path;
}

std::string LowerTrimmed(std::string_view value) {
  return absl::AsciiStrToLower(absl::StripAsciiWhitespace(absl::string_view(value.data(), value.size())));
}

// A coding no handler can decode. http_parser de-chunks bodies and refuses a request whose last transfer coding is
// not chunked, but one before it ("gzip, chunked") would reach handlers still encoded: refused with 501, as RFC 9112
// section 6.1 asks. A content coding is refused with 415 (RFC 9110 section 15.5.16).
std::optional<HttpResponse> RefuseCoding(const restinio::http_header_field_t& field, bool has_body) {
  if (EqualsIgnoreCase(field.name(), "transfer-encoding")) {
    const std::string coding = LowerTrimmed(field.value());
    if (coding == "chunked") return std::nullopt;
    return JsonError(501, "not_implemented",
                     "transfer coding '" + Quoted(coding) + "' is not supported; send the body plain or chunked");
  }
  if (has_body && EqualsIgnoreCase(field.name(), "content-encoding")) {
    const std::string coding = LowerTrimmed(field.value());
    if (coding == "identity") return std::nullopt;
    return JsonError(415, "unsupported_media_type",
                     "content coding '" + Quoted(coding) + "' is not supported; send the body uncompressed");
  }
  return std::nullopt;
}

// What the header fields allow before any handler runs: the soft header limits (431) and the codings.
std::optional<HttpResponse> CheckHeaders(const restinio::http_request_header_t& header, bool has_body,
                                         const HttpServerOptions& options) {
  std::size_t bytes = 0;
  std::size_t count = 0;
  std::optional<HttpResponse> refusal;
  header.for_each_field([&](const restinio::http_header_field_t& field) {
    bytes += field.name().size() + field.value().size();
    ++count;
    if (!refusal) refusal = RefuseCoding(field, has_body);
  });
  if (count > options.max_headers) {
    return JsonError(431, "header_fields_too_large",
                     "more than " + std::to_string(options.max_headers) + " header fields");
  }
  if (bytes > options.max_header_bytes) {
    return JsonError(431, "header_fields_too_large",
                     "header fields larger than " + std::to_string(options.max_header_bytes) + " bytes");
  }
  return refusal;
}

// True on an I/O thread while it runs Dispatch: an answer given then is an inline one.
thread_local bool t_dispatching = false;

// RESTinio checks each connection's deadlines on a timer of this period; a tenth of the read timeout keeps the
// disconnection of a slow client close to the timeout without waking idle connections too often.
std::chrono::milliseconds TimeoutCheckPeriod(std::chrono::milliseconds read_timeout) {
  return std::clamp(read_timeout / 10, std::chrono::milliseconds(10), std::chrono::milliseconds(1000));
}

restinio::incoming_http_msg_limits_t HardLimits(const HttpServerOptions& options) {
  return restinio::incoming_http_msg_limits_t{}
      .max_url_size(kHardLimitFactor * options.max_header_bytes)
      .max_field_name_size(kHardLimitFactor * options.max_header_bytes)
      .max_field_value_size(kHardLimitFactor * options.max_header_bytes)
      .max_field_count(kHardLimitFactor * options.max_headers)
      .max_body_size(kHardLimitFactor * options.max_body_bytes + kHardLimitSlack);
}

// An io_context whose handlers can be destroyed before it is. A stopped server leaves operations pending on its
// kept-alive connections; destroying them destroys those connections, which then report to the server's connection
// limiter. Done by ~io_context, after the server is gone, that wrote to freed memory; Shutdown does it while the
// server is still there. Objects destroyed after it (the server's acceptor) still find their services.
class ShutdownableIoContext : public restinio::asio_ns::io_context {
 public:
  void Shutdown() { shutdown(); }
};

class RestinioHttpServer;

// What a handler's answer goes through. Services may answer after their server stopped (a delivery report, a gRPC
// callback at its deadline): the gate outlives the server, and once Stop has closed it answers are dropped rather
// than written through freed memory. Answers take the lock shared, so they never wait for one another. The answer
// carries the id of its request, never RESTinio's request itself: that keeps its connection, whose socket belongs to
// the server's io_context, so only the server may hold it (owed_).
struct AnswerGate {
  std::shared_mutex mutex;
  RestinioHttpServer* server = nullptr;  // null once the server stopped
};

class RestinioHttpServer final : public HttpServer {
 public:
  RestinioHttpServer(const HttpServerOptions& options, std::vector<HttpRoute> routes)
      : options_(options), log_(common::Logger("http")), gate_(std::make_shared<AnswerGate>()) {
    for (auto& route : routes) routes_[route.path][route.method] = std::move(route.handler);
    gate_->server = this;
  }
  ~RestinioHttpServer() override { Stop(); }

  uint16_t port() const override { return port_; }

  void StopAccepting() override {
    if (accepting_.exchange(false)) log_->info("{} stops accepting requests", options_.name);
  }

  bool WaitIdle(std::chrono::milliseconds timeout) override {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (outstanding_.load() > 0 || unwritten_.load() > 0) {
      if (std::chrono::steady_clock::now() >= deadline) {
        log_->warn("{}: {} requests still unanswered and {} answers unwritten after {} ms", options_.name,
                   outstanding_.load(), unwritten_.load(), timeout.count());
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return true;
  }

  // A handler's answer: written while the server runs, dropped after Stop.
  static void AnswerThroughGate(const std::shared_ptr<AnswerGate>& gate, uint64_t owed_id, const std::string& route,
                                std::chrono::steady_clock::time_point start, HttpResponse response) {
    std::shared_lock lock(gate->mutex);
    RestinioHttpServer* const server = gate->server;
    if (server == nullptr) return;
    restinio::request_handle_t req;
    {
      std::lock_guard owed(server->owed_mutex_);
      auto it = server->owed_.find(owed_id);
      if (it == server->owed_.end()) return;  // answered twice: the port forbids it
      req = std::move(it->second);
      server->owed_.erase(it);
    }
    server->Answer(req, route, start, std::move(response));
    server->outstanding_.fetch_sub(1);
  }

  absl::Status Run() {
    const std::string where = options_.address + ":" + std::to_string(options_.port);
    try {
      if (options_.tls_cert_chain_pem.empty()) {
        stop_server_ = Launch(restinio::server_settings_t<PlainTraits>{});
      } else {
        auto context = TlsContext();
        if (!context.ok()) return context.status();
        restinio::server_settings_t<TlsTraits> settings;
        settings.tls_context(std::move(*context));
        stop_server_ = Launch(std::move(settings));
      }
    } catch (const std::exception& e) {
      return absl::UnavailableError("cannot serve HTTP on " + where + ": " + e.what());
    }
    log_->info("{} listening address={} port={} tls={}", options_.name, options_.address, port_,
               !options_.tls_cert_chain_pem.empty());
    return absl::OkStatus();
  }

  void Stop() override {
    std::lock_guard lock(stop_mutex_);
    if (!stop_server_) return;
    StopAccepting();
    {
      std::unique_lock gate(gate_->mutex);
      gate_->server = nullptr;
      if (outstanding_.load() > 0) {
        log_->warn("{}: {} requests unanswered at stop; answers given later are dropped", options_.name,
                   outstanding_.load());
      }
    }
    stop_server_();
    {
      // Closes the connections of the requests still owed while io_, which their sockets belong to, is alive.
      std::lock_guard owed(owed_mutex_);
      owed_.clear();
    }
    io_.Shutdown();
    stop_server_ = nullptr;
  }

 private:
  // Starts RESTinio with our settings on top of `settings`; returns what stops it and joins its threads.
  template <typename Traits>
  std::function<void()> Launch(restinio::server_settings_t<Traits> settings) {
    settings.address(options_.address)
        .port(options_.port)
        .read_next_http_message_timelimit(options_.read_timeout)
        .handle_request_timeout(options_.handle_timeout)
        .timer_manager(TimeoutCheckPeriod(options_.read_timeout))
        .incoming_http_msg_limits(HardLimits(options_))
        .max_parallel_connections(options_.max_connections)
        // Answers are small and written as soon as they are ready: without TCP_NODELAY, Nagle's algorithm holds
        // an answer back until the client acknowledges the previous one, which a delayed ACK makes 40 ms.
        .socket_options_setter(
            [](restinio::socket_options_t& socket) { socket.set_option(restinio::asio_ns::ip::tcp::no_delay{true}); })
        // Runs before run_async returns: the port is known once the server is started.
        .acceptor_post_bind_hook(
            [this](restinio::asio_ns::ip::tcp::acceptor& acceptor) { port_ = acceptor.local_endpoint().port(); })
        .request_handler([this](const restinio::request_handle_t& req) { return Dispatch(req); });
    std::shared_ptr server =
        restinio::run_async<Traits>(restinio::external_io_context(io_), std::move(settings), options_.threads);
    return [server] {
      server->stop();
      server->wait();
    };
  }

  // The server side of TLS: 1.2 or later, our certificate chain and key (which must match).
  absl::StatusOr<restinio::asio_ns::ssl::context> TlsContext() const {
    namespace ssl = restinio::asio_ns::ssl;
    ssl::context context(ssl::context::tls_server);
    context.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                        ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::single_dh_use);
    restinio::asio_ns::error_code error;
    context.use_certificate_chain(restinio::asio_ns::buffer(options_.tls_cert_chain_pem), error);
    if (error) return absl::InvalidArgumentError("TLS certificate chain is not usable: " + error.message());
    context.use_private_key(restinio::asio_ns::buffer(options_.tls_private_key_pem), ssl::context::pem, error);
    if (error) {
      return absl::InvalidArgumentError("TLS private key is not usable (or does not match the certificate): " +
                                        error.message());
    }
    return context;
  }

  // An answer given inline, while RESTinio is still inside Dispatch, is written only once Dispatch has returned.
  // RESTinio 0.6.16 mishandles inline answers to pipelined requests: writing one frees the connection's only
  // request slot, so RESTinio starts reading the next request both on return from Dispatch and when the write
  // completes; with three requests in one packet the second start finds no free slot and closes the connection,
  // losing the answers. Deferred, every answer takes the path answers from other threads take, which is sound.
  void Answer(const restinio::request_handle_t& req, const std::string& route,
              std::chrono::steady_clock::time_point start, HttpResponse response) {
    unwritten_.fetch_add(1);  // until the bytes are on the socket: WaitIdle waits for them
    if (t_dispatching) {
      restinio::asio_ns::post(
          io_, [this, req, route, start, response = std::move(response)] { Write(req, route, start, response); });
      return;
    }
    Write(req, route, start, response);
  }

  // Writes the answer and records it: requests by route and status, and latency by route.
  void Write(const restinio::request_handle_t& req, const std::string& route,
             std::chrono::steady_clock::time_point start, const HttpResponse& response) {
    try {
      Send(req, response, req->header().method() == restinio::http_method_head(),
           [this](const restinio::asio_ns::error_code&) { unwritten_.fetch_sub(1); });
    } catch (const std::exception& e) {
      unwritten_.fetch_sub(1);
      // Nothing may escape into RESTinio's I/O loop or a client library's callback thread.
      log_->warn("{} answer not written route={} status={}: {}", options_.name, route, response.status, e.what());
      return;
    }
    metrics::Registry* const metrics = options_.metrics;
    if (metrics == nullptr) return;
    metrics
        ->GetCounter("clickstream_http_requests_total", "HTTP requests answered, by service, route and status",
                     {{"service", options_.name}, {"route", route}, {"status", std::to_string(response.status)}})
        .Inc();
    metrics
        ->GetHistogram("clickstream_http_request_duration_seconds", "HTTP request latency, by service and route",
                       metrics::LatencyBuckets(), {{"service", options_.name}, {"route", route}})
        .Observe(metrics::SecondsSince(start));
  }

  // The handler of `method` among a path's handlers; HEAD is served by GET's unless it has its own.
  static const ports::HttpHandler* FindHandler(const std::map<std::string, ports::HttpHandler>& by_method,
                                               const std::string& method) {
    auto handler = by_method.find(method);
    if (handler == by_method.end() && method == "HEAD") handler = by_method.find("GET");
    return handler == by_method.end() ? nullptr : &handler->second;
  }

  static HttpResponse MethodNotAllowed(const std::map<std::string, ports::HttpHandler>& by_method,
                                       const std::string& method, std::string_view path) {
    std::string allowed;
    for (const auto& [name, unused] : by_method) {
      allowed += (allowed.empty() ? "" : ", ") + name;
      if (name == "GET" && !by_method.contains("HEAD")) allowed += ", HEAD";
    }
    auto response = JsonError(405, "method_not_allowed", method + " is not allowed on " + std::string(path));
    response.headers.emplace_back("Allow", allowed);
    return response;
  }

  restinio::request_handling_status_t Dispatch(const restinio::request_handle_t& req) {
    struct Scope {
      Scope() { t_dispatching = true; }
      ~Scope() { t_dispatching = false; }
    } dispatching;
    Route(req);
    return restinio::request_accepted();
  }

  // Finds the handler of a request and hands it over, or answers the request itself.
  void Route(const restinio::request_handle_t& req) {
    const auto start = std::chrono::steady_clock::now();
    const auto& header = req->header();
    const std::string_view path = OriginPath(header.path());
    const auto by_path = routes_.find(path);
    const std::string route = by_path == routes_.end() ? "unmatched" : by_path->first;

    if (auto refusal = CheckHeaders(header, !req->body().empty(), options_)) {
      Answer(req, route, start, *refusal);
      return;
    }
    if (by_path == routes_.end()) {
      Answer(req, route, start, JsonError(404, "not_found", "no such endpoint: " + Quoted(path)));
      return;
    }
    const std::string method(header.method().c_str());
    const ports::HttpHandler* handler = FindHandler(by_path->second, method);
    if (handler == nullptr) {
      Answer(req, route, start, MethodNotAllowed(by_path->second, method, path));
      return;
    }

    HttpRequest request;
    request.method = method;
    request.path = route;
    if (auto query = DecodeQueryString(std::string_view(header.query().data(), header.query().size()))) {
      request.query = std::move(*query);
    } else {
      Answer(req, route, start,
             JsonError(400, "invalid_argument", "query string is malformed: a '%' must start an escape like %2F"));
      return;
    }
    request.content_type = header.get_field_or(restinio::http_field::content_type, "");
    request.api_key = header.get_field_or("X-API-Key", "");
    request.authorization = header.get_field_or(restinio::http_field::authorization, "");
    request.origin = header.get_field_or(restinio::http_field::origin, "");
    request.body = req->body();

    // Counted before the check, so that WaitIdle, once it saw none outstanding after StopAccepting, knows no
    // handler can start any more.
    outstanding_.fetch_add(1);
    if (!accepting_.load()) {
      outstanding_.fetch_sub(1);
      auto refusal = JsonError(503, "unavailable", options_.name + " is shutting down; retry on another instance");
      refusal.headers.emplace_back("Retry-After", "1");
      Answer(req, route, start, refusal);
      return;
    }
    uint64_t owed_id = 0;
    {
      std::lock_guard owed(owed_mutex_);
      owed_id = next_owed_id_++;
      owed_.emplace(owed_id, req);
    }
    // The span ends when the handler answers; held by pointer, so the callback stays copyable, and only when it
    // records, so an unsampled request allocates nothing for it.
    std::shared_ptr<tracing::Span> span;
    if (options_.tracer != nullptr) {
      tracing::Span started =
          options_.tracer->StartServer({}, std::string_view(header.get_field_or(kTraceparentField, "")));
      request.trace = started.context();
      if (started.recording()) {
        started.SetName(method + " " + route);
        span = std::make_shared<tracing::Span>(std::move(started));
      }
    }
    // A handler answers exactly once; the response may be written from any thread, even after Stop.
    (*handler)(request, [gate = gate_, owed_id, route, start, span](HttpResponse response) {
      if (span) {
        span->Tag("http.response.status_code", std::to_string(response.status));
        if (response.status >= 500) span->SetError("HTTP " + std::to_string(response.status));
        span->End();
      }
      AnswerThroughGate(gate, owed_id, route, start, std::move(response));
    });
  }

  const HttpServerOptions options_;  // its metrics registry, when set, outlives the server
  std::shared_ptr<spdlog::logger> log_;
  // path -> method -> handler; transparent, so a path is looked up without copying it.
  std::map<std::string, std::map<std::string, ports::HttpHandler>, std::less<>> routes_;
  std::mutex stop_mutex_;
  uint16_t port_ = 0;  // set once, while Run starts the server
  std::atomic<bool> accepting_{true};
  std::atomic<std::size_t> outstanding_{0};  // requests handed to a handler and not yet answered
  std::atomic<std::size_t> unwritten_{0};    // answers given and not yet written to their socket
  const std::shared_ptr<AnswerGate> gate_;
  ShutdownableIoContext io_;  // run by the server's threads; outlives the server, which uses it
  // Requests handed to a handler and not yet answered, by id; after io_, so destroyed before it (Stop empties it).
  std::mutex owed_mutex_;
  std::map<uint64_t, restinio::request_handle_t> owed_;
  uint64_t next_owed_id_ = 0;
  // Declared last: it holds the running server, whose I/O threads use the members above; calling it stops the
  // server and joins them.
  std::function<void()> stop_server_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(const HttpServerOptions& options,
                                                              std::vector<ports::HttpRoute> routes) {
  auto server = std::make_unique<RestinioHttpServer>(options, std::move(routes));
  if (auto status = server->Run(); !status.ok()) return status;
  return server;
}

}  // namespace clickstream::http
