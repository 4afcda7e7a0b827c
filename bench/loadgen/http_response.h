// Incremental parser for HTTP/1.x responses as the load generator reads them: one response per request (no
// pipelining), re-run on the bytes received so far each time more arrive.
//
// Framing: Content-Length, `Transfer-Encoding: chunked` (decoded; trailers skipped) or, without either, the body
// runs until the server closes. 1xx interim responses are skipped. keep_alive follows the version's default
// (1.1 yes, 1.0 no) and the Connection header.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace clickstream::loadgen {

struct HttpResponse {
  int status = 0;
  bool keep_alive = true;
  std::string_view body;  // valid until the parser is reset or its input buffer changes
};

class ResponseParser {
 public:
  enum class Progress { kIncomplete, kComplete, kInvalid };

  // Forget the previous response; call before each request.
  void Reset();

  // `received` is every byte read since Reset() (the connection keeps them in one buffer); `closed` says the peer
  // closed its side, so nothing more will come.
  Progress Parse(std::string_view received, bool closed);

  // Valid after Parse() returned kComplete.
  const HttpResponse& response() const { return response_; }

 private:
  Progress ParseHead(std::string_view received);
  Progress ParseChunked(std::string_view received);

  std::size_t head_start_ = 0;  // where the current (non-1xx) response begins in `received`
  std::size_t scanned_ = 0;     // how far the search for the end of the head got
  std::size_t body_start_ = 0;  // 0 until the head is parsed
  long long content_length_ = -1;
  bool chunked_ = false;
  bool no_body_ = false;          // 204 and 304 carry none
  std::size_t chunk_cursor_ = 0;  // next unread byte of the chunked body
  std::string chunked_body_;      // decoded chunks; reused between responses
  HttpResponse response_;
};

}  // namespace clickstream::loadgen
