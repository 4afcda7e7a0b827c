#include "adapters/grpc/grpc_count_client.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>

#include <grpcpp/grpcpp.h>

#include "adapters/grpc/aggregate_conversion.h"
#include "adapters/grpc/dead_letter_conversion.h"
#include "adapters/grpc/freshness_conversion.h"
#include "adapters/grpc/status_conversion.h"
#include "adapters/grpc/trace_metadata.h"
#include "analytics.grpc.pb.h"

namespace clickstream::grpc_adapter {
namespace {

// Up to 4 attempts on UNAVAILABLE with 50 ms .. 400 ms backoff: an analytics restart is bridged, a dead one
// answers within about a second, well inside the call's deadline. round_robin spreads calls over every address
// the target resolves to (all analytics pods behind a headless Service), not only the first.
constexpr const char* kServiceConfig = R"json({
  "loadBalancingConfig": [{"round_robin": {}}],
  "methodConfig": [{
    "name": [{"service": "analytics.AnalyticsService"}],
    "retryPolicy": {
      "maxAttempts": 4,
      "initialBackoff": "0.05s",
      "maxBackoff": "0.4s",
      "backoffMultiplier": 2,
      "retryableStatusCodes": ["UNAVAILABLE"]
    }
  }]
})json";

struct BatchCall {
  grpc::ClientContext context;
  ::analytics::EventCountsRequest request;
  ::analytics::EventCountsResponse response;
  ports::CountClient::DoneMany done;
  tracing::Span span;  // not recording unless the call's trace is sampled
};

std::vector<ports::CountClient::Result> ResultsOf(const BatchCall& call, const grpc::Status& status) {
  using Results = std::vector<ports::CountClient::Result>;
  const std::size_t size = static_cast<std::size_t>(call.request.pairs_size());
  if (!status.ok()) return Results(size, FromGrpcStatus(status));
  if (static_cast<std::size_t>(call.response.results_size()) != size) {
    return Results(size, absl::InternalError("analytics answered " + std::to_string(call.response.results_size()) +
                                             " results for " + std::to_string(size) + " pairs"));
  }
  Results results;
  results.reserve(size);
  // Each distinct freshness comes once and is shared by the counts that name it.
  std::vector<std::shared_ptr<const domain::Freshness>> freshness;
  freshness.reserve(static_cast<std::size_t>(call.response.freshness_size()));
  for (const auto& sent : call.response.freshness()) {
    freshness.push_back(std::make_shared<const domain::Freshness>(FromProto(sent)));
  }
  for (const auto& result : call.response.results()) {
    if (result.status_code() == 0) {
      const auto index = static_cast<std::size_t>(result.freshness_index());
      results.emplace_back(domain::Reading{result.count(), index < freshness.size() ? freshness[index] : nullptr});
    } else if (result.applied_position().empty()) {
      results.emplace_back(FromCodeNumber(result.status_code(), result.status_message()));
    } else {
      const auto applied = domain::ParsePositionToken(result.applied_position());
      absl::Status status = FromCodeNumber(result.status_code(), result.status_message());
      results.emplace_back(applied.ok() ? domain::WithAppliedPosition(std::move(status), *applied) : status);
    }
  }
  return results;
}

std::shared_ptr<grpc::ChannelCredentials> Credentials(const GrpcClientTls& tls) {
  if (tls.root_ca_pem.empty()) return grpc::InsecureChannelCredentials();
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = tls.root_ca_pem;
  options.pem_cert_chain = tls.cert_chain_pem;
  options.pem_private_key = tls.private_key_pem;
  return grpc::SslCredentials(options);
}

}  // namespace

// gRPC takes deadlines on the system clock; ours are steady. Convert the time left, and never go past the cap:
// a caller's deadline far away must not let one call hold a channel longer than the configured query deadline.
std::chrono::system_clock::time_point GrpcCountClient::CallDeadline(Deadline deadline) const {
  const auto left =
      std::min<std::chrono::steady_clock::duration>(deadline - std::chrono::steady_clock::now(), max_deadline_);
  return std::chrono::system_clock::now() +
         std::chrono::duration_cast<std::chrono::system_clock::duration>(std::max(left, left.zero()));
}

struct GrpcCountClient::Stub {
  std::unique_ptr<::analytics::AnalyticsService::Stub> stub;
};

struct GrpcCountClient::InFlight {
  std::mutex mutex;
  std::condition_variable idle;
  std::size_t calls = 0;

  void Begin() {
    std::lock_guard lock(mutex);
    ++calls;
  }
  // After the call's `done` returned: nothing of the call's touches the client any more.
  void End() {
    std::lock_guard lock(mutex);
    if (--calls == 0) idle.notify_all();
  }
};

GrpcCountClient::GrpcCountClient(const std::string& target, std::chrono::milliseconds max_deadline,
                                 const GrpcClientTls& tls, const tracing::Tracer* tracer)
    : max_deadline_(max_deadline), tracer_(tracer), in_flight_(std::make_shared<InFlight>()) {
  grpc::ChannelArguments args;
  args.SetServiceConfigJSON(kServiceConfig);
  args.SetInt(GRPC_ARG_ENABLE_RETRIES, 1);
  // Reconnect quickly once analytics is back rather than after gRPC's default of up to two minutes.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  channel_ = grpc::CreateCustomChannel(target, Credentials(tls), args);
  stub_ = std::make_unique<Stub>(Stub{::analytics::AnalyticsService::NewStub(channel_)});
}

GrpcCountClient::~GrpcCountClient() {
  std::unique_lock lock(in_flight_->mutex);
  in_flight_->idle.wait(lock, [this] { return in_flight_->calls == 0; });
}

void GrpcCountClient::GetCounts(std::vector<domain::CountQuery> pairs, const domain::Position& after, Deadline deadline,
                                const tracing::TraceContext& trace, DoneMany done) {
  auto call = std::make_shared<BatchCall>();
  call->context.set_deadline(CallDeadline(deadline));
  auto outgoing = tracing::StartOutgoing(tracer_, kGetEventCountsMethod, tracing::SpanKind::kClient, trace);
  if (!outgoing.traceparent.empty()) call->context.AddMetadata(kTraceparentMetadata, outgoing.traceparent);
  call->span = std::move(outgoing.span);
  if (call->span.recording()) call->span.Tag("rpc.batch.pairs", std::to_string(pairs.size()));
  call->request.mutable_pairs()->Reserve(static_cast<int>(pairs.size()));
  for (auto& pair : pairs) {
    auto* request = call->request.add_pairs();
    request->set_user_id(std::move(pair.user_id));
    request->set_page_url(std::move(pair.page_url));
  }
  // The service waits for the union of its pairs' positions: naming it once is enough.
  if (!after.empty() && !pairs.empty()) call->request.mutable_pairs(0)->set_position(domain::PositionToken(after));
  call->done = std::move(done);
  in_flight_->Begin();
  stub_->stub->async()->GetEventCounts(&call->context, &call->request, &call->response,
                                       [call, in_flight = in_flight_](const grpc::Status& status) mutable {
                                         if (!status.ok()) call->span.SetError(status.error_message());
                                         call->span.End();
                                         call->done(ResultsOf(*call, status));
                                         call.reset();  // its context goes before the client may
                                         in_flight->End();
                                       });
}

template <typename Request, typename Response, typename Answer, typename Start>
void GrpcCountClient::Call(Start start, Request request, Deadline deadline,
                           std::function<Answer(const Response&)> answer,
                           std::function<void(absl::StatusOr<Answer>)> done) {
  struct Pending {
    grpc::ClientContext context;
    Request request;
    Response response;
  };
  auto call = std::make_shared<Pending>();
  call->context.set_deadline(CallDeadline(deadline));
  call->request = std::move(request);
  in_flight_->Begin();
  start(stub_->stub->async(), &call->context, &call->request, &call->response,
        [call, answer = std::move(answer), done = std::move(done),
         in_flight = in_flight_](const grpc::Status& status) mutable {
          if (status.ok()) {
            done(answer(call->response));
          } else {
            done(FromGrpcStatus(status));
          }
          call.reset();  // its context goes before the client may
          in_flight->End();
        });
}

void GrpcCountClient::Reconcile(domain::CountQuery pair, Deadline deadline, ReconcileDone done) {
  ::analytics::EventCountRequest request;
  request.set_user_id(std::move(pair.user_id));
  request.set_page_url(std::move(pair.page_url));
  Call<::analytics::EventCountRequest, ::analytics::ReconcileResponse, domain::Reconciliation>(
      [](auto* stub, auto... call) { stub->ReconcilePair(call...); }, std::move(request), deadline,
      [](const ::analytics::ReconcileResponse& response) { return FromProto(response); }, std::move(done));
}

void GrpcCountClient::ListDeadLetters(const domain::DeadLetterFilter& filter, Deadline deadline, ListDone done) {
  ::analytics::DeadLetterQuery request;
  ToProto(filter, request);
  Call<::analytics::DeadLetterQuery, ::analytics::DeadLetterList, std::vector<domain::DeadLetter>>(
      [](auto* stub, auto... call) { stub->ListDeadLetters(call...); }, std::move(request), deadline,
      [](const ::analytics::DeadLetterList& response) {
        std::vector<domain::DeadLetter> letters;
        for (const auto& letter : response.letters()) letters.push_back(FromProto(letter));
        return letters;
      },
      std::move(done));
}

void GrpcCountClient::ReplayDeadLetters(const domain::DeadLetterFilter& filter, Deadline deadline, ReplayDone done) {
  ::analytics::DeadLetterQuery request;
  ToProto(filter, request);
  Call<::analytics::DeadLetterQuery, ::analytics::ReplayResult, std::vector<domain::ReplayOutcome>>(
      [](auto* stub, auto... call) { stub->ReplayDeadLetters(call...); }, std::move(request), deadline,
      [](const ::analytics::ReplayResult& response) {
        std::vector<domain::ReplayOutcome> outcomes;
        for (const auto& outcome : response.outcomes()) outcomes.push_back(FromProto(outcome));
        return outcomes;
      },
      std::move(done));
}

void GrpcCountClient::TopPages(const domain::RankQuery& query, Deadline deadline, Done<domain::PageRanking> done) {
  ::analytics::TopPagesRequest request;
  ToProto(query, request);
  Call<::analytics::TopPagesRequest, ::analytics::TopPagesResponse, domain::PageRanking>(
      [](auto* stub, auto... call) { stub->GetTopPages(call...); }, std::move(request), deadline,
      [](const ::analytics::TopPagesResponse& response) { return FromProto(response); }, std::move(done));
}

void GrpcCountClient::EventTypeCounts(std::size_t limit, Deadline deadline, Done<domain::EventTypeRanking> done) {
  ::analytics::EventTypeCountsRequest request;
  request.set_limit(static_cast<int32_t>(std::min<std::size_t>(limit, INT32_MAX)));
  Call<::analytics::EventTypeCountsRequest, ::analytics::EventTypeCountsResponse, domain::EventTypeRanking>(
      [](auto* stub, auto... call) { stub->GetEventTypeCounts(call...); }, std::move(request), deadline,
      [](const ::analytics::EventTypeCountsResponse& response) { return FromProto(response); }, std::move(done));
}

void GrpcCountClient::ClicksOverTime(const domain::SeriesQuery& query, Deadline deadline,
                                     Done<domain::ClickSeries> done) {
  ::analytics::ClicksOverTimeRequest request;
  ToProto(query, request);
  Call<::analytics::ClicksOverTimeRequest, ::analytics::ClicksOverTimeResponse, domain::ClickSeries>(
      [](auto* stub, auto... call) { stub->GetClicksOverTime(call...); }, std::move(request), deadline,
      [](const ::analytics::ClicksOverTimeResponse& response) { return FromProto(response); }, std::move(done));
}

absl::Status GrpcCountClient::CheckReady(std::chrono::milliseconds timeout) {
  if (channel_->WaitForConnected(std::chrono::system_clock::now() + timeout)) return absl::OkStatus();
  return absl::UnavailableError("analytics service is not reachable");
}

}  // namespace clickstream::grpc_adapter
