#include "adapters/redis/redis_count_cache.h"

#include <sys/time.h>

#include <array>
#include <utility>

#include <hiredis/hiredis.h>

#include "common/log.h"
#include "domain/cache_key.h"

namespace clickstream::redis {
namespace {

// KEYS: count keys; ARGV[1]: TTL in seconds; ARGV[i + 1]: the count for KEYS[i].
// Counts only grow, so keeping the larger of a key's count and the new one can never replace a newer count with an
// older one, whichever writer comes last. The new count is set, returning the one it replaced, which is put back in
// the rare case it was larger (a late writer): one command per key instead of a GET and a SET, and the script is
// atomic, so no reader sees the smaller count in between. The TTL is passed on as the string it came as: a Lua
// number would be formatted back into text for every key.
constexpr const char* kRaiseScript = R"lua(
local ttl = ARGV[1]
for i, key in ipairs(KEYS) do
  local replaced = redis.call('SET', key, ARGV[i + 1], 'EX', ttl, 'GET')
  local kept = replaced and tonumber(replaced)  -- nil too when the key held something not a number
  if kept and kept > tonumber(ARGV[i + 1]) then
    redis.call('SET', key, replaced, 'EX', ttl)
  end
end
return 0
)lua";

// KEYS[1]: the applied hash (kAppliedKey); ARGV[1]: the newest event time in microseconds; then partition and next
// offset pairs. Each number is only ever raised, so processors that share the hash (each with its own partitions)
// and late writers cannot move it back. written_ms is Redis' clock, which readers compare with its TIME.
constexpr const char* kAppliedScript = R"lua(
local function raise(field, value)
  local current = tonumber(redis.call('HGET', KEYS[1], field))
  if current == nil or current < tonumber(value) then redis.call('HSET', KEYS[1], field, value) end
end
raise('newest_us', ARGV[1])
for i = 2, #ARGV, 2 do raise('p' .. ARGV[i], ARGV[i + 1]) end
local now = redis.call('TIME')
redis.call('HSET', KEYS[1], 'written_ms', tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000))
return 0
)lua";

constexpr std::size_t kRaiseChunk = 500;  // keys per script call: bounds the time Redis spends in one script
// How long the invalidation marker outlives an InvalidateAll that never finished; the processor retries sooner.
constexpr int kInvalidatingSeconds = 300;

using Reply = std::unique_ptr<redisReply, decltype(&freeReplyObject)>;

// hiredis' argv form of `args`: pointers and lengths, valid while `args` lives.
struct Argv {
  explicit Argv(const std::vector<std::string>& args) {
    pointers.reserve(args.size());
    lengths.reserve(args.size());
    for (const auto& arg : args) {
      pointers.push_back(arg.data());
      lengths.push_back(arg.size());
    }
  }
  int count() const { return static_cast<int>(pointers.size()); }
  std::vector<const char*> pointers;
  std::vector<size_t> lengths;
};

Reply Command(redisContext* context, const std::vector<std::string>& args) {
  Argv argv(args);  // hiredis takes the pointers as non-const
  auto* raw =
      static_cast<redisReply*>(redisCommandArgv(context, argv.count(), argv.pointers.data(), argv.lengths.data()));
  return Reply(raw, freeReplyObject);
}

timeval ToTimeval(std::chrono::milliseconds ms) {
  return timeval{static_cast<time_t>(ms.count() / 1000), static_cast<suseconds_t>((ms.count() % 1000) * 1000)};
}

// Runs a script loaded as `sha` with `args` (numkeys first), or by its source when the server forgot it (a restart),
// which also caches it again.
Reply RunScript(redisContext* context, const std::string& sha, const char* source, std::vector<std::string> args) {
  args.insert(args.begin(), {"EVALSHA", sha});
  Reply reply = Command(context, args);
  if (reply && reply->type == REDIS_REPLY_ERROR && std::string_view(reply->str, reply->len).starts_with("NOSCRIPT")) {
    args[0] = "EVAL";
    args[1] = source;
    reply = Command(context, args);
  }
  return reply;
}

int64_t SteadyNowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

struct RedisCountCache::Connection {
  explicit Connection(redisContext* c) : context(c) {}
  ~Connection() { redisFree(context); }
  redisContext* context;
  std::string raise_sha;    // SHA1 of kRaiseScript as loaded on this server
  std::string applied_sha;  // of kAppliedScript
};

RedisCountCache::RedisCountCache(RedisOptions options)
    : options_(std::move(options)), metrics_(metrics::GivenOrOwn(options_.metrics, own_metrics_)) {
  const auto colon = options_.address.rfind(':');
  host_ = options_.address.substr(0, colon);
  port_ = colon == std::string::npos ? 6379 : std::atoi(options_.address.c_str() + colon + 1);
}

RedisCountCache::~RedisCountCache() = default;

absl::Status RedisCountCache::Failed(std::string_view what, const std::string& detail) {
  next_connect_after_ns_.store(
      SteadyNowNs() + std::chrono::duration_cast<std::chrono::nanoseconds>(options_.reconnect_backoff).count());
  return absl::UnavailableError("redis " + std::string(what) + " at " + options_.address + ": " + detail);
}

absl::StatusOr<std::unique_ptr<RedisCountCache::Connection>> RedisCountCache::Borrow() {
  {
    std::lock_guard lock(mutex_);
    if (!idle_.empty()) {
      auto connection = std::move(idle_.back());
      idle_.pop_back();
      return connection;
    }
  }
  if (SteadyNowNs() < next_connect_after_ns_.load()) {
    return absl::UnavailableError("redis at " + options_.address + " was unreachable moments ago");
  }
  const timeval timeout = ToTimeval(options_.timeout);
  redisContext* context = redisConnectWithTimeout(host_.c_str(), port_, timeout);
  if (context == nullptr) return Failed("connect", "out of memory");
  auto connection = std::make_unique<Connection>(context);
  if (context->err != 0) return Failed("connect", context->errstr);
  redisSetTimeout(context, timeout);
  for (auto [source, sha] :
       {std::pair{kRaiseScript, &connection->raise_sha}, std::pair{kAppliedScript, &connection->applied_sha}}) {
    Reply loaded = Command(context, {"SCRIPT", "LOAD", source});
    if (!loaded || loaded->type != REDIS_REPLY_STRING) {
      return Failed("script load", loaded ? std::string(loaded->str, loaded->len) : context->errstr);
    }
    sha->assign(loaded->str, loaded->len);
  }
  return connection;
}

void RedisCountCache::Return(std::unique_ptr<Connection> connection) {
  std::lock_guard lock(mutex_);
  idle_.push_back(std::move(connection));
}

namespace {

// A cached count as GET or an element of MGET answers it: a number, or nil on a miss.
absl::StatusOr<std::optional<int64_t>> CountOf(const redisReply& reply, const char* command) {
  if (reply.type == REDIS_REPLY_NIL) return std::nullopt;
  if (reply.type != REDIS_REPLY_STRING) {
    return absl::InternalError(std::string("redis ") + command + " answered an unexpected reply");
  }
  return std::strtoll(std::string(reply.str, reply.len).c_str(), nullptr, 10);
}

// The freshness the applied hash and Redis' TIME give, read before the counts.
domain::Freshness FreshnessOf(const redisReply& time, const redisReply& applied) {
  domain::Freshness freshness;
  freshness.source = domain::CountSource::kCache;
  int64_t written_ms = -1;
  for (std::size_t i = 0; i + 1 < applied.elements; i += 2) {
    const std::string_view field(applied.element[i]->str, applied.element[i]->len);
    const int64_t value =
        std::strtoll(std::string(applied.element[i + 1]->str, applied.element[i + 1]->len).c_str(), nullptr, 10);
    if (field == "newest_us") {
      freshness.newest_event_time_us = value;
    } else if (field == "written_ms") {
      written_ms = value;
    } else if (field.starts_with("p")) {
      domain::Include(freshness.position, {static_cast<int32_t>(std::strtol(field.data() + 1, nullptr, 10)), value});
    }
  }
  if (written_ms >= 0 && time.type == REDIS_REPLY_ARRAY && time.elements == 2) {
    const int64_t seconds = std::strtoll(time.element[0]->str, nullptr, 10);
    const int64_t micros = std::strtoll(time.element[1]->str, nullptr, 10);
    freshness.age_ms = std::max<int64_t>(0, seconds * 1000 + micros / 1000 - written_ms);
  }
  return freshness;
}

}  // namespace

absl::StatusOr<std::optional<int64_t>> RedisCountCache::GetUntimed(std::string_view user_id,
                                                                   std::string_view page_url) {
  auto cached = GetManyUntimed({{std::string(user_id), std::string(page_url)}});
  if (!cached.ok()) return cached.status();
  return cached->counts.front();
}

absl::StatusOr<ports::CachedCounts> RedisCountCache::GetManyUntimed(const std::vector<domain::CountQuery>& pairs) {
  ports::CachedCounts cached;
  cached.freshness.source = domain::CountSource::kCache;
  if (pairs.empty()) return cached;
  auto connection = Borrow();
  if (!connection.ok()) return connection.status();
  redisContext* context = (*connection)->context;
  // One round trip, executed in this order: Redis' clock, how far the processor said the cache reaches, then the
  // invalidation marker and the counts. Read after that word, every count includes at least what it says.
  std::vector<std::string> args;
  args.reserve(pairs.size() + 2);
  args.emplace_back("MGET");
  args.emplace_back(kInvalidatingKey);
  for (const auto& pair : pairs) args.push_back(domain::CountCacheKey(pair.user_id, pair.page_url));
  Argv argv(args);  // hiredis takes the pointers as non-const
  const std::string applied_key(kAppliedKey);
  redisAppendCommand(context, "TIME");
  redisAppendCommand(context, "HGETALL %b", applied_key.data(), applied_key.size());
  redisAppendCommandArgv(context, argv.count(), argv.pointers.data(), argv.lengths.data());
  std::array<Reply, 3> replies = {Reply(nullptr, freeReplyObject), Reply(nullptr, freeReplyObject),
                                  Reply(nullptr, freeReplyObject)};
  for (auto& reply : replies) {
    void* raw = nullptr;
    if (redisGetReply(context, &raw) != REDIS_OK) return Failed("MGET", context->errstr);
    reply.reset(static_cast<redisReply*>(raw));
  }
  const redisReply& counts = *replies[2];
  if (counts.type != REDIS_REPLY_ARRAY || counts.elements != pairs.size() + 1 ||
      replies[1]->type != REDIS_REPLY_ARRAY) {
    return absl::InternalError("redis MGET answered an unexpected reply");
  }
  Return(std::move(*connection));
  cached.freshness = FreshnessOf(*replies[0], *replies[1]);
  // An invalidation in progress: any key may still hold a count older than the database's.
  if (counts.element[0]->type != REDIS_REPLY_NIL) {
    cached.counts.resize(pairs.size());
    return cached;
  }
  cached.counts.reserve(pairs.size());
  for (std::size_t i = 1; i < counts.elements; ++i) {
    auto count = CountOf(*counts.element[i], "MGET");
    if (!count.ok()) return count.status();
    cached.counts.push_back(*count);
  }
  return cached;
}

absl::Status RedisCountCache::RecordAppliedUntimed(const domain::Position& applied, int64_t newest_event_time_us) {
  auto connection = Borrow();
  if (!connection.ok()) return connection.status();
  std::vector<std::string> args = {"1", std::string(kAppliedKey), std::to_string(newest_event_time_us)};
  for (const auto& offset : applied) {
    args.push_back(std::to_string(offset.partition));
    args.push_back(std::to_string(offset.next_offset));
  }
  Reply reply = RunScript((*connection)->context, (*connection)->applied_sha, kAppliedScript, std::move(args));
  if (!reply) return Failed("EVALSHA", (*connection)->context->errstr);
  if (reply->type == REDIS_REPLY_ERROR) {
    return absl::InternalError("redis applied script: " + std::string(reply->str, reply->len));
  }
  Return(std::move(*connection));
  return absl::OkStatus();
}

absl::Status RedisCountCache::RaiseChunk(Connection& connection, const std::vector<domain::PageCount>& counts,
                                         std::size_t begin, std::size_t end) {
  std::vector<std::string> args = {std::to_string(end - begin)};
  args.reserve(1 + 2 * (end - begin) + 1);
  for (std::size_t i = begin; i < end; ++i)
    args.push_back(domain::CountCacheKey(counts[i].user_id, counts[i].page_url));
  args.push_back(std::to_string(options_.ttl.count()));
  for (std::size_t i = begin; i < end; ++i) args.push_back(std::to_string(counts[i].count));
  Reply reply = RunScript(connection.context, connection.raise_sha, kRaiseScript, std::move(args));
  if (!reply) return Failed("EVALSHA", connection.context->errstr);
  if (reply->type == REDIS_REPLY_ERROR) {
    return absl::InternalError("redis raise script: " + std::string(reply->str, reply->len));
  }
  return absl::OkStatus();
}

absl::Status RedisCountCache::RaiseToUntimed(const std::vector<domain::PageCount>& counts) {
  if (counts.empty()) return absl::OkStatus();
  auto connection = Borrow();
  if (!connection.ok()) return connection.status();
  for (std::size_t begin = 0; begin < counts.size(); begin += kRaiseChunk) {
    const std::size_t end = std::min(counts.size(), begin + kRaiseChunk);
    if (auto status = RaiseChunk(**connection, counts, begin, end); !status.ok()) return status;
  }
  Return(std::move(*connection));
  return absl::OkStatus();
}

absl::Status RedisCountCache::InvalidateAllUntimed() {
  auto connection = Borrow();
  if (!connection.ok()) return connection.status();
  // Readers answer from the database from now until the marker goes: SCAN and DEL leave stale keys readable
  // meanwhile.
  Reply marked = Command((*connection)->context,
                         {"SET", std::string(kInvalidatingKey), "1", "EX", std::to_string(kInvalidatingSeconds)});
  if (!marked) return Failed("SET", (*connection)->context->errstr);
  std::string cursor = "0";
  const std::string pattern = std::string(domain::kCountKeyPrefix) + "*";
  do {
    Reply reply = Command((*connection)->context, {"SCAN", cursor, "MATCH", pattern, "COUNT", "1000"});
    if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements != 2) {
      return Failed("SCAN", (*connection)->context->errstr);
    }
    cursor.assign(reply->element[0]->str, reply->element[0]->len);
    const redisReply* keys = reply->element[1];
    if (keys->elements > 0) {
      std::vector<std::string> del = {"DEL"};
      for (std::size_t i = 0; i < keys->elements; ++i) del.emplace_back(keys->element[i]->str, keys->element[i]->len);
      if (!Command((*connection)->context, del)) return Failed("DEL", (*connection)->context->errstr);
    }
  } while (cursor != "0");
  if (!Command((*connection)->context, {"DEL", std::string(kInvalidatingKey)})) {
    return Failed("DEL", (*connection)->context->errstr);
  }
  Return(std::move(*connection));
  return absl::OkStatus();
}

absl::Status RedisCountCache::Ping() {
  auto connection = Borrow();
  if (!connection.ok()) return connection.status();
  Reply reply = Command((*connection)->context, {"PING"});
  if (!reply) return Failed("PING", (*connection)->context->errstr);
  Return(std::move(*connection));
  return absl::OkStatus();
}

}  // namespace clickstream::redis

namespace clickstream::redis {

absl::Status RedisCountCache::Timed(const char* operation, std::chrono::steady_clock::time_point start,
                                    absl::Status status) {
  metrics_
      .GetHistogram("clickstream_redis_duration_seconds", "Redis operation latency, by operation",
                    metrics::LatencyBuckets(), {{"operation", operation}})
      .Observe(metrics::SecondsSince(start));
  if (!status.ok()) {
    metrics_
        .GetCounter("clickstream_redis_errors_total", "failed Redis operations, by operation",
                    {{"operation", operation}})
        .Inc();
  }
  return status;
}

absl::StatusOr<std::optional<int64_t>> RedisCountCache::Get(std::string_view user_id, std::string_view page_url) {
  const auto start = std::chrono::steady_clock::now();
  auto value = GetUntimed(user_id, page_url);
  Timed("get", start, value.status()).IgnoreError();  // the status is returned in `value`
  return value;
}

absl::StatusOr<ports::CachedCounts> RedisCountCache::GetMany(const std::vector<domain::CountQuery>& pairs) {
  const auto start = std::chrono::steady_clock::now();
  auto cached = GetManyUntimed(pairs);
  Timed("mget", start, cached.status()).IgnoreError();  // the status is returned in `cached`
  return cached;
}

absl::Status RedisCountCache::RecordApplied(const domain::Position& applied, int64_t newest_event_time_us) {
  const auto start = std::chrono::steady_clock::now();
  return Timed("record_applied", start, RecordAppliedUntimed(applied, newest_event_time_us));
}

absl::Status RedisCountCache::RaiseTo(const std::vector<domain::PageCount>& counts) {
  const auto start = std::chrono::steady_clock::now();
  return Timed("raise", start, RaiseToUntimed(counts));
}

absl::Status RedisCountCache::InvalidateAll() {
  const auto start = std::chrono::steady_clock::now();
  return Timed("invalidate", start, InvalidateAllUntimed());
}

}  // namespace clickstream::redis
