#include "domain/freshness.h"

namespace clickstream::domain {

std::string_view SourceName(CountSource source) { return source == CountSource::kCache ? "cache" : "database"; }

}  // namespace clickstream::domain
