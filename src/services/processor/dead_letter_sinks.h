// The processor's dead letters go to the ledger (PostgreSQL, to list and replay) and to the dead-letter topic:
// each letter to every sink in turn, the first failure failing it. The processor then sends it again, to all of
// them; the ledger keeps one row per source record, the topic keys each copy by its source record.
#pragma once

#include <memory>
#include <vector>

#include "ports/record_source.h"

namespace clickstream::processor {

class DeadLetterSinks final : public ports::DeadLetters {
 public:
  explicit DeadLetterSinks(std::vector<std::unique_ptr<ports::DeadLetters>> sinks) : sinks_(std::move(sinks)) {}

  absl::Status Send(const domain::PoisonRecord& letter, std::chrono::milliseconds timeout) override {
    for (const auto& sink : sinks_) {
      if (auto status = sink->Send(letter, timeout); !status.ok()) return status;
    }
    return absl::OkStatus();
  }

 private:
  const std::vector<std::unique_ptr<ports::DeadLetters>> sinks_;
};

}  // namespace clickstream::processor
