// epoll wrapper of the load generator (see event_loop.h).
#include "event_loop.h"

#include <errno.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace clickstream::loadgen {
namespace {

[[noreturn]] void DieOnSystemError(const char* what) {
  std::fprintf(stderr, "clickstream-loadgen: %s: %s\n", what, std::strerror(errno));
  std::exit(1);
}

}  // namespace

EventLoop::EventLoop() : epoll_fd_(epoll_create1(EPOLL_CLOEXEC)) {
  if (epoll_fd_ < 0) DieOnSystemError("epoll_create1");
}

EventLoop::~EventLoop() { close(epoll_fd_); }

void EventLoop::Add(int fd, uint32_t events, IoHandler* handler) {
  epoll_event event{};
  event.events = events;
  event.data.ptr = handler;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &event) != 0) DieOnSystemError("epoll_ctl(ADD)");
}

void EventLoop::Modify(int fd, uint32_t events, IoHandler* handler) {
  epoll_event event{};
  event.events = events;
  event.data.ptr = handler;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &event) != 0) DieOnSystemError("epoll_ctl(MOD)");
}

void EventLoop::RunOnce(Nanos deadline) {
  const Nanos wait = deadline - NowNanos();
  int ready;
  if (use_pwait2_) {
    timespec timeout{};
    if (wait > 0) {
      timeout.tv_sec = wait / kNanosPerSecond;
      timeout.tv_nsec = wait % kNanosPerSecond;
    }
    ready = epoll_pwait2(epoll_fd_, events_, kMaxEvents, &timeout, nullptr);
    if (ready < 0 && errno == ENOSYS) {
      use_pwait2_ = false;
      return;
    }
  } else {
    const Nanos millis = wait > 0 ? (wait + kNanosPerMilli - 1) / kNanosPerMilli : 0;
    ready = epoll_wait(epoll_fd_, events_, kMaxEvents, static_cast<int>(millis));
  }
  if (ready < 0) {
    if (errno == EINTR) return;
    DieOnSystemError("epoll_wait");
  }
  for (int i = 0; i < ready; ++i) static_cast<IoHandler*>(events_[i].data.ptr)->OnIo(events_[i].events);
}

}  // namespace clickstream::loadgen
