// The click event's JSON reading on simdjson's DOM, for parsers of bodies that hold many events
// (services/ingestion/batch_body.cc): the body's format is theirs, what an event is stays here. Includes simdjson,
// so include it from .cc files only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include <simdjson.h>

#include "absl/status/statusor.h"
#include "domain/click_event.h"

namespace clickstream::domain {

// A parser keeps its buffers for the next parse: one of the thread's own for small documents, else one made in
// `own`, so one big body does not pin that memory on every I/O thread for good.
simdjson::dom::parser& ParserFor(std::size_t bytes, std::optional<simdjson::dom::parser>& own);

// The whole document validated (structure, UTF-8, depth, nothing after the value) and parsed, or INVALID_ARGUMENT
// saying why in words a client can act on. The element lives as long as `parser` and until its next parse.
absl::StatusOr<simdjson::dom::element> ParseJsonDocument(std::string_view json, simdjson::dom::parser& parser);

// One event of many, from its parsed value, checked as ParseClickEvent checks one. A refused one keeps its
// event_id when that field is not what is wrong, so the client can tell which of its events it was.
BatchEvent ParseEventValue(simdjson::dom::element element, const EventLimits& limits, int64_t now_us);

}  // namespace clickstream::domain
