// One keep-alive HTTP/1.1 client connection on a non-blocking socket: it sends one request, reads one response,
// and tells its observer the outcome. It (re)connects by itself when a request finds it closed; the server may
// close it between requests (Connection: close, HTTP/1.0, idle timeout) without that counting as an error.
//
// Ownership: a driver (LoadWorker, ProbeRunner, CountVerifier) owns its connections and their EventLoop; all of
// them run on the driver's thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "clock.h"
#include "endpoint.h"
#include "event_loop.h"
#include "http_response.h"

namespace clickstream::loadgen {

class Connection;

// Told the outcome of each exchange, on the loop's thread, from inside EventLoop::RunOnce() or Connection::Abort().
// The connection is idle when either is called. Observers must not call Send() from these callbacks: drivers
// note the outcome and send from their own pump after RunOnce() returns, so a connection is never re-entered.
class ExchangeObserver {
 public:
  virtual ~ExchangeObserver() = default;
  // A complete response. `response.body` is valid until the next Send() on this connection.
  virtual void OnResponse(Connection& connection, const HttpResponse& response, Nanos now) = 0;
  // No response: connect failure, reset, close before the end of the response, unparsable response, or Abort().
  virtual void OnFailure(Connection& connection, Nanos now) = 0;
};

class Connection final : public IoHandler {
 public:
  // `tag` is the owner's to use (an index into its own tables).
  Connection(EventLoop& loop, const Endpoint& endpoint, ExchangeObserver& observer, uint32_t tag);
  ~Connection() override;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Connects ahead of the first request so the first measured requests do not pay for the handshake.
  // False when the connect failed at once (the next Send() tries again).
  bool Open();

  // Starts an exchange; only when !busy(). `request` must stay valid until the observer is told the outcome.
  // Returns false when it failed at once (connect refused, send error): the connection is closed, no callback
  // follows, and the caller counts the failure itself.
  bool Send(std::string_view request, Nanos now);

  // Gives up on the current exchange (the owner's timeout): closes the socket and calls OnFailure.
  void Abort(Nanos now);

  bool busy() const { return busy_; }
  bool connecting() const { return state_ == State::kConnecting; }
  Nanos sent_at() const { return sent_at_; }
  uint32_t tag() const { return tag_; }
  // A buffer the owner may render this connection's next request into (keeps its capacity between requests).
  std::string& scratch() { return scratch_; }

  void OnIo(uint32_t events) override;

 private:
  enum class State { kClosed, kConnecting, kOpen };

  bool StartConnect();
  bool FinishConnect();
  bool WriteSome();
  void ReadSome();
  void SetInterest(uint32_t events);
  void CloseSocket();
  void Fail();

  EventLoop& loop_;
  const Endpoint& endpoint_;
  ExchangeObserver& observer_;
  const uint32_t tag_;

  int fd_ = -1;
  State state_ = State::kClosed;
  uint32_t interest_ = 0;  // the events currently registered with epoll
  bool busy_ = false;

  std::string_view request_;
  std::size_t written_ = 0;
  Nanos sent_at_ = 0;

  std::vector<char> input_;  // the response so far; grows for large answers and keeps its size afterwards
  std::size_t input_size_ = 0;
  ResponseParser parser_;
  std::string scratch_;
};

}  // namespace clickstream::loadgen
