// Non-blocking HTTP/1.1 client connection (see connection.h).
#include "connection.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

namespace clickstream::loadgen {
namespace {

constexpr std::size_t kInitialInput = 16 * 1024;
constexpr std::size_t kMinReadSpace = 4 * 1024;
// A batch answer for 10,000 events with long error messages stays far below this; more is a broken server.
constexpr std::size_t kMaxInput = 64 * 1024 * 1024;

}  // namespace

Connection::Connection(EventLoop& loop, const Endpoint& endpoint, ExchangeObserver& observer, uint32_t tag)
    : loop_(loop), endpoint_(endpoint), observer_(observer), tag_(tag), input_(kInitialInput) {}

Connection::~Connection() { CloseSocket(); }

bool Connection::Open() { return fd_ >= 0 || StartConnect(); }

bool Connection::Send(std::string_view request, Nanos now) {
  request_ = request;
  written_ = 0;
  input_size_ = 0;
  parser_.Reset();
  sent_at_ = now;
  busy_ = true;
  if (fd_ < 0 && !StartConnect()) {
    busy_ = false;
    return false;
  }
  if (state_ == State::kConnecting) return true;  // the request goes out once the connect completes
  if (!WriteSome()) {
    CloseSocket();
    busy_ = false;
    return false;
  }
  return true;
}

void Connection::Abort(Nanos now) {
  CloseSocket();
  if (!busy_) return;
  busy_ = false;
  observer_.OnFailure(*this, now);
}

void Connection::OnIo(uint32_t events) {
  if (state_ == State::kConnecting) {
    if (!FinishConnect()) return Fail();
    if (!busy_) return SetInterest(EPOLLIN);
    if (!WriteSome()) return Fail();
    return;
  }
  if ((events & EPOLLOUT) && busy_ && written_ < request_.size() && !WriteSome()) return Fail();
  if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) ReadSome();
}

bool Connection::StartConnect() {
  fd_ = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return false;
  // Requests are small and written in one call: Nagle would only hold them back.
  const int one = 1;
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  const int rc = connect(fd_, reinterpret_cast<const sockaddr*>(&endpoint_.address), sizeof endpoint_.address);
  if (rc != 0 && errno != EINPROGRESS) {
    CloseSocket();
    return false;
  }
  state_ = rc == 0 ? State::kOpen : State::kConnecting;
  interest_ = rc == 0 ? EPOLLIN : (EPOLLIN | EPOLLOUT);
  loop_.Add(fd_, interest_, this);
  return true;
}

bool Connection::FinishConnect() {
  int error = 0;
  socklen_t length = sizeof error;
  if (getsockopt(fd_, SOL_SOCKET, SO_ERROR, &error, &length) != 0 || error != 0) return false;
  state_ = State::kOpen;
  return true;
}

// Writes what the socket takes; asks for EPOLLOUT only while a request is partly written, so the common case (a
// request that fits the socket buffer) costs one send() and no epoll_ctl.
bool Connection::WriteSome() {
  while (written_ < request_.size()) {
    const ssize_t n = send(fd_, request_.data() + written_, request_.size() - written_, MSG_NOSIGNAL);
    if (n > 0) {
      written_ += static_cast<std::size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      SetInterest(EPOLLIN | EPOLLOUT);
      return true;
    } else {
      return false;
    }
  }
  SetInterest(EPOLLIN);
  return true;
}

void Connection::ReadSome() {
  if (!busy_) {
    // Nothing asked: the server closed an idle keep-alive connection (or sent something unasked). Either way the
    // connection is done; the next Send() reconnects.
    char discard[512];
    const ssize_t n = recv(fd_, discard, sizeof discard, 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    CloseSocket();
    return;
  }
  if (input_.size() - input_size_ < kMinReadSpace) {
    if (input_.size() >= kMaxInput) return Fail();
    input_.resize(input_.size() * 2);
  }
  const ssize_t n = recv(fd_, input_.data() + input_size_, input_.size() - input_size_, 0);
  bool closed = false;
  if (n > 0) {
    input_size_ += static_cast<std::size_t>(n);
  } else if (n == 0) {
    closed = true;
  } else if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
    return;
  } else {
    return Fail();
  }
  // Level-triggered: when more bytes are waiting than fitted, epoll reports the socket again.
  switch (parser_.Parse(std::string_view(input_.data(), input_size_), closed)) {
    case ResponseParser::Progress::kIncomplete: return;
    case ResponseParser::Progress::kInvalid: return Fail();
    case ResponseParser::Progress::kComplete: break;
  }
  if (!parser_.response().keep_alive || closed) CloseSocket();
  busy_ = false;
  observer_.OnResponse(*this, parser_.response(), NowNanos());
}

void Connection::SetInterest(uint32_t events) {
  if (events == interest_) return;
  interest_ = events;
  loop_.Modify(fd_, events, this);
}

void Connection::CloseSocket() {
  if (fd_ >= 0) close(fd_);  // closing also removes it from the epoll set
  fd_ = -1;
  state_ = State::kClosed;
  interest_ = 0;
}

void Connection::Fail() {
  CloseSocket();
  if (!busy_) return;
  busy_ = false;
  observer_.OnFailure(*this, NowNanos());
}

}  // namespace clickstream::loadgen
