#include "domain/position.h"

#include <algorithm>

#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "domain/field_error.h"

namespace clickstream::domain {
namespace {

bool ByPartition(const PartitionOffset& entry, int32_t partition) { return entry.partition < partition; }

}  // namespace

void Include(Position& position, const PartitionOffset& offset) {
  auto at = std::lower_bound(position.begin(), position.end(), offset.partition, ByPartition);
  if (at != position.end() && at->partition == offset.partition) {
    at->next_offset = std::max(at->next_offset, offset.next_offset);
  } else {
    position.insert(at, offset);
  }
}

bool Reaches(const Position& applied, const Position& wanted) {
  return std::all_of(wanted.begin(), wanted.end(), [&applied](const PartitionOffset& want) {
    auto at = std::lower_bound(applied.begin(), applied.end(), want.partition, ByPartition);
    return at != applied.end() && at->partition == want.partition && at->next_offset >= want.next_offset;
  });
}

int64_t RecordsBetween(const Position& from, const Position& to) {
  int64_t records = 0;
  for (const auto& end : to) {
    auto at = std::lower_bound(from.begin(), from.end(), end.partition, ByPartition);
    const int64_t start = at != from.end() && at->partition == end.partition ? at->next_offset : 0;
    records += std::max<int64_t>(0, end.next_offset - start);
  }
  return records;
}

std::string PositionToken(const Position& position) {
  std::string token;
  for (const auto& entry : position) {
    if (!token.empty()) token += '.';
    token += std::to_string(entry.partition);
    token += '-';
    token += std::to_string(entry.next_offset);
  }
  return token;
}

absl::StatusOr<Position> ParsePositionToken(std::string_view token, std::string_view field) {
  auto invalid = [field](std::string_view why) {
    return InvalidField(field, std::string(field) + " is not a position token from ingestion: " + std::string(why));
  };
  if (token.empty()) return invalid("it is empty");
  Position position;
  for (const absl::string_view part : absl::StrSplit(absl::string_view(token.data(), token.size()), '.')) {
    if (position.size() == kMaxPositionPartitions) {
      return invalid("it names more than " + std::to_string(kMaxPositionPartitions) + " partitions");
    }
    const std::vector<absl::string_view> fields = absl::StrSplit(part, absl::MaxSplits('-', 1));
    PartitionOffset entry;
    // SimpleAtoi accepts signs and spaces; a token never holds them.
    const bool digits =
        fields.size() == 2 && !fields[0].empty() && !fields[1].empty() &&
        std::all_of(part.begin(), part.end(), [](char c) { return c == '-' || (c >= '0' && c <= '9'); });
    if (!digits || !absl::SimpleAtoi(fields[0], &entry.partition) || !absl::SimpleAtoi(fields[1], &entry.next_offset) ||
        entry.next_offset < 1) {
      return invalid("expected partition-offset pairs joined by '.'");
    }
    if (!position.empty() && position.back().partition >= entry.partition) {
      return invalid("its partitions must be distinct and ascending");
    }
    position.push_back(entry);
  }
  return position;
}

absl::Status WithAppliedPosition(absl::Status status, const Position& applied) {
  status.SetPayload(std::string(kAppliedPositionPayload), absl::Cord(PositionToken(applied)));
  return status;
}

std::string AppliedPositionOf(const absl::Status& status) {
  auto payload = status.GetPayload(std::string(kAppliedPositionPayload));
  return payload ? std::string(*payload) : std::string();
}

}  // namespace clickstream::domain
