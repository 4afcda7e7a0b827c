// A raw HTTP client for tests that must control every byte: pipelined requests, malformed or oversized ones, and
// what the server does to the connection afterwards (answers, closes, stays silent). Blocking, with deadlines on
// every read, so a hang fails a test instead of stopping it.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace clickstream::testing_support {

struct RawAnswer {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};

// Takes one complete answer off the front of `buffer`. Our servers always send Content-Length; an answer to HEAD
// has none of the body it announces.
std::optional<RawAnswer> TakeAnswer(std::string& buffer, bool head);

class RawConnection {
 public:
  using Clock = std::chrono::steady_clock;

  // Connects to 127.0.0.1:port; connected() says whether it did.
  explicit RawConnection(uint16_t port);
  ~RawConnection();
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool connected() const { return connected_; }
  bool closed() const { return closed_; }

  // False when the server closed the connection meanwhile (it may refuse a request before reading all of it).
  bool Send(std::string_view bytes);

  // Reads until `heads.size()` answers are complete or the server closes the connection or the deadline passes;
  // `heads[i]` says whether the i-th answer is to a HEAD request.
  std::vector<RawAnswer> ReadAnswers(const std::vector<bool>& heads, Clock::time_point deadline);

  // Waits for the server to close the connection; false at the deadline. Bytes arriving meanwhile are kept.
  bool WaitClosed(Clock::time_point deadline);

  // Whether the server has closed the connection, without waiting.
  bool PeerClosed();

  // Bytes received and not taken as an answer.
  const std::string& unread() const { return buffer_; }

 private:
  // Reads what arrives before the deadline; false when nothing more can come (closed or deadline).
  bool Receive(Clock::time_point deadline);

  const int fd_;
  const bool connected_;
  bool closed_ = false;
  std::string buffer_;
};

}  // namespace clickstream::testing_support
