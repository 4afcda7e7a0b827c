// The Zipkin exporter against a receiver of our own (the HTTP adapter on a free port) and against a backend that
// accepts connections and never answers. The real Zipkin server receives traces in tests/e2e/tracing_test.py.
#include "adapters/zipkin/zipkin_exporter.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <mutex>
#include <thread>

#include "adapters/http/http_server.h"

namespace clickstream::zipkin {
namespace {

using std::chrono::milliseconds;

tracing::SpanData Span(std::string name) {
  tracing::SpanData span;
  span.service = "ingestion";
  span.context = *tracing::ParseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  span.parent_id = 0x1122334455667788;
  span.name = std::move(name);
  span.kind = tracing::SpanKind::kProducer;
  span.start_us = 1'700'000'000'000'000;
  span.duration_us = 1234;
  return span;
}

// Polls `done` for up to ten seconds.
template <typename Condition>
bool Eventually(Condition done) {
  for (int i = 0; i < 1000 && !done(); ++i) std::this_thread::sleep_for(milliseconds(10));
  return done();
}

TEST(ZipkinJson, WritesZipkinsV2Fields) {
  auto span = Span("send \"clicks\"\n\xe2\x82\xac");
  span.tags = {{"messaging.kafka.partition", "3"}, {"error", "quote \" backslash \\"}};
  tracing::SpanData root = Span("POST /ingest");
  root.parent_id = 0;
  root.kind = tracing::SpanKind::kInternal;
  EXPECT_EQ(ZipkinExporter::EncodeJson({span, root}),
            R"([{"traceId":"4bf92f3577b34da6a3ce929d0e0e4736","id":"00f067aa0ba902b7","parentId":"1122334455667788",)"
            R"("name":"send \"clicks\"\n)"
            "\xe2\x82\xac"
            R"(","kind":"PRODUCER","timestamp":1700000000000000,"duration":1234,)"
            R"("localEndpoint":{"serviceName":"ingestion"},)"
            R"("tags":{"messaging.kafka.partition":"3","error":"quote \" backslash \\"}},)"
            R"({"traceId":"4bf92f3577b34da6a3ce929d0e0e4736","id":"00f067aa0ba902b7","name":"POST /ingest",)"
            R"("timestamp":1700000000000000,"duration":1234,"localEndpoint":{"serviceName":"ingestion"}}])");
}

TEST(ZipkinExporter, RefusesAnEndpointThatIsNotAnHttpUrl) {
  auto exporter = ZipkinExporter::Create({"127.0.0.1:9411/api/v2/spans"});
  ASSERT_FALSE(exporter.ok());
  EXPECT_EQ(exporter.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ZipkinExporter, PostsBatchesOfJsonToTheEndpoint) {
  std::mutex mutex;
  std::vector<std::string> bodies;
  std::vector<std::string> types;
  http::HttpServerOptions server_options;
  server_options.name = "zipkin";
  server_options.address = "127.0.0.1";
  auto server = http::HttpServer::Start(
      server_options, {{"POST", "/api/v2/spans", [&](const ports::HttpRequest& request, ports::Respond respond) {
                          {
                            std::lock_guard lock(mutex);
                            bodies.push_back(request.body);
                            types.push_back(request.content_type);
                          }
                          respond({202, "", "text/plain", {}});
                        }}});
  ASSERT_TRUE(server.ok()) << server.status();
  metrics::Registry registry;
  ZipkinOptions options;
  options.endpoint = "http://127.0.0.1:" + std::to_string((*server)->port()) + "/api/v2/spans";
  options.batch_max = 3;
  options.flush_interval = milliseconds(50);
  options.metrics = &registry;
  const auto exported = [&] {
    return registry.GetCounter("clickstream_tracing_spans_exported_total", "spans the tracing backend accepted")
        .Value();
  };
  {
    auto exporter = ZipkinExporter::Create(options);
    ASSERT_TRUE(exporter.ok()) << exporter.status();
    for (int i = 0; i < 7; ++i) (*exporter)->Export(Span("span " + std::to_string(i)));
    EXPECT_TRUE(Eventually([&] { return exported() == 7; })) << registry.Render();
  }
  std::lock_guard lock(mutex);
  ASSERT_GE(bodies.size(), 3u);  // at most 3 spans a batch
  std::string all;
  for (const auto& body : bodies) {
    EXPECT_EQ(body.front(), '[');
    all += body;
  }
  for (int i = 0; i < 7; ++i) EXPECT_NE(all.find("\"span " + std::to_string(i) + "\""), std::string::npos) << all;
  EXPECT_EQ(types[0], "application/json");
  (*server)->StopAccepting();
  (*server)->Stop();
}

// A socket that completes connections (the kernel's backlog) and never reads or answers.
class HangingBackend {
 public:
  HangingBackend() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address));
    listen(fd_, 16);
    socklen_t length = sizeof(address);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
  }
  ~HangingBackend() { close(fd_); }
  uint16_t port() const { return port_; }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

TEST(ZipkinExporter, AHangingBackendCostsDroppedSpansNeverAWaitingCaller) {
  HangingBackend backend;
  metrics::Registry registry;
  ZipkinOptions options;
  options.endpoint = "http://127.0.0.1:" + std::to_string(backend.port()) + "/api/v2/spans";
  options.queue_capacity = 10;
  options.batch_max = 5;
  options.flush_interval = milliseconds(20);
  options.timeout = milliseconds(300);
  options.metrics = &registry;
  auto exporter = ZipkinExporter::Create(options);
  ASSERT_TRUE(exporter.ok()) << exporter.status();
  // The first full batch leaves for the backend and hangs there for the timeout; meanwhile the queue fills and the
  // rest is dropped at once. A blocking Export would hang this loop.
  for (int i = 0; i < 55; ++i) (*exporter)->Export(Span("span"));
  const auto dropped = [&](const char* reason) {
    return registry
        .GetCounter("clickstream_tracing_spans_dropped_total",
                    "spans not exported, by reason: the queue was full or the backend failed", {{"reason", reason}})
        .Value();
  };
  EXPECT_GE(dropped("queue_full"), 40u);  // 55 less the queue (10) and the batch in the air (5)
  // Each POST gives up at the timeout and its spans are counted as failed.
  EXPECT_TRUE(Eventually([&] { return dropped("export_failed") >= 5; })) << registry.Render();
  exporter->reset();  // bounded: the queue left behind a failing backend is dropped, not sent a timeout at a time
  EXPECT_EQ(dropped("queue_full") + dropped("export_failed"), 55u);
}

}  // namespace
}  // namespace clickstream::zipkin
