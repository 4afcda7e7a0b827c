// The bad-input corpus (tests/corpus; its README describes the format and the answers) against the clickstream
// executable ("all") on the test infrastructure. Every hostile or malformed request goes over a raw socket and must
// get its documented answer (or a closed connection) before a deadline, so a hang fails; the process must survive
// all of them; a valid event posted after every case must be acknowledged, and every acknowledged event must be
// counted exactly once. Poison records written straight to the topic must land in the dead-letter topic.
#include <gtest/gtest.h>
#include <librdkafka/rdkafkacpp.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "adapters/kafka/kafka_event_publisher.h"
#include "domain/click_event.h"
#include "support/events.h"
#include "support/http_client.h"
#include "support/raw_connection.h"
#include "support/service_process.h"
#include "support/test_infra.h"

namespace clickstream {
namespace {

using namespace testing_support;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// The test process's read timeout: short, so that the slow-client cases finish quickly.
constexpr milliseconds kReadTimeout{1000};
// Longest one case may take, from its first byte to its last expected answer or the close: a hang fails here.
constexpr milliseconds kCaseDeadline{6000};
constexpr int kWorkers = 4;
constexpr std::string_view kSentinel = "GET /healthz HTTP/1.1\r\nHost: corpus\r\n\r\n";
constexpr std::string_view kHealthy = R"({"status":"ok"})";

// ---- The corpus -------------------------------------------------------------------------------------------------

struct ExpectedAnswer {
  int status = 0;
  std::string field;  // the field the JSON error must name; empty: it must name none
};

enum class SendMode { kWhole, kStall, kDrip };

struct Case {
  std::string where;  // file:line of the case, for failure messages
  std::string name;
  std::string target;  // ingest, gateway or kafka
  std::vector<ExpectedAnswer> answers;
  bool closed = false;       // the server closes the connection after `answers`
  std::string kafka_expect;  // dlq or counted
  std::optional<std::string> reason;
  SendMode send = SendMode::kWhole;
  milliseconds drip_interval{0};
  std::vector<std::string> messages{""};  // templates; several are pipelined in one write
  std::string problem;                    // a setting that could not be understood

  std::string Label() const { return name + " (" + where + ")"; }
};

std::vector<std::string> SplitWords(const std::string& text) {
  std::vector<std::string> words;
  std::size_t at = 0;
  while (at < text.size()) {
    const std::size_t start = text.find_first_not_of(' ', at);
    if (start == std::string::npos) break;
    const std::size_t end = std::min(text.find(' ', start), text.size());
    words.push_back(text.substr(start, end - start));
    at = end;
  }
  return words;
}

// Applies one `key: value` line to `c`; false when `line` is not a setting (the bytes start there).
bool ApplySetting(const std::string& line, Case& c) {
  const std::size_t colon = line.find(": ");
  if (colon == std::string::npos) return false;
  const std::string key = line.substr(0, colon);
  const std::string value = line.substr(colon + 2);
  if (key == "target") {
    c.target = value;
  } else if (key == "reason") {
    c.reason = value;
  } else if (key == "send") {
    const auto words = SplitWords(value);
    if (words.size() == 1 && words[0] == "whole") {
      c.send = SendMode::kWhole;
    } else if (words.size() == 1 && words[0] == "stall") {
      c.send = SendMode::kStall;
    } else if (words.size() == 2 && words[0] == "drip") {
      c.send = SendMode::kDrip;
      c.drip_interval = milliseconds(std::atoi(words[1].c_str()));
    } else {
      c.problem = "send: expected whole, stall or drip MS";
    }
  } else if (key == "expect") {
    for (const std::string& word : SplitWords(value)) {
      if (word == "closed") {
        c.closed = true;
      } else if (word == "dlq" || word == "counted") {
        c.kafka_expect = word;
      } else {
        const std::size_t sep = word.find(':');
        c.answers.push_back(
            {std::atoi(word.substr(0, sep).c_str()), sep == std::string::npos ? "" : word.substr(sep + 1)});
      }
    }
  } else {
    return false;
  }
  return true;
}

// What is wrong with a parsed case, or "" when it is well formed.
std::string Malformation(const Case& c) {
  if (!c.problem.empty()) return c.problem;
  if (c.target == "kafka") {
    if (c.kafka_expect.empty()) return "a kafka case expects dlq or counted";
    if (c.messages.size() != 1) return "a kafka case is one record value";
    return "";
  }
  if (c.target != "ingest" && c.target != "gateway") return "unknown target '" + c.target + "'";
  if (c.answers.empty() && !c.closed) return "no expect";
  for (const auto& answer : c.answers) {
    if (answer.status < 100 || answer.status > 599) return "bad status in expect";
  }
  if (c.send == SendMode::kDrip && c.drip_interval.count() <= 0) return "send: drip needs an interval";
  if (c.send != SendMode::kWhole && !c.closed) return "a stalling client must expect closed";
  return "";
}

// Appends the cases of one *.cases file to `cases`.
void ReadCasesFile(const std::filesystem::path& file, std::vector<Case>& cases) {
  std::ifstream in(file);
  std::string line;
  int number = 0;
  bool in_bytes = false;
  while (std::getline(in, line)) {
    ++number;
    if (line.empty() || line[0] == '#') continue;
    if (line.rfind("=== ", 0) == 0) {
      Case& c = cases.emplace_back();
      c.where = file.filename().string() + ":" + std::to_string(number);
      c.name = line.substr(4);
      in_bytes = false;
    } else if (cases.empty()) {
      ADD_FAILURE() << file << ":" << number << ": text before the first case";
    } else if (in_bytes || !ApplySetting(line, cases.back())) {
      in_bytes = true;
      auto& messages = cases.back().messages;
      if (line == "---") {
        messages.emplace_back();
      } else {
        messages.back() += line;
      }
    }
  }
}

// Reads every *.cases file of the corpus; a malformed case fails the test that loads it.
std::vector<Case> LoadCorpus() {
  const std::filesystem::path dir = std::filesystem::path(CLICKSTREAM_SOURCE_DIR) / "tests" / "corpus";
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() == ".cases") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  std::vector<Case> cases;
  for (const auto& file : files) ReadCasesFile(file, cases);
  std::set<std::string> names;
  for (const Case& c : cases) {
    EXPECT_EQ(Malformation(c), "") << c.Label();
    EXPECT_TRUE(names.insert(c.name).second) << "two cases named " << c.Label();
  }
  return cases;
}

// ---- Expanding a case into bytes --------------------------------------------------------------------------------

struct CorpusRun {
  std::string user;  // unique to this test process: counts of its pairs start at zero
  int64_t now_us = 0;
};

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// \r \n \t \\ \xHH become their bytes; any other backslash stays (JSON escapes pass through).
std::string Unescape(const std::string& text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\\' || i + 1 == text.size()) {
      out.push_back(text[i]);
      continue;
    }
    const char next = text[i + 1];
    if (next == 'r' || next == 'n' || next == 't' || next == '\\') {
      out.push_back(next == 'r' ? '\r' : next == 'n' ? '\n' : next == 't' ? '\t' : '\\');
      ++i;
    } else if (next == 'x' && i + 3 < text.size() && HexDigit(text[i + 2]) >= 0 && HexDigit(text[i + 3]) >= 0) {
      out.push_back(static_cast<char>(HexDigit(text[i + 2]) * 16 + HexDigit(text[i + 3])));
      i += 3;
    } else {
      out.push_back('\\');
    }
  }
  return out;
}

// The usual request heads, before escapes are applied.
constexpr std::string_view kPostHead =
    R"(POST /ingest HTTP/1.1\r\nHost: corpus\r\nContent-Type: application/json\r\nContent-Length: {{length}}\r\n\r\n)";
constexpr std::string_view kGetHeadRest =
    R"( HTTP/1.1\r\nHost: corpus\r\nContent-Type: application/json\r\nContent-Length: {{length}}\r\n\r\n)";

// Expands the placeholders from `at` to the end of `text`, or (inside a placeholder, depth > 0) to its closing
// "}}", so that placeholders nest: {{repeat:60:Cookie: {{repeat:400:c}}\r\n}}. {{length}}, {{pad}} and {{chunks}}
// stay as they are: they wait for the bytes.
std::string ExpandFrom(const std::string& text, std::size_t& at, int depth, const CorpusRun& run,
                       std::map<std::string, std::string>& ids) {
  std::string out;
  while (at < text.size()) {
    if (depth > 0 && text.compare(at, 2, "}}") == 0) return out;
    if (text.compare(at, 2, "{{") != 0) {
      out.push_back(text[at++]);
      continue;
    }
    at += 2;
    const std::string name = ExpandFrom(text, at, depth + 1, run, ids);
    if (at >= text.size()) return out + "{{" + name;  // never closed: literal text
    at += 2;
    if (name.rfind("repeat:", 0) == 0) {
      const std::size_t sep = name.find(':', 7);
      const int count = std::atoi(name.substr(7, sep - 7).c_str());
      for (int i = 0; i < count; ++i) out += name.substr(sep + 1);
    } else if (name.rfind("id", 0) == 0) {
      auto [it, inserted] = ids.emplace(name, "");
      if (inserted) it->second = UniqueId("corpus");
      out += it->second;
    } else if (name == "user") {
      out += run.user;
    } else if (name == "post") {
      out += kPostHead;
    } else if (name.rfind("get:", 0) == 0) {
      out += "GET " + name.substr(4) + std::string(kGetHeadRest);
    } else if (name.rfind("now", 0) == 0) {
      const int64_t hours = name.size() > 3 ? std::atoll(name.c_str() + 3) : 0;  // "+48h" / "-90000h"
      const int64_t seconds = run.now_us / 1'000'000 + hours * 3600;
      out += domain::FormatTimestamp(seconds * 1'000'000);
    } else {
      out += "{{" + name + "}}";
    }
  }
  return out;
}

std::string ExpandPlaceholders(const std::string& text, const CorpusRun& run, std::map<std::string, std::string>& ids) {
  std::size_t at = 0;
  return ExpandFrom(text, at, 0, run, ids);
}

// `body` in the chunked transfer coding, in chunks of `size` bytes, with the last chunk and no trailer.
std::string Chunked(const std::string& body, std::size_t size) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (std::size_t at = 0; at < body.size(); at += size) {
    const std::string chunk = body.substr(at, size);
    std::string length;
    for (std::size_t n = chunk.size(); n > 0; n /= 16) length.insert(length.begin(), kHex[n % 16]);
    out += length + "\r\n" + chunk + "\r\n";
  }
  return out + "0\r\n\r\n";
}

// Fills {{chunks:N}}, {{pad:N}} and {{length}} in one message, now that its bytes are known.
std::string FillLengths(std::string message) {
  // The body follows the first blank line after the request line (empty lines before it are skipped by servers).
  const std::size_t request_line = std::min(message.find_first_not_of("\r\n"), message.size());
  std::size_t head_end = message.find("\r\n\r\n", request_line);
  std::size_t body_start = head_end == std::string::npos ? std::string::npos : head_end + 4;
  if (head_end == std::string::npos && (head_end = message.find("\n\n", request_line)) != std::string::npos) {
    body_start = head_end + 2;
  }
  if (body_start == std::string::npos) return message;
  std::string head = message.substr(0, body_start);
  std::string body = message.substr(body_start);
  if (body.rfind("{{chunks:", 0) == 0) body = Chunked(body.substr(body.find("}}") + 2), std::atoi(body.c_str() + 9));
  if (const std::size_t pad = body.find("{{pad:"); pad != std::string::npos) {
    const std::size_t end = body.find("}}", pad);
    const std::size_t want = std::strtoull(body.c_str() + pad + 6, nullptr, 10);
    const std::size_t have = body.size() - (end + 2 - pad);
    body.replace(pad, end + 2 - pad, want > have ? want - have : 0, ' ');
  }
  if (const std::size_t length = head.find("{{length}}"); length != std::string::npos) {
    head.replace(length, 10, std::to_string(body.size()));
  }
  return head + body;
}

std::vector<std::string> ExpandMessages(const Case& c, const CorpusRun& run) {
  std::map<std::string, std::string> ids;
  std::vector<std::string> messages;
  for (const std::string& message : c.messages) {
    messages.push_back(FillLengths(Unescape(ExpandPlaceholders(message, run, ids))));
  }
  return messages;
}

// ---- Running cases --------------------------------------------------------------------------------------------

// Events acknowledged with a 200, by (user_id, page_url): each must be counted exactly once.
class Acknowledged {
 public:
  void Add(const domain::ClickEvent& event) {
    std::lock_guard lock(mutex_);
    ids_[{event.user_id, event.page_url}].insert(event.event_id);
  }
  std::map<std::pair<std::string, std::string>, int64_t> ExpectedCounts() const {
    std::lock_guard lock(mutex_);
    std::map<std::pair<std::string, std::string>, int64_t> counts;
    for (const auto& [pair, ids] : ids_) counts[pair] = static_cast<int64_t>(ids.size());
    return counts;
  }

 private:
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, std::string>, std::set<std::string>> ids_;
};

std::string Printable(std::string_view text) {
  std::string out;
  for (char c : text.substr(0, 300)) out.push_back(c >= 0x20 && c < 0x7f ? c : '.');
  return text.size() > 300 ? out + "..." : out;
}

// What is wrong with the body of an error answer: it must be a JSON object with the strings error and message and,
// exactly when expected, field.
std::string CheckErrorBody(const RawAnswer& answer, const ExpectedAnswer& expected) {
  const auto type = answer.headers.find("content-type");
  if (type == answer.headers.end() || type->second.rfind("application/json", 0) != 0) {
    return "an error that is not application/json";
  }
  constexpr std::array<std::string_view, 3> kErrorFields = {"error", "message", "field"};
  auto fields = domain::ReadStringFields(answer.body, kErrorFields);
  if (!fields.ok()) return "an error body that is not a clean JSON object: " + std::string(fields.status().message());
  const auto& [error, message, field] = std::tie((*fields)[0], (*fields)[1], (*fields)[2]);
  if (error.value_or("").empty() || message.value_or("").empty()) return "an error without error and message";
  if (field.value_or("") != expected.field) {
    return "expected field '" + expected.field + "', got '" + field.value_or("") + "'";
  }
  return "";
}

// What is wrong with one answer, or "" when it is the expected one. A 200 echoing an event is recorded.
std::string CheckAnswer(const RawAnswer& answer, bool head, const ExpectedAnswer& expected, const CorpusRun& run,
                        Acknowledged& acknowledged) {
  const std::string context = "status " + std::to_string(answer.status) + " body " + Printable(answer.body);
  if (answer.status != expected.status) return "expected " + std::to_string(expected.status) + ", got " + context;
  if (answer.status == 405 && answer.headers.count("allow") == 0) return "a 405 without Allow: " + context;
  if (head) return "";  // no body to check
  if (answer.status >= 400) {
    if (auto problem = CheckErrorBody(answer, expected); !problem.empty()) return problem + ": " + context;
  }
  if (answer.status == 200 && answer.body.rfind("{\"event_id\":", 0) == 0) {
    auto event = domain::ParseClickEvent(answer.body, {}, run.now_us);
    if (!event.ok()) return "an echo that does not parse (" + std::string(event.status().message()) + "): " + context;
    if (event->user_id != run.user) return "acknowledged an event of another user than {{user}}: " + context;
    acknowledged.Add(*event);
  }
  return "";
}

// Sends GET /healthz on `connection`: what is wrong with the answer, or "" when it is the healthy one.
std::string CheckHealthz(RawConnection& connection, Clock::time_point deadline) {
  if (!connection.connected() || !connection.Send(kSentinel)) return "GET /healthz could not be sent";
  const auto answers = connection.ReadAnswers({false}, deadline);
  if (answers.empty()) {
    return std::string("GET /healthz got ") + (connection.closed() ? "a closed connection" : "nothing");
  }
  if (answers[0].status != 200 || answers[0].body != kHealthy) {
    return "GET /healthz got status " + std::to_string(answers[0].status) + " body " + Printable(answers[0].body);
  }
  return "";
}

// Sends one HTTP case and checks everything that comes back; returns the failures.
std::vector<std::string> RunHttpCase(const Case& c, uint16_t port, const CorpusRun& run, Acknowledged& acknowledged) {
  const std::vector<std::string> messages = ExpandMessages(c, run);
  std::string bytes;
  std::vector<bool> heads;
  for (const std::string& message : messages) {
    bytes += message;
    heads.push_back(message.rfind("HEAD ", 0) == 0);
  }
  heads.resize(c.answers.size(), false);

  RawConnection connection(port);
  if (!connection.connected()) return {"cannot connect to port " + std::to_string(port)};
  const auto deadline = Clock::now() + kCaseDeadline;
  if (c.send == SendMode::kDrip) {
    for (std::size_t i = 0; i < bytes.size() && !connection.PeerClosed(); ++i) {
      if (!connection.Send(std::string_view(bytes).substr(i, 1))) break;
      std::this_thread::sleep_for(c.drip_interval);
      if (Clock::now() > deadline) break;
    }
  } else {
    connection.Send(bytes);  // may fail half-way when the server refuses early; the answers tell
  }

  std::vector<std::string> failures;
  const std::vector<RawAnswer> answers = connection.ReadAnswers(heads, deadline);
  for (std::size_t i = 0; i < c.answers.size(); ++i) {
    if (i >= answers.size()) {
      failures.push_back("answer " + std::to_string(i + 1) + " never came (" +
                         (connection.closed() ? "connection closed" : "deadline passed: a hang") + ")");
      return failures;
    }
    if (auto problem = CheckAnswer(answers[i], heads[i], c.answers[i], run, acknowledged); !problem.empty()) {
      failures.push_back("answer " + std::to_string(i + 1) + ": " + problem);
    }
  }
  if (c.closed) {
    if (!connection.WaitClosed(deadline)) failures.push_back("the connection stayed open past the deadline: a hang");
    if (!connection.unread().empty()) failures.push_back("an unexpected answer: " + Printable(connection.unread()));
    // The server closed this connection; the next one must be served as usual.
    RawConnection next(port);
    if (auto problem = CheckHealthz(next, deadline); !problem.empty()) {
      failures.push_back("a new connection: " + problem);
    }
    return failures;
  }
  // The connection must still work, with nothing stray in it.
  if (auto problem = CheckHealthz(connection, deadline); !problem.empty()) {
    failures.push_back("the same connection: " + problem);
  }
  return failures;
}

// ---- The process under test -----------------------------------------------------------------------------------

class BadInputCorpus : public testing::Test {
 protected:
  void SetUp() override {
    corpus_ = LoadCorpus();
    run_ = {UniqueId("corpus-user"), domain::NowMicros()};
    process_ = std::make_unique<ServiceProcess>(
        "all", ServiceEnvironment(ports_, {{"CLICKSTREAM_HTTP_READ_TIMEOUT_MS", std::to_string(kReadTimeout.count())}}),
        "bad-input-clickstream");
    process_->Start();
    for (uint16_t port : {ports_.ingestion, ports_.gateway, ports_.processor, ports_.analytics_health}) {
      ASSERT_TRUE(process_->WaitReady(port))
          << "service on port " << port << " never became ready; log: " << process_->log_path();
    }
  }

  void TearDown() override {
    EXPECT_EQ(process_->Signal(SIGTERM), 0)
        << "clickstream did not drain and exit cleanly on SIGTERM; log: " << process_->log_path();
  }

  bool Alive() { return process_->Running(); }

  std::vector<const Case*> CasesFor(const std::string& target) const {
    std::vector<const Case*> cases;
    for (const Case& c : corpus_) {
      if (c.target == target) cases.push_back(&c);
    }
    return cases;
  }

  // Runs the cases on a few workers at once (slow clients do not hold up the rest); after each case its worker
  // posts a valid event, which must be acknowledged. Failures are reported per case.
  void RunHttpCases(const std::vector<const Case*>& cases, uint16_t port) {
    std::atomic<std::size_t> next{0};
    std::mutex mutex;
    std::map<std::string, std::vector<std::string>> failures;  // by case label
    auto worker = [&] {
      HttpConnection ingest(ports_.ingestion);
      for (std::size_t i = next++; i < cases.size(); i = next++) {
        auto problems = RunHttpCase(*cases[i], port, run_, acknowledged_);
        const std::string id = UniqueId("between");
        const std::string page = "/between/" + std::to_string(i % 7);
        const auto valid = ingest.Request("POST", "/ingest", EventJson(id, run_.user, page));
        if (valid.status == 200) {
          acknowledged_.Add(domain::ClickEvent{id, run_.user, "click", page, 0});
        } else {
          problems.push_back("the valid event posted after it got " + std::to_string(valid.status));
        }
        std::lock_guard lock(mutex);
        if (!problems.empty()) failures[cases[i]->Label()] = std::move(problems);
      }
    };
    std::vector<std::thread> threads;
    for (int t = 0; t < kWorkers; ++t) threads.emplace_back(worker);
    for (auto& thread : threads) thread.join();
    for (const auto& [label, problems] : failures) {
      std::string text;
      for (const auto& problem : problems) text += "\n    " + problem;
      ADD_FAILURE() << label << text;
    }
    EXPECT_TRUE(Alive()) << "clickstream died; log: " << process_->log_path();
  }

  // Waits until every acknowledged pair's count through the gateway is exact (bounded); returns the mismatches.
  std::map<std::pair<std::string, std::string>, int64_t> WaitForCounts(
      const std::map<std::pair<std::string, std::string>, int64_t>& expected) {
    HttpConnection gateway(ports_.gateway);
    std::map<std::pair<std::string, std::string>, int64_t> wrong;
    const auto deadline = Clock::now() + std::chrono::seconds(30);
    do {
      wrong.clear();
      for (const auto& [pair, count] : expected) {
        auto result = gateway.Request(
            "GET", "/analytics/events?user_id=" + UrlEncode(pair.first) + "&page_url=" + UrlEncode(pair.second));
        const auto at = result.body.find("\"count\":");
        const bool answered = result.status == 200 && at != std::string::npos;
        const int64_t seen = answered ? std::stoll(result.body.substr(at + 8)) : -1;
        if (seen != count) wrong[pair] = seen;
      }
      if (wrong.empty()) break;
      std::this_thread::sleep_for(milliseconds(200));
    } while (Clock::now() < deadline);
    return wrong;
  }

  void ExpectEveryAcknowledgedEventCountedOnce() {
    const auto expected = acknowledged_.ExpectedCounts();
    ASSERT_FALSE(expected.empty());
    const auto wrong = WaitForCounts(expected);
    for (const auto& [pair, seen] : wrong) {
      ADD_FAILURE() << "count of (" << Printable(pair.first) << ", " << Printable(pair.second) << ") is " << seen
                    << ", expected " << expected.at(pair);
    }
  }

  std::vector<Case> corpus_;
  CorpusRun run_;
  Acknowledged acknowledged_;
  const ServicePorts ports_ = ServicePorts::FreePorts();
  std::unique_ptr<ServiceProcess> process_;
};

TEST(BadInput, CorpusHasAtLeast150WellFormedCases) {
  const std::vector<Case> corpus = LoadCorpus();
  std::map<std::string, int> by_target;
  for (const Case& c : corpus) ++by_target[c.target];
  for (const auto& [target, count] : by_target) std::printf("corpus: %d %s cases\n", count, target.c_str());
  EXPECT_GE(corpus.size(), 150u);
  EXPECT_GT(by_target["ingest"], by_target["gateway"] + by_target["kafka"]) << "most cases are for ingestion";
}

TEST_F(BadInputCorpus, IngestionAnswersEveryCaseAsDocumentedAndCountsEveryAcknowledgedEvent) {
  RunHttpCases(CasesFor("ingest"), ports_.ingestion);
  ExpectEveryAcknowledgedEventCountedOnce();
}

TEST_F(BadInputCorpus, GatewayAnswersEveryCaseAsDocumented) {
  RunHttpCases(CasesFor("gateway"), ports_.gateway);
  ExpectEveryAcknowledgedEventCountedOnce();
}

struct DeadLetter {
  std::string value;
  std::string reason;        // header dlq.reason
  std::string source_topic;  // header dlq.source.topic
};

std::string HeaderValue(RdKafka::Message& message, const std::string& name) {
  if (message.headers() == nullptr) return "";
  for (const auto& header : message.headers()->get_all()) {
    if (header.key() == name) return std::string(static_cast<const char*>(header.value()), header.value_size());
  }
  return "";
}

// Reads the dead-letter topic from the start until every source record key of `wanted` was seen (bounded); the
// source record's key (header dlq.source.key) -> letter. The messages are copied out: librdkafka's destroy waits
// for every message of the consumer to be freed first.
std::map<std::string, DeadLetter> ReadDeadLetters(const std::set<std::string>& wanted) {
  const Infra& infra = TestInfra();
  std::string error;
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  conf->set("bootstrap.servers", infra.kafka_broker, error);
  conf->set("group.id", UniqueId("corpus-dlq-reader"), error);
  conf->set("auto.offset.reset", "earliest", error);
  std::unique_ptr<RdKafka::KafkaConsumer> consumer(RdKafka::KafkaConsumer::create(conf.get(), error));
  consumer->subscribe({infra.dlq_topic});
  std::map<std::string, DeadLetter> found;
  const auto deadline = Clock::now() + std::chrono::seconds(60);
  while (found.size() < wanted.size() && Clock::now() < deadline) {
    std::unique_ptr<RdKafka::Message> message(consumer->consume(200));
    if (message->err() != RdKafka::ERR_NO_ERROR) continue;
    const std::string source_key = HeaderValue(*message, "dlq.source.key");
    if (wanted.count(source_key) == 0) continue;
    found[source_key] = {
        message->len() == 0 ? std::string() : std::string(static_cast<const char*>(message->payload()), message->len()),
        HeaderValue(*message, "dlq.reason"), HeaderValue(*message, "dlq.source.topic")};
  }
  consumer->close();
  return found;
}

TEST_F(BadInputCorpus, PoisonRecordsLandInTheDeadLetterTopicAndValidOnesAreCounted) {
  const Infra& infra = TestInfra();
  kafka::PublisherOptions options;
  options.brokers = infra.kafka_broker;
  options.topic = infra.topic;
  auto publisher = kafka::KafkaEventPublisher::Create(options);
  ASSERT_TRUE(publisher.ok()) << publisher.status();

  struct Sent {
    const Case* c;
    std::string value;
  };
  std::map<std::string, Sent> sent;  // by record key
  std::vector<std::future<absl::Status>> acks;
  for (const Case* c : CasesFor("kafka")) {
    const std::string key = UniqueId("corpus-key");
    const std::string value = ExpandMessages(*c, run_)[0];
    sent[key] = {c, value};
    auto acked = std::make_shared<std::promise<absl::Status>>();
    acks.push_back(acked->get_future());
    (*publisher)->Publish(key, value, 0, {}, [acked](absl::StatusOr<domain::PartitionOffset> stored) {
      acked->set_value(stored.status());
    });
    if (c->kafka_expect == "counted") {
      auto event = domain::ParseClickEvent(value, {}, run_.now_us);
      ASSERT_TRUE(event.ok()) << c->Label() << " is not a valid event: " << event.status();
      ASSERT_EQ(event->user_id, run_.user) << c->Label() << " must use {{user}}";
      acknowledged_.Add(*event);
    }
  }
  for (auto& ack : acks) ASSERT_TRUE(ack.get().ok());

  std::set<std::string> poison;
  for (const auto& [key, record] : sent) {
    if (record.c->kafka_expect == "dlq") poison.insert(key);
  }
  const auto letters = ReadDeadLetters(poison);
  for (const auto& [key, record] : sent) {
    const auto letter = letters.find(key);
    if (record.c->kafka_expect == "counted") {
      EXPECT_EQ(letter, letters.end()) << record.c->Label() << " is valid but was dead-lettered";
      continue;
    }
    if (letter == letters.end()) {
      ADD_FAILURE() << record.c->Label() << " never reached " << infra.dlq_topic;
      continue;
    }
    const DeadLetter& dead = letter->second;
    EXPECT_EQ(dead.value, record.value) << record.c->Label() << ": the dead letter must carry the record unchanged";
    EXPECT_FALSE(dead.reason.empty()) << record.c->Label() << " has no dlq.reason";
    if (record.c->reason) {
      EXPECT_EQ(dead.reason, *record.c->reason) << record.c->Label();
    }
    EXPECT_EQ(dead.source_topic, infra.topic) << record.c->Label();
  }
  ExpectEveryAcknowledgedEventCountedOnce();
  EXPECT_TRUE(Alive()) << "clickstream died; log: " << process_->log_path();
}

}  // namespace
}  // namespace clickstream
