#include "adapters/grpc/dead_letter_conversion.h"

namespace clickstream::grpc_adapter {

void ToProto(const domain::DeadLetterFilter& filter, ::analytics::DeadLetterQuery& out) {
  for (const int64_t id : filter.ids) out.add_ids(id);
  out.set_reason(filter.reason_code);
  out.set_since_us(filter.since_us);
  out.set_until_us(filter.until_us);
  out.set_after_id(filter.after_id);
  out.set_limit(static_cast<int32_t>(filter.limit));
}

domain::DeadLetterFilter FromProto(const ::analytics::DeadLetterQuery& query) {
  domain::DeadLetterFilter filter;
  filter.ids.assign(query.ids().begin(), query.ids().end());
  filter.reason_code = query.reason();
  filter.since_us = query.since_us();
  filter.until_us = query.until_us();
  filter.after_id = query.after_id();
  filter.limit = query.limit() > 0 ? static_cast<std::size_t>(query.limit()) : 0;
  return filter;
}

void ToProto(const domain::DeadLetter& letter, ::analytics::DeadLetter& out) {
  out.set_id(letter.id);
  out.set_source_topic(letter.source_topic);
  out.set_source_partition(letter.source_partition);
  out.set_source_offset(letter.source_offset);
  out.set_reason_code(letter.reason_code);
  out.set_reason(letter.reason);
  out.set_key(letter.key);
  out.set_value(letter.value);
  out.set_record_time_ms(letter.record_time_ms);
  out.set_dead_lettered_at_us(letter.dead_lettered_us);
  out.set_replays(letter.replays);
  out.set_last_replayed_at_us(letter.last_replayed_us);
  out.set_replay_position(letter.replay_position);
}

domain::DeadLetter FromProto(const ::analytics::DeadLetter& letter) {
  domain::DeadLetter out;
  out.id = letter.id();
  out.source_topic = letter.source_topic();
  out.source_partition = letter.source_partition();
  out.source_offset = letter.source_offset();
  out.reason_code = letter.reason_code();
  out.reason = letter.reason();
  out.key = letter.key();
  out.value = letter.value();
  out.record_time_ms = letter.record_time_ms();
  out.dead_lettered_us = letter.dead_lettered_at_us();
  out.replays = letter.replays();
  out.last_replayed_us = letter.last_replayed_at_us();
  out.replay_position = letter.replay_position();
  return out;
}

void ToProto(const domain::ReplayOutcome& outcome, ::analytics::ReplayOutcome& out) {
  out.set_id(outcome.id);
  out.set_outcome(domain::OutcomeName(outcome.kind));
  out.set_position(outcome.position);
  out.set_message(outcome.message);
}

domain::ReplayOutcome FromProto(const ::analytics::ReplayOutcome& outcome) {
  using Kind = domain::ReplayOutcome::Kind;
  const Kind kind = outcome.outcome() == "replayed"  ? Kind::kReplayed
                    : outcome.outcome() == "invalid" ? Kind::kInvalid
                                                     : Kind::kFailed;
  return {outcome.id(), kind, outcome.position(), outcome.message()};
}

}  // namespace clickstream::grpc_adapter
