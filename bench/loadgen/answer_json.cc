// Minimal JSON walking for count and batch answers (see answer_json.h). Strings are compared raw (without
// unescaping): the keys and status words we look for are plain ASCII, and escaped text never equals them.
#include "answer_json.h"

#include <charconv>

namespace clickstream::loadgen {
namespace {

constexpr int kMaxDepth = 64;

class JsonCursor {
 public:
  explicit JsonCursor(std::string_view text) : text_(text) {}

  bool Consume(char c) {
    SkipSpace();
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }

  // The raw characters between the quotes.
  bool ReadString(std::string_view& raw) {
    SkipSpace();
    if (pos_ >= text_.size() || text_[pos_] != '"') return false;
    const std::size_t start = ++pos_;
    while (pos_ < text_.size() && text_[pos_] != '"') pos_ += text_[pos_] == '\\' ? 2 : 1;
    if (pos_ >= text_.size()) return false;
    raw = text_.substr(start, pos_ - start);
    ++pos_;
    return true;
  }

  // An integer value; fails (without consuming) on anything else, including fractions.
  bool ReadInteger(int64_t& value) {
    SkipSpace();
    const char* begin = text_.data() + pos_;
    const char* end = text_.data() + text_.size();
    const auto [ptr, ec] = std::from_chars(begin, end, value);
    if (ec != std::errc() || (ptr < end && (*ptr == '.' || *ptr == 'e' || *ptr == 'E'))) return false;
    pos_ += static_cast<std::size_t>(ptr - begin);
    return true;
  }

  bool SkipValue(int depth = 0) {
    if (depth > kMaxDepth) return false;
    SkipSpace();
    if (pos_ >= text_.size()) return false;
    const char c = text_[pos_];
    if (c == '"') {
      std::string_view ignored;
      return ReadString(ignored);
    }
    if (c == '{' || c == '[') {
      const char close = c == '{' ? '}' : ']';
      ++pos_;
      if (Consume(close)) return true;
      do {
        if (c == '{') {
          std::string_view key;
          if (!ReadString(key) || !Consume(':')) return false;
        }
        if (!SkipValue(depth + 1)) return false;
      } while (Consume(','));
      return Consume(close);
    }
    // Number, true, false, null: everything up to the next delimiter.
    const std::size_t start = pos_;
    while (pos_ < text_.size() && text_[pos_] != ',' && text_[pos_] != '}' && text_[pos_] != ']' &&
           text_[pos_] != ' ' && text_[pos_] != '\n' && text_[pos_] != '\r' && text_[pos_] != '\t') {
      ++pos_;
    }
    return pos_ > start;
  }

 private:
  void SkipSpace() {
    while (pos_ < text_.size() &&
           (text_[pos_] == ' ' || text_[pos_] == '\n' || text_[pos_] == '\r' || text_[pos_] == '\t')) {
      ++pos_;
    }
  }

  std::string_view text_;
  std::size_t pos_ = 0;
};

// Calls on_member(key, cursor) for each member of the object at the cursor; on_member must consume the value and
// return false to stop with a failure.
template <typename OnMember>
bool ForEachMember(JsonCursor& cursor, OnMember on_member) {
  if (!cursor.Consume('{')) return false;
  if (cursor.Consume('}')) return true;
  do {
    std::string_view key;
    if (!cursor.ReadString(key) || !cursor.Consume(':')) return false;
    if (!on_member(key, cursor)) return false;
  } while (cursor.Consume(','));
  return cursor.Consume('}');
}

bool ReadResult(JsonCursor& cursor, BatchAnswer& answer) {
  bool accepted = false;
  const bool ok = ForEachMember(cursor, [&](std::string_view key, JsonCursor& c) {
    if (key != "status") return c.SkipValue(1);
    std::string_view status;
    if (!c.ReadString(status)) return c.SkipValue(1);
    accepted = status == "accepted";
    return true;
  });
  answer.accepted_flags.push_back(accepted ? 1 : 0);
  return ok;
}

bool ReadResults(JsonCursor& cursor, BatchAnswer& answer) {
  if (!cursor.Consume('[')) return cursor.SkipValue(1);
  answer.has_results = true;
  if (cursor.Consume(']')) return true;
  do {
    if (!ReadResult(cursor, answer)) return false;
  } while (cursor.Consume(','));
  return cursor.Consume(']');
}

}  // namespace

std::optional<int64_t> ReadCount(std::string_view body) {
  JsonCursor cursor(body);
  std::optional<int64_t> count;
  const bool ok = ForEachMember(cursor, [&](std::string_view key, JsonCursor& c) {
    int64_t value = 0;
    if (key == "count" && c.ReadInteger(value)) {
      count = value;
      return true;
    }
    return c.SkipValue(1);
  });
  return ok ? count : std::nullopt;
}

bool ReadBatchAnswer(std::string_view body, BatchAnswer& answer) {
  answer.accepted = -1;
  answer.has_results = false;
  answer.accepted_flags.clear();
  JsonCursor cursor(body);
  return ForEachMember(cursor, [&](std::string_view key, JsonCursor& c) {
    int64_t value = 0;
    if (key == "accepted" && c.ReadInteger(value)) {
      answer.accepted = value;
      return true;
    }
    if (key == "results") return ReadResults(c, answer);
    return c.SkipValue(1);
  });
}

}  // namespace clickstream::loadgen
