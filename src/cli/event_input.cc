#include "cli/event_input.h"

#include <simdjson.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <random>

#include "absl/strings/ascii.h"
#include "absl/strings/str_format.h"

namespace clickstream::cli {
namespace {

bool IsBlank(const std::string& line) {
  return std::all_of(line.begin(), line.end(), [](char c) { return absl::ascii_isspace(c); });
}

// One event a line, read as asked.
class NdjsonInput : public EventInput {
 public:
  NdjsonInput(std::istream& in, uint64_t total_bytes, std::unique_ptr<std::istream> owned)
      : in_(in), total_bytes_(total_bytes), owned_(std::move(owned)) {}

  absl::StatusOr<std::vector<std::string>> Next(std::size_t max) override {
    std::vector<std::string> events;
    std::string line;
    while (events.size() < max && std::getline(in_, line)) {
      read_bytes_ += line.size() + 1;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (!IsBlank(line)) events.push_back(WithEventId(line, RandomEventId()));
    }
    if (in_.bad()) return absl::DataLossError(std::string("reading the events failed: ") + std::strerror(errno));
    return events;
  }

  double Fraction() const override {
    if (total_bytes_ == 0) return -1;
    return std::min(1.0, static_cast<double>(read_bytes_) / static_cast<double>(total_bytes_));
  }

 private:
  std::istream& in_;
  const uint64_t total_bytes_;
  uint64_t read_bytes_ = 0;
  std::unique_ptr<std::istream> owned_;
};

// A whole JSON array, its elements handed out in order.
class ArrayInput : public EventInput {
 public:
  explicit ArrayInput(std::vector<std::string> events) : events_(std::move(events)) {}

  absl::StatusOr<std::vector<std::string>> Next(std::size_t max) override {
    const std::size_t end = std::min(events_.size(), next_ + max);
    std::vector<std::string> batch(std::make_move_iterator(events_.begin() + static_cast<std::ptrdiff_t>(next_)),
                                   std::make_move_iterator(events_.begin() + static_cast<std::ptrdiff_t>(end)));
    next_ = end;
    return batch;
  }

  double Fraction() const override {
    return events_.empty() ? 1.0 : static_cast<double>(next_) / static_cast<double>(events_.size());
  }

 private:
  std::vector<std::string> events_;
  std::size_t next_ = 0;
};

absl::StatusOr<std::unique_ptr<EventInput>> ReadArray(std::istream& in) {
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  simdjson::dom::parser parser;
  simdjson::dom::array array;
  if (auto error = parser.parse(text).get_array().get(array); error != simdjson::SUCCESS) {
    return absl::InvalidArgumentError(std::string("the input starts with '[' but is not a JSON array: ") +
                                      simdjson::error_message(error));
  }
  std::vector<std::string> events;
  for (simdjson::dom::element element : array) {
    events.push_back(WithEventId(simdjson::minify(element), RandomEventId()));
  }
  return std::make_unique<ArrayInput>(std::move(events));
}

absl::StatusOr<std::unique_ptr<EventInput>> ReadEither(std::istream& in, uint64_t total_bytes,
                                                       std::unique_ptr<std::istream> owned) {
  in >> std::ws;
  if (in.peek() == '[') return ReadArray(in);
  in.clear();
  return std::make_unique<NdjsonInput>(in, total_bytes, std::move(owned));
}

}  // namespace

absl::StatusOr<std::unique_ptr<EventInput>> EventInput::Open(const std::string& path) {
  if (path == "-") return ReadEither(std::cin, 0, nullptr);
  auto file = std::make_unique<std::ifstream>(path, std::ios::binary | std::ios::ate);
  if (!*file) return absl::NotFoundError("cannot read " + path + ": " + std::strerror(errno));
  const auto size = static_cast<uint64_t>(std::max<std::streamoff>(0, file->tellg()));
  file->seekg(0);
  std::istream& in = *file;
  return ReadEither(in, size, std::move(file));
}

absl::StatusOr<std::unique_ptr<EventInput>> EventInput::Read(std::istream& in, uint64_t total_bytes) {
  return ReadEither(in, total_bytes, nullptr);
}

std::string WithEventId(const std::string& event, const std::string& id) {
  thread_local simdjson::dom::parser parser;
  simdjson::dom::object object;
  if (parser.parse(event).get_object().get(object) != simdjson::SUCCESS) return event;
  if (object["event_id"].error() != simdjson::NO_SUCH_FIELD) return event;
  const auto brace = event.find('{');
  return event.substr(0, brace + 1) + "\"event_id\":\"" + id + "\"" + (object.size() == 0 ? "" : ",") +
         event.substr(brace + 1);
}

std::string RandomEventId() {
  thread_local std::mt19937_64 generator{std::random_device{}()};
  return absl::StrFormat("cli-%016x%016x", generator(), generator());
}

}  // namespace clickstream::cli
