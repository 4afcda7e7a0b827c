// Incremental HTTP/1.x response parsing (see http_response.h).
#include "http_response.h"

#include <charconv>
#include <cstring>

namespace clickstream::loadgen {
namespace {

// Servers can answer with large heads (cookies); anything bigger than this is not an answer we expect.
constexpr std::size_t kMaxHeadBytes = 64 * 1024;

bool EqualsIgnoreCase(std::string_view a, std::string_view lower_b) {
  if (a.size() != lower_b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char c = a[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != lower_b[i]) return false;
  }
  return true;
}

bool ContainsTokenIgnoreCase(std::string_view list, std::string_view lower_token) {
  while (!list.empty()) {
    const std::size_t comma = list.find(',');
    std::string_view item = list.substr(0, comma);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (EqualsIgnoreCase(item, lower_token)) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

std::string_view Trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

}  // namespace

void ResponseParser::Reset() {
  head_start_ = 0;
  scanned_ = 0;
  body_start_ = 0;
  content_length_ = -1;
  chunked_ = false;
  no_body_ = false;
  chunk_cursor_ = 0;
  chunked_body_.clear();
  response_ = HttpResponse{};
}

ResponseParser::Progress ResponseParser::Parse(std::string_view received, bool closed) {
  while (body_start_ == 0) {
    const Progress head = ParseHead(received);
    if (head == Progress::kInvalid) return head;
    if (head == Progress::kIncomplete) return closed ? Progress::kInvalid : head;
  }
  if (no_body_) {
    response_.body = {};
    return Progress::kComplete;
  }
  if (chunked_) {
    const Progress body = ParseChunked(received);
    return body == Progress::kIncomplete && closed ? Progress::kInvalid : body;
  }
  if (content_length_ >= 0) {
    const std::size_t length = static_cast<std::size_t>(content_length_);
    if (received.size() - body_start_ < length) return closed ? Progress::kInvalid : Progress::kIncomplete;
    response_.body = received.substr(body_start_, length);
    return Progress::kComplete;
  }
  // Neither length nor chunked: the body is whatever arrives until the server closes (RFC 9112 section 6.3).
  if (!closed) return Progress::kIncomplete;
  response_.keep_alive = false;
  response_.body = received.substr(body_start_);
  return Progress::kComplete;
}

// Parses the status line and headers once "\r\n\r\n" has arrived; sets body_start_ on success. A 1xx interim
// response is skipped by moving head_start_ past it and leaving body_start_ at 0, so Parse() loops.
ResponseParser::Progress ResponseParser::ParseHead(std::string_view received) {
  const std::size_t from = scanned_ > head_start_ + 3 ? scanned_ - 3 : head_start_;
  const std::size_t end = received.find("\r\n\r\n", from);
  if (end == std::string_view::npos) {
    scanned_ = received.size();
    return received.size() - head_start_ > kMaxHeadBytes ? Progress::kInvalid : Progress::kIncomplete;
  }
  std::string_view head = received.substr(head_start_, end - head_start_);
  const std::size_t line_end = head.find("\r\n");
  const std::string_view status_line = head.substr(0, line_end);
  head = line_end == std::string_view::npos ? std::string_view() : head.substr(line_end + 2);

  // "HTTP/1.1 200 OK"
  if (status_line.size() < 12 || status_line.substr(0, 7) != "HTTP/1." || status_line[8] != ' ') {
    return Progress::kInvalid;
  }
  int status = 0;
  const auto [ptr, ec] = std::from_chars(status_line.data() + 9, status_line.data() + 12, status);
  if (ec != std::errc() || ptr != status_line.data() + 12 || status < 100 || status > 999) return Progress::kInvalid;
  bool keep_alive = status_line[7] != '0';  // 1.1 defaults to keep-alive, 1.0 to close
  long long content_length = -1;
  bool chunked = false;

  while (!head.empty()) {
    const std::size_t next = head.find("\r\n");
    const std::string_view line = head.substr(0, next);
    head = next == std::string_view::npos ? std::string_view() : head.substr(next + 2);
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) return Progress::kInvalid;
    const std::string_view name = line.substr(0, colon);
    const std::string_view value = Trim(line.substr(colon + 1));
    if (EqualsIgnoreCase(name, "content-length")) {
      const auto [vend, vec] = std::from_chars(value.data(), value.data() + value.size(), content_length);
      if (vec != std::errc() || vend != value.data() + value.size() || content_length < 0) return Progress::kInvalid;
    } else if (EqualsIgnoreCase(name, "transfer-encoding")) {
      chunked = ContainsTokenIgnoreCase(value, "chunked");
    } else if (EqualsIgnoreCase(name, "connection")) {
      if (ContainsTokenIgnoreCase(value, "close")) keep_alive = false;
      if (ContainsTokenIgnoreCase(value, "keep-alive")) keep_alive = true;
    }
  }

  if (status < 200) {  // 100 Continue and friends: the real answer follows
    head_start_ = end + 4;
    scanned_ = head_start_;
    return Progress::kComplete;  // body_start_ stays 0, so Parse() looks for the next head
  }
  response_.status = status;
  response_.keep_alive = keep_alive;
  content_length_ = content_length;
  chunked_ = chunked;
  no_body_ = status == 204 || status == 304;
  body_start_ = end + 4;
  chunk_cursor_ = body_start_;
  return Progress::kComplete;
}

// Decodes as many complete chunks as have arrived into chunked_body_; kComplete after the last chunk and the
// trailer section.
ResponseParser::Progress ResponseParser::ParseChunked(std::string_view received) {
  while (true) {
    const std::size_t line_end = received.find("\r\n", chunk_cursor_);
    if (line_end == std::string_view::npos) return Progress::kIncomplete;
    std::string_view size_text = received.substr(chunk_cursor_, line_end - chunk_cursor_);
    size_text = size_text.substr(0, size_text.find(';'));  // chunk extensions are ignored
    size_text = Trim(size_text);
    std::size_t size = 0;
    const auto [end, ec] = std::from_chars(size_text.data(), size_text.data() + size_text.size(), size, 16);
    if (ec != std::errc() || end != size_text.data() + size_text.size()) return Progress::kInvalid;
    if (size == 0) {
      // Trailer fields (ignored) end with an empty line.
      std::size_t cursor = line_end + 2;
      while (true) {
        const std::size_t trailer_end = received.find("\r\n", cursor);
        if (trailer_end == std::string_view::npos) return Progress::kIncomplete;
        if (trailer_end == cursor) break;
        cursor = trailer_end + 2;
      }
      response_.body = chunked_body_;
      return Progress::kComplete;
    }
    const std::size_t data_start = line_end + 2;
    if (received.size() < data_start + size + 2) return Progress::kIncomplete;
    if (received.substr(data_start + size, 2) != "\r\n") return Progress::kInvalid;
    chunked_body_.append(received.data() + data_start, size);
    chunk_cursor_ = data_start + size + 2;
  }
}

}  // namespace clickstream::loadgen
