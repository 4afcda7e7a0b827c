// Fuzzes POST /ingest as the HTTP adapter hands it over: ingestion::HandleIngest (the handler and IngestionService)
// with a fake broker (tests/support/fakes.h). Whatever the request and the broker's answer: exactly one answer, a
// documented status with a JSON body, a 200 only after the broker acknowledged, and then the published record is the
// normalized request event keyed by its user_id and is what the 200 echoes, with its position.
//
// Input: one control byte, the Content-Type up to the first newline, then the body. The control byte chooses the
// broker's answer (bits 0-1: OK, UNAVAILABLE, RESOURCE_EXHAUSTED, DEADLINE_EXCEEDED) and whether the in-flight
// queue is already full (bit 2).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "fuzz_support.h"
#include "services/ingestion/ingest_handler.h"
#include "support/fakes.h"

namespace {

using clickstream::ports::HttpResponse;
using clickstream::testing_support::FakePublisher;

constexpr int64_t kNow = 1'700'000'000'000'000;
constexpr const char* kQueued = R"({"event_id":"q","user_id":"q","event_type":"click","page_url":"/q"})";

absl::Status BrokerAnswer(uint8_t control) {
  switch (control & 3) {
    case 0: return absl::OkStatus();
    case 1: return absl::UnavailableError("broker unreachable");
    case 2: return absl::ResourceExhaustedError("producer queue full");
    default: return absl::DeadlineExceededError("publish timed out");
  }
}

// Built field by field: the request grows headers (API keys) that these targets leave empty.
clickstream::ports::HttpRequest Post(std::string_view content_type, std::string_view body) {
  clickstream::ports::HttpRequest request;
  request.method = "POST";
  request.path = "/ingest";
  request.content_type = content_type;
  request.body = body;
  return request;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const uint8_t control = data[0];
  const bool queue_full = (control & 4) != 0;
  auto [content_type, body] =
      clickstream::fuzz::SplitLine(std::string_view(reinterpret_cast<const char*>(data) + 1, size - 1));

  clickstream::ingestion::IngestionOptions options;
  options.max_body_bytes = 512;  // small, so the fuzzer reaches 413
  options.max_in_flight = 1;
  options.limits.max_field_bytes = 64;
  auto owned_publisher = std::make_unique<FakePublisher>();
  FakePublisher& publisher = *owned_publisher;
  clickstream::ingestion::IngestionService service(options, std::move(owned_publisher), [] { return kNow; });

  if (queue_full) {
    clickstream::ingestion::HandleIngest(service, Post("", kQueued), [](HttpResponse) {});
    FUZZ_CHECK(service.InFlight() == 1);
  }
  const std::size_t published_before = publisher.published.size();

  const clickstream::ports::HttpRequest request = Post(content_type, body);
  int answers = 0;
  std::optional<HttpResponse> answer;
  clickstream::ingestion::HandleIngest(service, request, [&](HttpResponse response) {
    ++answers;
    answer = std::move(response);
  });
  const bool published = publisher.published.size() > published_before;
  if (published) {
    FUZZ_CHECK(answers == 0);  // nothing is answered before the broker has
    FUZZ_CHECK(!queue_full);
    publisher.Complete(published_before, BrokerAnswer(control));
  }
  if (queue_full) publisher.Complete(0, absl::OkStatus());
  FUZZ_CHECK(answers == 1);
  FUZZ_CHECK(service.InFlight() == 0);
  clickstream::fuzz::CheckHttpAnswer(*answer, {200, 400, 413, 415, 503, 504});

  const auto event = clickstream::domain::ParseClickEvent(body, options.limits, kNow);
  if (!published) {
    FUZZ_CHECK(answer->status != 200);
    // Only a request that passes every check may reach the broker, and every such request does unless the queue
    // is full.
    FUZZ_CHECK(queue_full || body.size() > options.max_body_bytes || answer->status == 415 || !event.ok());
    return 0;
  }
  FUZZ_CHECK(event.ok());
  FUZZ_CHECK(body.size() <= options.max_body_bytes);
  const auto& record = publisher.published[published_before];
  FUZZ_CHECK(record.key == event->user_id);
  FUZZ_CHECK(record.value == clickstream::domain::ToJson(*event));
  FUZZ_CHECK((answer->status == 200) == BrokerAnswer(control).ok());
  // The 200 echoes the record, with where the fake broker stored it (partition 0, the publish's index) beside.
  if (answer->status == 200) {
    FUZZ_CHECK(answer->body == record.value.substr(0, record.value.size() - 1) + ",\"position\":\"0-" +
                                   std::to_string(published_before + 1) + "\"}");
  }
  return 0;
}
