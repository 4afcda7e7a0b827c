// The RESTinio adapter in-process, on a port the system chooses, with test handlers behind it and real sockets in
// front: what its header promises about routing, HEAD, limits, late answers, connections and shutdown.
#include "adapters/http/http_server.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "support/http_client.h"
#include "support/random_text.h"
#include "support/raw_connection.h"

namespace clickstream::http {
namespace {

using namespace testing_support;
using ports::HttpRequest;
using ports::HttpResponse;
using ports::Respond;
using std::chrono::milliseconds;

constexpr std::size_t kMaxBodyBytes = 4096;
constexpr std::size_t kMaxHeaderBytes = 2048;
constexpr std::size_t kMaxHeaders = 20;
// The longest any wait in these tests may take: an upper bound for a failure, never a pause.
constexpr milliseconds kPatience{5000};

RawConnection::Clock::time_point Deadline() { return RawConnection::Clock::now() + kPatience; }

std::string PostEcho(const std::string& body) {
  return "POST /echo HTTP/1.1\r\nHost: test\r\nContent-Type: text/plain\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

// Routes: GET /items answers a fixed document; POST /echo records the request and answers its body; POST /held
// parks the answer for the test to give.
class HttpServerTest : public testing::Test {
 protected:
  void SetUp() override {
    items_body_ = "{\"items\":\"" + RandomText(300, random_) + "\"}";
    std::vector<ports::HttpRoute> routes;
    routes.push_back({"GET", "/items", [this](const HttpRequest&, const Respond& respond) {
                        respond(HttpResponse{200, items_body_, "application/json", {}});
                      }});
    routes.push_back({"POST", "/echo", [this](const HttpRequest& request, const Respond& respond) {
                        {
                          std::lock_guard lock(mutex_);
                          seen_.push_back(request);
                        }
                        respond(HttpResponse{200, request.body, "text/plain", {}});
                      }});
    routes.push_back({"POST", "/held", [this](const HttpRequest&, Respond respond) {
                        std::lock_guard lock(mutex_);
                        held_.push_back(std::move(respond));
                        held_changed_.notify_all();
                      }});
    HttpServerOptions options;
    options.name = "adapter-test";
    options.address = "127.0.0.1";
    options.port = 0;
    options.threads = 2;
    options.max_body_bytes = kMaxBodyBytes;
    options.max_header_bytes = kMaxHeaderBytes;
    options.max_headers = kMaxHeaders;
    options.read_timeout = kPatience;
    options.handle_timeout = kPatience;
    auto server = HttpServer::Start(options, std::move(routes));
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    ASSERT_NE(server_->port(), 0);
  }

  void TearDown() override {
    // A parked answer still owed is given, as the port requires, before the server goes.
    for (auto& respond : TakeAllHeld()) respond(HttpResponse{503, "{}", "application/json", {}});
    server_.reset();
  }

  // Sends POST /held on `connection` and returns the answer its handler parked; empty if none came within kPatience.
  Respond Hold(RawConnection& connection) {
    if (!connection.connected() || !connection.Send("POST /held HTTP/1.1\r\nHost: test\r\nContent-Length: 0\r\n\r\n")) {
      return nullptr;
    }
    std::unique_lock lock(mutex_);
    if (!held_changed_.wait_for(lock, kPatience, [this] { return !held_.empty(); })) return nullptr;
    Respond respond = std::move(held_.front());
    held_.erase(held_.begin());
    return respond;
  }

  std::vector<Respond> TakeAllHeld() {
    std::lock_guard lock(mutex_);
    return std::exchange(held_, {});
  }

  std::vector<HttpRequest> Seen() {
    std::lock_guard lock(mutex_);
    return seen_;
  }

  std::mt19937_64 random_{std::random_device{}()};
  std::string items_body_;
  std::mutex mutex_;
  std::condition_variable held_changed_;
  std::vector<HttpRequest> seen_;
  std::vector<Respond> held_;
  std::unique_ptr<HttpServer> server_;  // last: stopped before the handlers' state goes
};

// What the adapter answers itself, before or instead of a handler: always JSON, and no handler runs.
struct Refusal {
  std::string name;
  std::string method;
  std::string target;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  int status;
  std::string error;
  std::pair<std::string, std::string> header;  // an answer header it must carry, when named
};

TEST_F(HttpServerTest, RefusesWhatNoHandlerMayTakeWithJsonAndWithoutRunningOne) {
  std::vector<std::pair<std::string, std::string>> many_fields;
  for (std::size_t i = 0; i < kMaxHeaders; ++i)
    many_fields.emplace_back("X-Field-" + std::to_string(i), RandomText(16, random_));
  const std::vector<Refusal> refusals = {
      {"unknown path", "GET", "/" + UrlEncode(RandomText(40, random_)), {}, "", 404, "not_found", {}},
      {"method not routed on a GET path",
       "DELETE",
       "/items",
       {},
       "",
       405,
       "method_not_allowed",
       {"Allow", "GET, HEAD"}},
      {"method not routed on a POST path", "GET", "/echo", {}, "", 405, "method_not_allowed", {"Allow", "POST"}},
      {"malformed query string", "GET", "/items?page_url=%G1", {}, "", 400, "invalid_argument", {}},
      {"too many header fields", "GET", "/items", many_fields, "", 431, "header_fields_too_large", {}},
      {"header fields too large",
       "GET",
       "/items",
       {{"X-Filler", RandomText(kMaxHeaderBytes + 1, random_)}},
       "",
       431,
       "header_fields_too_large",
       {}},
      {"compressed body",
       "POST",
       "/echo",
       {{"Content-Encoding", "gzip"}},
       RandomText(100, random_),
       415,
       "unsupported_media_type",
       {}},
  };
  for (const Refusal& refusal : refusals) {
    SCOPED_TRACE(refusal.name);
    HttpConnection connection(server_->port());
    const HttpResult answer = connection.Request(refusal.method, refusal.target, refusal.body, "text/plain",
                                                 static_cast<int>(kPatience.count()), refusal.headers);
    EXPECT_EQ(answer.status, refusal.status);
    EXPECT_EQ(answer.Header("Content-Type"), "application/json");
    EXPECT_NE(answer.body.find("\"error\":\"" + refusal.error + "\""), std::string::npos) << answer.body;
    if (!refusal.header.first.empty()) {
      EXPECT_EQ(answer.Header(refusal.header.first), refusal.header.second);
    }
  }
  EXPECT_TRUE(Seen().empty());
}

TEST_F(HttpServerTest, AnswersHeadLikeGetWithoutTheBody) {
  RawConnection connection(server_->port());
  ASSERT_TRUE(connection.connected());
  // Pipelined: had the HEAD answer carried any body bytes, they would stand where the GET answer must start.
  ASSERT_TRUE(connection.Send("HEAD /items HTTP/1.1\r\nHost: test\r\n\r\nGET /items HTTP/1.1\r\nHost: test\r\n\r\n"));
  const auto answers = connection.ReadAnswers({true, false}, Deadline());
  ASSERT_EQ(answers.size(), 2u);
  EXPECT_EQ(answers[0].status, 200);
  EXPECT_EQ(answers[0].headers.at("content-length"), std::to_string(items_body_.size()));
  EXPECT_EQ(answers[0].headers.at("content-type"), "application/json");
  EXPECT_EQ(answers[1].status, 200);
  EXPECT_EQ(answers[1].body, items_body_);
}

TEST_F(HttpServerTest, HandsABodyOverTheSoftLimitToTheHandlerWhole) {
  // The handler, not the adapter, answers 413 between the soft and the hard limit: it must see the whole body.
  const std::string body = RandomText(2 * kMaxBodyBytes + 1, random_);
  HttpConnection connection(server_->port());
  const HttpResult answer =
      connection.Request("POST", "/echo", body, "text/plain", static_cast<int>(kPatience.count()));
  EXPECT_EQ(answer.status, 200);
  EXPECT_EQ(answer.body, body);
  const auto seen = Seen();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].body, body);
}

TEST_F(HttpServerTest, ClosesTheConnectionWithoutAnAnswerOnABodyOverTheHardLimit) {
  // Four times the soft limit plus 4 KiB is the parser's hard limit; one byte more.
  const std::string body = RandomText(4 * kMaxBodyBytes + 4096 + 1, random_);
  RawConnection connection(server_->port());
  ASSERT_TRUE(connection.connected());
  connection.Send(PostEcho(body));  // the server may close before it has read everything
  EXPECT_TRUE(connection.WaitClosed(Deadline()));
  EXPECT_EQ(connection.unread(), "");
  EXPECT_TRUE(Seen().empty());
}

TEST_F(HttpServerTest, WritesAnAnswerGivenLaterFromAnotherThread) {
  RawConnection connection(server_->port());
  Respond respond = Hold(connection);
  ASSERT_TRUE(respond);
  EXPECT_FALSE(connection.PeerClosed());
  EXPECT_EQ(connection.unread(), "") << "answered before the handler did";

  const std::string body = "{\"accepted\":\"" + RandomText(64, random_) + "\"}";
  const std::string request_id = RandomText(32, random_);
  std::thread answering([&] { respond(HttpResponse{202, body, "application/json", {{"X-Request-Id", request_id}}}); });
  answering.join();
  const auto answers = connection.ReadAnswers({false}, Deadline());
  ASSERT_EQ(answers.size(), 1u);
  EXPECT_EQ(answers[0].status, 202);
  EXPECT_EQ(answers[0].body, body);
  EXPECT_EQ(answers[0].headers.at("x-request-id"), request_id);
}

TEST_F(HttpServerTest, ServesRequestsOneAfterAnotherOnAKeptAliveConnection) {
  RawConnection connection(server_->port());
  ASSERT_TRUE(connection.connected());
  for (int i = 0; i < 3; ++i) {
    SCOPED_TRACE(i);
    const std::string body = RandomText(200, random_);
    ASSERT_TRUE(connection.Send(PostEcho(body)));
    const auto answers = connection.ReadAnswers({false}, Deadline());
    ASSERT_EQ(answers.size(), 1u);
    EXPECT_EQ(answers[0].body, body);
    EXPECT_FALSE(connection.PeerClosed());
  }
  EXPECT_EQ(Seen().size(), 3u);
}

TEST_F(HttpServerTest, AnswersPipelinedRequestsInOnePacketInOrder) {
  // Handlers here answer inline, the case RESTinio 0.6.16 mishandles unless the adapter defers the write.
  std::vector<std::string> bodies;
  std::string packet;
  for (int i = 0; i < 3; ++i) {
    bodies.push_back(RandomText(100, random_));
    packet += PostEcho(bodies.back());
  }
  RawConnection connection(server_->port());
  ASSERT_TRUE(connection.connected());
  ASSERT_TRUE(connection.Send(packet));
  const auto answers = connection.ReadAnswers({false, false, false}, Deadline());
  ASSERT_EQ(answers.size(), 3u);
  for (std::size_t i = 0; i < answers.size(); ++i) {
    EXPECT_EQ(answers[i].status, 200);
    EXPECT_EQ(answers[i].body, bodies[i]);
  }
  EXPECT_FALSE(connection.PeerClosed());
}

TEST_F(HttpServerTest, HandsTheHandlerTheDecodedQueryAndTheRequestHeaders) {
  const std::string user_id = RandomText(120, random_);
  const std::string page_url = "/shop/" + RandomText(120, random_) + "?ref=a&b=c d";
  const std::string api_key = RandomText(48, random_);
  const std::string authorization = "Bearer " + RandomText(64, random_);
  const std::string body = RandomText(500, random_);
  HttpConnection connection(server_->port());
  const HttpResult answer = connection.Request(
      "POST", "/echo?user_id=" + UrlEncode(user_id) + "&page_url=" + UrlEncode(page_url) + "&dry_run", body,
      "application/x-ndjson; charset=utf-8", static_cast<int>(kPatience.count()),
      {{"X-API-Key", api_key}, {"Authorization", authorization}});
  ASSERT_EQ(answer.status, 200);
  const auto seen = Seen();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].method, "POST");
  EXPECT_EQ(seen[0].path, "/echo");
  EXPECT_EQ(seen[0].query,
            (std::map<std::string, std::string>{{"user_id", user_id}, {"page_url", page_url}, {"dry_run", ""}}));
  EXPECT_EQ(seen[0].content_type, "application/x-ndjson; charset=utf-8");
  EXPECT_EQ(seen[0].api_key, api_key);
  EXPECT_EQ(seen[0].authorization, authorization);
  EXPECT_EQ(seen[0].body, body);
}

TEST_F(HttpServerTest, AfterStopAcceptingAnswers503ButStillWritesWhatHandlersOwe) {
  RawConnection owed(server_->port());
  Respond respond = Hold(owed);
  ASSERT_TRUE(respond);

  server_->StopAccepting();
  HttpConnection late(server_->port());
  const HttpResult refused =
      late.Request("POST", "/echo", RandomText(50, random_), "text/plain", static_cast<int>(kPatience.count()));
  EXPECT_EQ(refused.status, 503);
  EXPECT_EQ(refused.Header("Retry-After"), "1");
  EXPECT_NE(refused.body.find("\"error\":\"unavailable\""), std::string::npos) << refused.body;
  EXPECT_TRUE(Seen().empty());
  EXPECT_FALSE(server_->WaitIdle(milliseconds(20))) << "one answer is still owed";

  const std::string body = "{\"late\":\"" + RandomText(40, random_) + "\"}";
  respond(HttpResponse{200, body, "application/json", {}});
  const auto answers = owed.ReadAnswers({false}, Deadline());
  ASSERT_EQ(answers.size(), 1u);
  EXPECT_EQ(answers[0].body, body);
  EXPECT_TRUE(server_->WaitIdle(kPatience));
}

TEST_F(HttpServerTest, DropsAnAnswerGivenAfterTheServerIsGone) {
  RawConnection connection(server_->port());
  Respond respond = Hold(connection);
  ASSERT_TRUE(respond);

  server_->Stop();
  EXPECT_TRUE(connection.WaitClosed(Deadline()));
  EXPECT_EQ(connection.unread(), "");
  server_.reset();
  // A late delivery report, say: it must neither write nor touch the destroyed server.
  respond(HttpResponse{200, "{}", "application/json", {}});
  respond = nullptr;
}

}  // namespace
}  // namespace clickstream::http
