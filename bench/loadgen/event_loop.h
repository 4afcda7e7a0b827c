// One epoll instance per load-generator thread: sockets register an IoHandler, and RunOnce() waits (with
// nanosecond timeouts, so open-loop schedules are kept to the microsecond) and hands each event to its handler.
#pragma once

#include <sys/epoll.h>

#include <cstdint>

#include "clock.h"

namespace clickstream::loadgen {

class IoHandler {
 public:
  virtual ~IoHandler() = default;
  // Called on the loop's thread with the epoll event bits (EPOLLIN, EPOLLOUT, EPOLLERR, EPOLLHUP).
  virtual void OnIo(uint32_t events) = 0;
};

class EventLoop {
 public:
  EventLoop();
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Level-triggered registrations; a closed descriptor leaves the epoll set by itself.
  void Add(int fd, uint32_t events, IoHandler* handler);
  void Modify(int fd, uint32_t events, IoHandler* handler);

  // Waits for events until `deadline` (returns at once when it has passed) and dispatches them.
  void RunOnce(Nanos deadline);

 private:
  static constexpr int kMaxEvents = 256;
  int epoll_fd_;
  bool use_pwait2_ = true;  // epoll_pwait2 (Linux 5.11) takes a timespec; older kernels get millisecond waits
  epoll_event events_[kMaxEvents];
};

}  // namespace clickstream::loadgen
