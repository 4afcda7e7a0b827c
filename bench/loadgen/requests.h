// The generated data and the HTTP requests that carry it. Ids are deterministic in (run id, index), so a later
// `query` run with the same --run-id and --pairs reads exactly the pairs an `ingest` run wrote:
//   pair k     user_id "<run>-u<k>", page_url "/bench/<run>/p<k%97>"
//   event i    event_id "<run>-e<i>", on pair i % pairs
//   probe j    event_id "<run>-probe<j>", user_id "<run>-probe-u<j>", page_url "/bench/<run>/probe"
// The run id is restricted to [A-Za-z0-9._-] (options.cc), so ids need no JSON escaping.
//
// Requests are rendered once where they repeat (static, query) and otherwise into a buffer the caller keeps
// between requests, so the hot path does not allocate.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "endpoint.h"
#include "options.h"

namespace clickstream::loadgen {

struct PairId {
  std::string user_id;
  std::string page_url;
};

PairId LoadPair(std::string_view run_id, uint64_t k);
PairId ProbePair(std::string_view run_id, uint64_t j);

// What an answer says about the events its request carried (status 0: no answer at all). Acknowledged only on
// 200; perhaps stored without an answer or with a 5xx (the service may have stored them before failing to
// answer, e.g. the broker acknowledged after the deadline); certainly not stored on any other status.
inline bool Acknowledged(int status) { return status == 200; }
inline bool MaybeStored(int status) { return status == 0 || status >= 500; }

// Events [first, first + count) travel in one request.
struct EventRange {
  uint64_t first = 0;
  uint64_t count = 0;
};

// GET {base}/analytics/events?user_id=..&page_url=.. (both percent-encoded).
std::string RenderCountQuery(const Endpoint& endpoint, const PairId& pair, std::string_view api_key);

// POST {base}/ingest with probe j's event, rendered into `out`.
void RenderProbeIngest(const Options& options, uint64_t j, std::string& out);

// The requests of one workload, by request index. One instance per thread: it keeps scratch space.
class RequestRenderer {
 public:
  explicit RequestRenderer(const Options& options);

  // Request `index`'s bytes: a view of pre-rendered text or of `scratch`, valid until the next call with the same
  // scratch. `index` < RequestLimit().
  std::string_view Render(uint64_t index, std::string& scratch);

  // The events request `index` carries (empty for query and static).
  EventRange Events(uint64_t index) const;

  // How many requests the workload has: the pair count for `query --distinct`, otherwise unbounded.
  uint64_t RequestLimit() const;

 private:
  void AppendEvent(uint64_t event_index, std::string& out) const;

  const Options& options_;
  std::string header_tail_;             // "Host: ..\r\n" and the API key line
  std::string event_prefix_;            // "<run>-e"
  std::string user_prefix_;             // "<run>-u"
  std::vector<std::string> page_urls_;  // the run's page URLs, by k % 97
  std::string body_;                    // scratch: the body is rendered before its Content-Length
  std::vector<std::string> queries_;    // query: one pre-rendered request per pair
  std::string static_request_;
};

}  // namespace clickstream::loadgen
