#include "launch/running_service.h"

namespace clickstream::launch {
namespace {

// At shutdown, how long answers already given may take to reach their sockets before connections close.
constexpr std::chrono::milliseconds kAnswerFlush{1000};

}  // namespace

void RunningService::Stop(std::chrono::milliseconds grace) {
  if (!server) return;
  server->StopAccepting();
  if (drain) drain(grace);
  // Whatever the service still holds fails as it goes (a producer's pending events answer 503, for instance):
  // those answers still go out through the live server.
  probe.reset();
  parts.reset();
  server->WaitIdle(kAnswerFlush);
  server->Stop();
  server.reset();
}

}  // namespace clickstream::launch
