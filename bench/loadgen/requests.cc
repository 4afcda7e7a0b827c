// Ids and request rendering for every workload (see requests.h).
#include "requests.h"

#include <charconv>

namespace clickstream::loadgen {
namespace {

constexpr uint64_t kPagesPerRun = 97;  // pairs share pages the way real users do

void AppendNumber(std::string& out, uint64_t value) {
  char digits[24];
  const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, value);
  (void)ec;  // 24 digits always suffice for 64 bits
  out.append(digits, end);
}

// RFC 3986 unreserved characters stay; everything else (including '/') is %XX, as a browser's form would send.
void AppendPercentEncoded(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (const char c : text) {
    const bool unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                            c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out.push_back(c);
    } else {
      const auto byte = static_cast<unsigned char>(c);
      out.push_back('%');
      out.push_back(kHex[byte >> 4]);
      out.push_back(kHex[byte & 0xf]);
    }
  }
}

std::string HeaderTail(const Endpoint& endpoint, std::string_view api_key) {
  std::string tail = "Host: " + endpoint.host_header + "\r\n";
  if (!api_key.empty()) tail += "X-API-Key: " + std::string(api_key) + "\r\n";
  return tail;
}

// {"event_id":"<event_prefix><event_number>","user_id":"<user_prefix><user_number>","event_type":"click",
//  "page_url":"<page_url>"}; no time_stamp, the service fills it in.
void AppendEventJson(std::string& out, std::string_view event_prefix, uint64_t event_number,
                     std::string_view user_prefix, uint64_t user_number, std::string_view page_url) {
  out += R"({"event_id":")";
  out += event_prefix;
  AppendNumber(out, event_number);
  out += R"(","user_id":")";
  out += user_prefix;
  AppendNumber(out, user_number);
  out += R"(","event_type":"click","page_url":")";
  out += page_url;
  out += R"("})";
}

// Appends instead of concatenating temporaries, so rendering into a kept buffer allocates nothing.
void RenderPost(const Endpoint& endpoint, std::string_view path, std::string_view header_tail,
                std::string_view content_type, std::string_view body, std::string& out) {
  out.clear();
  out += "POST ";
  out += endpoint.base_path;
  out += path;
  out += " HTTP/1.1\r\n";
  out += header_tail;
  out += "Content-Type: ";
  out += content_type;
  out += "\r\nContent-Length: ";
  AppendNumber(out, body.size());
  out += "\r\n\r\n";
  out += body;
}

}  // namespace

PairId LoadPair(std::string_view run_id, uint64_t k) {
  PairId pair;
  pair.user_id = std::string(run_id) + "-u";
  AppendNumber(pair.user_id, k);
  pair.page_url = "/bench/" + std::string(run_id) + "/p";
  AppendNumber(pair.page_url, k % kPagesPerRun);
  return pair;
}

PairId ProbePair(std::string_view run_id, uint64_t j) {
  PairId pair;
  pair.user_id = std::string(run_id) + "-probe-u";
  AppendNumber(pair.user_id, j);
  pair.page_url = "/bench/" + std::string(run_id) + "/probe";
  return pair;
}

std::string RenderCountQuery(const Endpoint& endpoint, const PairId& pair, std::string_view api_key) {
  std::string request = "GET " + endpoint.base_path + "/analytics/events?user_id=";
  AppendPercentEncoded(request, pair.user_id);
  request += "&page_url=";
  AppendPercentEncoded(request, pair.page_url);
  request += " HTTP/1.1\r\n" + HeaderTail(endpoint, api_key) + "\r\n";
  return request;
}

void RenderProbeIngest(const Options& options, uint64_t j, std::string& out) {
  const std::string& run = options.run_id;
  std::string body;
  AppendEventJson(body, run + "-probe", j, run + "-probe-u", j, ProbePair(run, j).page_url);
  RenderPost(options.target, "/ingest", HeaderTail(options.target, options.api_key), "application/json", body, out);
}

RequestRenderer::RequestRenderer(const Options& options)
    : options_(options),
      header_tail_(HeaderTail(options.target, options.api_key)),
      event_prefix_(options.run_id + "-e"),
      user_prefix_(options.run_id + "-u") {
  for (uint64_t page = 0; page < kPagesPerRun; ++page) page_urls_.push_back(LoadPair(options.run_id, page).page_url);
  if (options.workload == Workload::kQuery) {
    queries_.reserve(options.pairs);
    for (uint64_t k = 0; k < options.pairs; ++k) {
      queries_.push_back(RenderCountQuery(options.target, LoadPair(options.run_id, k), options.api_key));
    }
  }
  if (options.workload == Workload::kStatic) {
    static_request_ = "GET " + options.target.base_path + options.path + " HTTP/1.1\r\n" + header_tail_ + "\r\n";
  }
}

std::string_view RequestRenderer::Render(uint64_t index, std::string& scratch) {
  switch (options_.workload) {
    case Workload::kStatic: return static_request_;
    case Workload::kQuery: return queries_[index % queries_.size()];
    case Workload::kBatch: {
      body_.clear();
      const EventRange events = Events(index);
      for (uint64_t i = events.first; i < events.first + events.count; ++i) {
        AppendEvent(i, body_);
        body_.push_back('\n');
      }
      RenderPost(options_.target, "/ingest/batch", header_tail_, "application/x-ndjson", body_, scratch);
      return scratch;
    }
    case Workload::kIngest:
    case Workload::kFresh:
      body_.clear();
      AppendEvent(index, body_);
      RenderPost(options_.target, "/ingest", header_tail_, "application/json", body_, scratch);
      return scratch;
  }
  return {};
}

EventRange RequestRenderer::Events(uint64_t index) const {
  switch (options_.workload) {
    case Workload::kBatch: {
      const auto size = static_cast<uint64_t>(options_.batch_size);
      return {index * size, size};
    }
    case Workload::kIngest:
    case Workload::kFresh: return {index, 1};
    case Workload::kQuery:
    case Workload::kStatic: break;
  }
  return {};
}

uint64_t RequestRenderer::RequestLimit() const {
  return options_.workload == Workload::kQuery && options_.distinct ? options_.pairs : UINT64_MAX;
}

void RequestRenderer::AppendEvent(uint64_t event_index, std::string& out) const {
  const uint64_t k = event_index % options_.pairs;
  AppendEventJson(out, event_prefix_, event_index, user_prefix_, k, page_urls_[k % kPagesPerRun]);
}

}  // namespace clickstream::loadgen
