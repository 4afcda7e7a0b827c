// TLS end to end, with throwaway certificates from tests/tls/make_test_certs.sh: ingestion and the gateway over
// HTTPS, the gateway calling analytics over mutual TLS, every event counted. And what must fail: plain HTTP to an
// HTTPS port, a client that does not trust the server's CA, a gateway analytics does not trust or that does not
// trust analytics, and start-up with unusable TLS material.
#include <curl/curl.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>

#include "support/http_client.h"
#include "support/pipeline_client.h"
#include "support/service_process.h"
#include "support/test_infra.h"

namespace clickstream {
namespace {

using namespace testing_support;
using Clock = std::chrono::steady_clock;

struct HttpsResult {
  CURLcode code = CURLE_OK;  // not CURLE_OK: no HTTP answer (connection, handshake or verification failed)
  long status = 0;
  std::string body;
};

std::size_t AppendBody(char* data, std::size_t size, std::size_t count, void* body) {
  static_cast<std::string*>(body)->append(data, size * count);
  return size * count;
}

// One HTTPS request with libcurl, trusting only `ca_file`.
HttpsResult Https(const std::string& method, const std::string& url, const std::string& ca_file,
                  const std::string& body = "") {
  HttpsResult result;
  CURL* curl = curl_easy_init();
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  curl_easy_setopt(curl, CURLOPT_CAINFO, ca_file.c_str());
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 10000L);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  if (!body.empty()) curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, AppendBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &result.body);
  result.code = curl_easy_perform(curl);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &result.status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  return result;
}

std::string ReadFile(const std::string& path) {
  std::ifstream file(path);
  std::ostringstream text;
  text << file.rdbuf();
  return text.str();
}

bool WaitFor(const std::function<bool()>& condition, std::chrono::seconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

// One `all` process for the suite, serving HTTPS and requiring client certificates on gRPC.
class TlsTest : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    certs_ = new std::string(TestInfra().state_dir + "/" + UniqueId("certs"));
    const std::string command = std::string(CLICKSTREAM_SOURCE_DIR) + "/tests/tls/make_test_certs.sh " + *certs_;
    ASSERT_EQ(std::system(command.c_str()), 0) << command;
    ports_ = new ServicePorts(ServicePorts::FreePorts());
    process_ = new ServiceProcess("all", ServiceEnvironment(*ports_, TlsEnvironment()), "tls-clickstream");
    process_->Start();
    ASSERT_TRUE(process_->WaitReady(ports_->processor)) << "log: " << process_->log_path();
    for (uint16_t port : {ports_->ingestion, ports_->gateway}) {
      ASSERT_TRUE(WaitFor([&] { return Https("GET", Url(port, "/readyz"), Cert("ca.pem")).status == 200; },
                          std::chrono::seconds(60)))
          << "HTTPS /readyz on port " << port << " never answered 200; log: " << process_->log_path();
    }
  }

  static void TearDownTestSuite() {
    if (process_ != nullptr) {
      EXPECT_EQ(process_->Signal(SIGTERM), 0) << "log: " << process_->log_path();
    }
    delete process_;
    delete ports_;
    delete certs_;
  }

  static std::string Cert(const std::string& name) { return *certs_ + "/" + name; }
  static std::string Url(uint16_t port, const std::string& target) {
    return "https://localhost:" + std::to_string(port) + target;
  }
  static std::map<std::string, std::string> TlsEnvironment() {
    return {{"CLICKSTREAM_TLS_CERT_FILE", Cert("server.pem")},
            {"CLICKSTREAM_TLS_KEY_FILE", Cert("server.key")},
            {"CLICKSTREAM_TLS_CLIENT_CA_FILE", Cert("ca.pem")},
            {"CLICKSTREAM_ANALYTICS_TLS_CA_FILE", Cert("ca.pem")}};
  }

  static int64_t CountOverHttps(const Pair& pair) {
    auto answer = Https("GET",
                        Url(ports_->gateway, "/analytics/events?user_id=" + UrlEncode(pair.first) +
                                                 "&page_url=" + UrlEncode(pair.second)),
                        Cert("ca.pem"));
    if (answer.status != 200) return -1;
    const auto at = answer.body.find("\"count\":");
    return at == std::string::npos ? -1 : std::stoll(answer.body.substr(at + 8));
  }

  // A gateway process of its own calling the suite's analytics, with `environment` on top of the usual one.
  static std::unique_ptr<ServiceProcess> StartGateway(const std::map<std::string, std::string>& environment,
                                                      uint16_t port) {
    ServicePorts ports = *ports_;
    ports.gateway = port;
    auto gateway = std::make_unique<ServiceProcess>("gateway", ServiceEnvironment(ports, environment), "tls-gateway");
    gateway->Start();
    return gateway;
  }

  static std::string* certs_;
  static ServicePorts* ports_;
  static ServiceProcess* process_;
};

std::string* TlsTest::certs_ = nullptr;
ServicePorts* TlsTest::ports_ = nullptr;
ServiceProcess* TlsTest::process_ = nullptr;

TEST_F(TlsTest, CountsEventsPostedOverHttpsThroughMutualTlsToAnalytics) {
  const std::string run = UniqueId("tls");
  const Pair home{run + "-alice", "/home"};
  const Pair cart{run + "-bob", "/cart"};
  for (int i = 0; i < 6; ++i) {
    const Pair& pair = i % 3 == 0 ? cart : home;
    auto answer = Https("POST", Url(ports_->ingestion, "/ingest"), Cert("ca.pem"),
                        EventJson(run + "-e" + std::to_string(i), pair.first, pair.second));
    ASSERT_EQ(answer.status, 200) << answer.body;
  }
  // A retry of an acknowledged event over HTTPS counts once, as over HTTP.
  ASSERT_EQ(
      Https("POST", Url(ports_->ingestion, "/ingest"), Cert("ca.pem"), EventJson(run + "-e0", cart.first, cart.second))
          .status,
      200);
  EXPECT_TRUE(WaitFor([&] { return CountOverHttps(home) == 4 && CountOverHttps(cart) == 2; }, std::chrono::seconds(20)))
      << "counts over HTTPS: home " << CountOverHttps(home) << " (want 4), cart " << CountOverHttps(cart)
      << " (want 2)";
}

TEST_F(TlsTest, RefusesPlainHttpAndClientsThatDoNotTrustTheServer) {
  HttpConnection plain(ports_->ingestion);
  EXPECT_EQ(plain.Request("GET", "/healthz", "", "", 2000).status, 0) << "plain HTTP got an answer on HTTPS";

  const auto untrusting = Https("GET", Url(ports_->gateway, "/healthz"), Cert("other-ca.pem"));
  EXPECT_EQ(untrusting.code, CURLE_PEER_FAILED_VERIFICATION) << curl_easy_strerror(untrusting.code);
  EXPECT_EQ(Https("GET", Url(ports_->gateway, "/healthz"), Cert("ca.pem")).status, 200);
}

// Three gateways that cannot reach analytics over the mutual-TLS link: each still serves (healthz 200), answers
// a query 503 within its deadline, and never reports ready.
TEST_F(TlsTest, GatewaysWithoutTheRightTlsMaterialAnswer503) {
  struct Case {
    const char* what;
    std::map<std::string, std::string> environment;
  };
  const std::vector<Case> cases = {
      {"no client certificate", {{"CLICKSTREAM_ANALYTICS_TLS_CA_FILE", Cert("ca.pem")}}},
      {"trusts another CA",
       {{"CLICKSTREAM_ANALYTICS_TLS_CA_FILE", Cert("other-ca.pem")},
        {"CLICKSTREAM_TLS_CERT_FILE", Cert("server.pem")},
        {"CLICKSTREAM_TLS_KEY_FILE", Cert("server.key")}}},
      {"plain-text gRPC", {}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    const uint16_t port = FreePort();
    auto gateway = StartGateway(c.environment, port);
    const bool https = c.environment.contains("CLICKSTREAM_TLS_CERT_FILE");
    auto get = [&](const std::string& target) {
      if (https) return Https("GET", Url(port, target), Cert("ca.pem")).status;
      HttpConnection connection(port);
      return static_cast<long>(connection.Request("GET", target, "", "", 5000).status);
    };
    ASSERT_TRUE(WaitFor([&] { return get("/healthz") == 200; }, std::chrono::seconds(30)))
        << "log: " << gateway->log_path();
    const auto start = Clock::now();
    EXPECT_EQ(get("/analytics/events?user_id=u&page_url=p"), 503) << "log: " << gateway->log_path();
    EXPECT_LT(Clock::now() - start, std::chrono::seconds(4)) << "beyond the 3 s query deadline";
    EXPECT_EQ(get("/readyz"), 503);
    EXPECT_EQ(gateway->Signal(SIGTERM), 0);
  }
}

TEST_F(TlsTest, RefusesToStartWithUnusableTlsMaterial) {
  struct Case {
    const char* what;
    std::map<std::string, std::string> environment;
    const char* logged;
  };
  const std::vector<Case> cases = {
      {"missing file",
       {{"CLICKSTREAM_TLS_CERT_FILE", Cert("absent.pem")}, {"CLICKSTREAM_TLS_KEY_FILE", Cert("server.key")}},
       "cannot read CLICKSTREAM_TLS_CERT_FILE file"},
      {"key given as certificate",
       {{"CLICKSTREAM_TLS_CERT_FILE", Cert("server.key")}, {"CLICKSTREAM_TLS_KEY_FILE", Cert("server.key")}},
       "TLS certificate chain is not usable"},
      {"key of another certificate",
       {{"CLICKSTREAM_TLS_CERT_FILE", Cert("server.pem")}, {"CLICKSTREAM_TLS_KEY_FILE", Cert("ca.key")}},
       "TLS private key is not usable"},
      {"certificate without key", {{"CLICKSTREAM_TLS_CERT_FILE", Cert("server.pem")}}, "must be set together"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    ServicePorts ports = ServicePorts::FreePorts();
    ServiceProcess ingestion("ingestion", ServiceEnvironment(ports, c.environment), "tls-bad-material");
    ingestion.Start();
    ASSERT_TRUE(WaitFor([&] { return !ingestion.Running(); }, std::chrono::seconds(20)))
        << "started despite " << c.what << "; log: " << ingestion.log_path();
    EXPECT_NE(ReadFile(ingestion.log_path()).find(c.logged), std::string::npos)
        << "log does not say '" << c.logged << "': " << ReadFile(ingestion.log_path());
  }
}

}  // namespace
}  // namespace clickstream
