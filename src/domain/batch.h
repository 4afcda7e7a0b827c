// Turning a batch of Kafka records into what the event store applies: valid events without in-batch duplicates,
// poison records with the reason, and the next offset per partition. Pure: no I/O.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "domain/click_event.h"
#include "domain/field_error.h"

namespace clickstream::domain {

struct Record {
  int32_t partition = 0;
  int64_t offset = 0;
  std::string key;
  std::string value;
  int64_t timestamp_ms = 0;      // the record's Kafka timestamp (producer create time), 0 when unknown
  std::string traceparent = {};  // its W3C trace context header, empty when it carries none
};

struct PartitionOffset {
  int32_t partition = 0;
  int64_t next_offset = 0;  // the first offset not yet applied
  friend bool operator==(const PartitionOffset&, const PartitionOffset&) = default;
};

struct PoisonRecord {
  Record record;
  std::string reason;
  std::string reason_code = std::string(kReasonInvalid);  // as field_error.h codes it, for metrics
};

struct PageCount {
  std::string user_id;
  std::string page_url;
  int64_t count = 0;
  friend bool operator==(const PageCount&, const PageCount&) = default;
};

struct Batch {
  std::vector<ClickEvent> events;             // first occurrence of each event_id, in record order
  std::vector<std::size_t> sources;           // for each event, the index of its record in PrepareBatch's input
  std::vector<PoisonRecord> poison;           // records that are not valid events: they go to the dead-letter topic
  std::vector<PartitionOffset> next_offsets;  // one per partition seen, sorted by partition
  // Of `events`, those whose time_stamp is more than limits.late_after older than their record's broker time:
  // counted like the others, and counted apart so late senders show (a client replaying a buffer, a wrong clock).
  std::size_t late = 0;
};

// Records that fail validation become poison with the validation message as the reason. time_stamp is
// re-validated with the same limits against the record's own Kafka timestamp, which ingestion sets to the instant
// it validated against: an event ingestion accepted stays valid however late it is applied (a backlog after a
// database outage) and whatever this machine's clock says. Only a record without a timestamp is judged against
// `now_us`. A refused time_stamp's poison carries its reason code (too old, too far ahead).
Batch PrepareBatch(const std::vector<Record>& records, const EventLimits& limits, int64_t now_us);

}  // namespace clickstream::domain
