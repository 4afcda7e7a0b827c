#include "support/raw_connection.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include "support/http_client.h"

namespace clickstream::testing_support {

std::optional<RawAnswer> TakeAnswer(std::string& buffer, bool head) {
  const std::size_t head_end = buffer.find("\r\n\r\n");
  if (head_end == std::string::npos) return std::nullopt;
  RawAnswer answer;
  answer.status = std::atoi(buffer.c_str() + std::min(buffer.find(' ') + 1, head_end));
  std::size_t line = buffer.find("\r\n");
  while (line < head_end) {
    const std::size_t next = buffer.find("\r\n", line + 2);
    const std::string field = buffer.substr(line + 2, next - line - 2);
    const std::size_t colon = field.find(':');
    if (colon != std::string::npos) {
      std::string name = field.substr(0, colon);
      std::transform(name.begin(), name.end(), name.begin(), [](unsigned char ch) { return std::tolower(ch); });
      answer.headers[name] = field.substr(std::min(field.find_first_not_of(' ', colon + 1), field.size()));
    }
    line = next;
  }
  const std::size_t length = head ? 0 : std::strtoull(answer.headers["content-length"].c_str(), nullptr, 10);
  if (buffer.size() < head_end + 4 + length) return std::nullopt;
  answer.body = buffer.substr(head_end + 4, length);
  buffer.erase(0, head_end + 4 + length);
  return answer;
}

// Reads wait in poll, up to their deadline; a send may wait up to 2 s for the server to read.
RawConnection::RawConnection(uint16_t port) : fd_(ConnectLoopback(port, 2000, 0)), connected_(fd_ >= 0) {}

RawConnection::~RawConnection() {
  if (fd_ >= 0) close(fd_);
}

bool RawConnection::Send(std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t sent = send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (sent <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(sent));
  }
  return true;
}

std::vector<RawAnswer> RawConnection::ReadAnswers(const std::vector<bool>& heads, Clock::time_point deadline) {
  std::vector<RawAnswer> answers;
  while (answers.size() < heads.size()) {
    if (auto answer = TakeAnswer(buffer_, heads[answers.size()])) {
      answers.push_back(std::move(*answer));
    } else if (!Receive(deadline)) {
      break;
    }
  }
  return answers;
}

bool RawConnection::WaitClosed(Clock::time_point deadline) {
  while (!closed_) {
    if (!Receive(deadline)) return closed_;
  }
  return true;
}

bool RawConnection::PeerClosed() {
  if (!closed_) Receive(Clock::now());
  return closed_;
}

bool RawConnection::Receive(Clock::time_point deadline) {
  if (closed_) return false;
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  pollfd poll_fd{fd_, POLLIN, 0};
  if (poll(&poll_fd, 1, static_cast<int>(std::max<int64_t>(0, left))) <= 0) return false;
  char chunk[65536];
  const ssize_t n = recv(fd_, chunk, sizeof(chunk), 0);
  if (n <= 0) {
    closed_ = true;  // EOF, or a reset when the server closed with our bytes unread
    return false;
  }
  buffer_.append(chunk, static_cast<std::size_t>(n));
  return true;
}

}  // namespace clickstream::testing_support
