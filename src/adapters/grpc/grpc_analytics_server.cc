#include "adapters/grpc/grpc_analytics_server.h"

#include <algorithm>
#include <atomic>
#include <functional>
#include <memory>
#include <mutex>

#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include "adapters/grpc/aggregate_conversion.h"
#include "adapters/grpc/dead_letter_conversion.h"
#include "adapters/grpc/freshness_conversion.h"
#include "adapters/grpc/status_conversion.h"
#include "adapters/grpc/trace_metadata.h"
#include "analytics.grpc.pb.h"
#include "common/log.h"
#include "domain/position.h"

namespace clickstream::grpc_adapter {
namespace {

constexpr const char* kServiceName = "analytics.AnalyticsService";

// One call's reactor, finished exactly once: by the service's answer, or at once when gRPC cancels the call (its
// deadline passed, the client went away, Shutdown's grace ran out). gRPC frees a call only once it is finished, so
// without the second way a look-up the store never ends would hold its call, and Shutdown, past any grace. The
// service's callback shares the reactor; after a cancellation it touches nothing of the call's, whose request and
// response gRPC may have freed.
class CountReactor final : public grpc::ServerUnaryReactor {
 public:
  static std::shared_ptr<CountReactor> Create() {
    auto reactor = std::make_shared<CountReactor>();
    reactor->self_ = reactor;  // gRPC holds a plain pointer until OnDone
    return reactor;
  }

  // Finishes with the status `answer` returns (having filled in the response), unless the call was cancelled first.
  void Answer(const std::function<grpc::Status()>& answer) {
    if (!finished_.exchange(true)) Finish(answer());
  }

  void OnCancel() override {
    if (!finished_.exchange(true)) Finish(grpc::Status(grpc::StatusCode::CANCELLED, "call cancelled"));
  }

  void OnDone() override {
    auto self = std::move(self_);  // possibly the last owner: the reactor goes with it
  }

 private:
  std::atomic<bool> finished_{false};
  std::shared_ptr<CountReactor> self_;
};

// The server span of a call whose traceparent metadata is sampled; not recording otherwise. Calls without one start
// no trace here: the gateway sends a traceparent with every call it traces.
std::shared_ptr<tracing::Span> ServerSpan(const tracing::Tracer* tracer, const grpc::CallbackServerContext& context) {
  if (tracer == nullptr) return nullptr;
  const auto& metadata = context.client_metadata();
  const auto found = metadata.find(kTraceparentMetadata);
  if (found == metadata.end()) return nullptr;
  const auto caller = tracing::ParseTraceparent(std::string_view(found->second.data(), found->second.size()));
  if (!caller || !caller->sampled) return nullptr;
  return std::make_shared<tracing::Span>(
      tracer->StartChild(kGetEventCountsMethod, tracing::SpanKind::kServer, *caller));
}

// GetEventCount's answer: the count, its pair and how fresh it is, or the look-up's error.
grpc::Status AnswerOne(const analytics::AnalyticsService::Result& count, const ::analytics::EventCountRequest& request,
                       ::analytics::EventCountResponse& response) {
  if (!count.ok()) return ToGrpcStatus(count.status());
  response.set_count(count->count);
  response.set_user_id(request.user_id());
  response.set_page_url(request.page_url());
  if (count->freshness) ToProto(*count->freshness, *response.mutable_freshness());
  return grpc::Status::OK;
}

class CountService final : public ::analytics::AnalyticsService::CallbackService {
 public:
  CountService(analytics::AnalyticsService& service, const tracing::Tracer* tracer,
               analytics::DeadLetterService* dead_letters, analytics::AggregateService* aggregates)
      : service_(service), tracer_(tracer), dead_letters_(dead_letters), aggregates_(aggregates) {}

  grpc::ServerUnaryReactor* GetEventCount(grpc::CallbackServerContext* /*context*/,
                                          const ::analytics::EventCountRequest* request,
                                          ::analytics::EventCountResponse* response) override {
    auto reactor = CountReactor::Create();
    if (!request->position().empty()) return GetEventCountAfter(reactor, *request, response);
    // `request` and `response` stay valid until the call finishes; Answer touches them only if it finishes it.
    service_.GetCount(request->user_id(), request->page_url(),
                      [reactor, request, response](const analytics::AnalyticsService::Result& count) {
                        reactor->Answer([&] { return AnswerOne(count, *request, *response); });
                      });
    return reactor.get();
  }

  // GetEventCount with a position: a call of one pair that waits for it; a wait that ran out fails the call.
  grpc::ServerUnaryReactor* GetEventCountAfter(const std::shared_ptr<CountReactor>& reactor,
                                               const ::analytics::EventCountRequest& request,
                                               ::analytics::EventCountResponse* response) {
    auto after = domain::ParsePositionToken(request.position());
    if (!after.ok()) {
      reactor->Answer([&] { return ToGrpcStatus(after.status()); });
      return reactor.get();
    }
    service_.GetCounts(
        {{request.user_id(), request.page_url()}}, {},
        [reactor, &request, response](const std::vector<analytics::AnalyticsService::Result>& counts) {
          reactor->Answer([&] { return AnswerOne(counts.front(), request, *response); });
        },
        std::move(*after));
    return reactor.get();
  }

  grpc::ServerUnaryReactor* GetEventCounts(grpc::CallbackServerContext* context,
                                           const ::analytics::EventCountsRequest* request,
                                           ::analytics::EventCountsResponse* response) override {
    auto reactor = CountReactor::Create();
    // Too many pairs fails the call as a whole: the caller sent a request this server never serves.
    if (auto status = service_.CheckCallSize(static_cast<std::size_t>(request->pairs_size())); !status.ok()) {
      reactor->Answer([&] { return ToGrpcStatus(status); });
      return reactor.get();
    }
    std::vector<domain::CountQuery> pairs;
    pairs.reserve(request->pairs_size());
    domain::Position after;
    for (const auto& pair : request->pairs()) {
      pairs.push_back({pair.user_id(), pair.page_url()});
      if (pair.position().empty()) continue;
      auto position = domain::ParsePositionToken(pair.position());
      if (!position.ok()) {
        reactor->Answer([&] { return ToGrpcStatus(position.status()); });
        return reactor.get();
      }
      for (const auto& offset : *position) domain::Include(after, offset);
    }
    auto span = ServerSpan(tracer_, *context);
    const tracing::TraceContext trace = span ? span->context() : tracing::TraceContext{};
    service_.GetCounts(
        std::move(pairs), trace,
        [reactor, response, span](const std::vector<analytics::AnalyticsService::Result>& counts) {
          if (span) span->End();
          reactor->Answer([&] {
            response->mutable_results()->Reserve(static_cast<int>(counts.size()));
            // Each distinct freshness goes once; a call has one or two (its cache hits, its database reads).
            std::vector<const domain::Freshness*> sent;
            for (const auto& count : counts) {
              auto* result = response->add_results();
              if (count.ok()) {
                result->set_count(count->count);
                if (!count->freshness) continue;
                auto at = std::find(sent.begin(), sent.end(), count->freshness.get());
                if (at == sent.end()) {
                  ToProto(*count->freshness, *response->add_freshness());
                  at = sent.insert(at, count->freshness.get());
                }
                result->set_freshness_index(static_cast<int32_t>(at - sent.begin()));
              } else {
                result->set_status_code(ToCodeNumber(count.status().code()));
                result->set_status_message(std::string(count.status().message()));
                result->set_applied_position(domain::AppliedPositionOf(count.status()));
              }
            }
            return grpc::Status::OK;
          });
        },
        std::move(after));
    return reactor.get();
  }

  grpc::ServerUnaryReactor* ListDeadLetters(grpc::CallbackServerContext* /*context*/,
                                            const ::analytics::DeadLetterQuery* request,
                                            ::analytics::DeadLetterList* response) override {
    auto reactor = CountReactor::Create();
    if (dead_letters_ == nullptr) return Unimplemented(reactor);
    dead_letters_->List(FromProto(*request),
                        [reactor, response](const absl::StatusOr<std::vector<domain::DeadLetter>>& letters) {
                          reactor->Answer([&] {
                            if (!letters.ok()) return ToGrpcStatus(letters.status());
                            for (const auto& letter : *letters) ToProto(letter, *response->add_letters());
                            return grpc::Status::OK;
                          });
                        });
    return reactor.get();
  }

  grpc::ServerUnaryReactor* ReplayDeadLetters(grpc::CallbackServerContext* /*context*/,
                                              const ::analytics::DeadLetterQuery* request,
                                              ::analytics::ReplayResult* response) override {
    auto reactor = CountReactor::Create();
    if (dead_letters_ == nullptr) return Unimplemented(reactor);
    dead_letters_->Replay(FromProto(*request),
                          [reactor, response](const absl::StatusOr<std::vector<domain::ReplayOutcome>>& outcomes) {
                            reactor->Answer([&] {
                              if (!outcomes.ok()) return ToGrpcStatus(outcomes.status());
                              for (const auto& outcome : *outcomes) ToProto(outcome, *response->add_outcomes());
                              return grpc::Status::OK;
                            });
                          });
    return reactor.get();
  }

  grpc::ServerUnaryReactor* ReconcilePair(grpc::CallbackServerContext* /*context*/,
                                          const ::analytics::EventCountRequest* request,
                                          ::analytics::ReconcileResponse* response) override {
    auto reactor = CountReactor::Create();
    service_.Reconcile({request->user_id(), request->page_url()},
                       [reactor, response](const absl::StatusOr<domain::Reconciliation>& reconciliation) {
                         reactor->Answer([&] {
                           if (!reconciliation.ok()) return ToGrpcStatus(reconciliation.status());
                           ToProto(*reconciliation, *response);
                           return grpc::Status::OK;
                         });
                       });
    return reactor.get();
  }

  grpc::ServerUnaryReactor* GetTopPages(grpc::CallbackServerContext* /*context*/,
                                        const ::analytics::TopPagesRequest* request,
                                        ::analytics::TopPagesResponse* response) override {
    auto reactor = CountReactor::Create();
    if (aggregates_ == nullptr) return Unimplemented(reactor, "this server answers no aggregates");
    aggregates_->TopPages(FromProto(*request), Answering<domain::PageRanking>(reactor, response));
    return reactor.get();
  }

  grpc::ServerUnaryReactor* GetEventTypeCounts(grpc::CallbackServerContext* /*context*/,
                                               const ::analytics::EventTypeCountsRequest* request,
                                               ::analytics::EventTypeCountsResponse* response) override {
    auto reactor = CountReactor::Create();
    if (aggregates_ == nullptr) return Unimplemented(reactor, "this server answers no aggregates");
    aggregates_->EventTypeCounts(static_cast<std::size_t>(std::max(request->limit(), 0)),
                                 Answering<domain::EventTypeRanking>(reactor, response));
    return reactor.get();
  }

  grpc::ServerUnaryReactor* GetClicksOverTime(grpc::CallbackServerContext* /*context*/,
                                              const ::analytics::ClicksOverTimeRequest* request,
                                              ::analytics::ClicksOverTimeResponse* response) override {
    auto reactor = CountReactor::Create();
    if (aggregates_ == nullptr) return Unimplemented(reactor, "this server answers no aggregates");
    auto query = FromProto(*request);
    if (!query.ok()) {
      reactor->Answer([&] { return ToGrpcStatus(query.status()); });
      return reactor.get();
    }
    aggregates_->ClicksOverTime(*std::move(query), Answering<domain::ClickSeries>(reactor, response));
    return reactor.get();
  }

 private:
  static grpc::ServerUnaryReactor* Unimplemented(const std::shared_ptr<CountReactor>& reactor,
                                                 const char* why = "this server keeps no dead letters") {
    reactor->Answer([why] { return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, why); });
    return reactor.get();
  }

  // The callback that answers a call with an aggregate (written into `response`) or the service's error.
  template <typename T, typename Response>
  static std::function<void(absl::StatusOr<T>)> Answering(const std::shared_ptr<CountReactor>& reactor,
                                                          Response* response) {
    return [reactor, response](const absl::StatusOr<T>& answer) {
      reactor->Answer([&] {
        if (!answer.ok()) return ToGrpcStatus(answer.status());
        ToProto(*answer, *response);
        return grpc::Status::OK;
      });
    };
  }

  analytics::AnalyticsService& service_;
  const tracing::Tracer* const tracer_;
  analytics::DeadLetterService* const dead_letters_;
  analytics::AggregateService* const aggregates_;
};

std::shared_ptr<grpc::ServerCredentials> Credentials(const GrpcServerTls& tls) {
  if (tls.cert_chain_pem.empty()) return grpc::InsecureServerCredentials();
  grpc::SslServerCredentialsOptions options(tls.client_ca_pem.empty()
                                                ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
                                                : GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  options.pem_root_certs = tls.client_ca_pem;
  options.pem_key_cert_pairs.push_back({tls.private_key_pem, tls.cert_chain_pem});
  return grpc::SslServerCredentials(options);
}

class Server final : public GrpcAnalyticsServer {
 public:
  Server(analytics::AnalyticsService& service, const tracing::Tracer* tracer,
         analytics::DeadLetterService* dead_letters, analytics::AggregateService* aggregates)
      : count_service_(service, tracer, dead_letters, aggregates) {}
  ~Server() override { Shutdown(std::chrono::milliseconds(0)); }

  absl::Status Run(const std::string& address, uint16_t port, const GrpcServerTls& tls) {
    grpc::EnableDefaultHealthCheckService(true);
    grpc::ServerBuilder builder;
    const std::string endpoint = address + ":" + std::to_string(port);
    int bound_port = 0;
    builder.AddListeningPort(endpoint, Credentials(tls), &bound_port);
    builder.RegisterService(&count_service_);
    server_ = builder.BuildAndStart();
    if (!server_ || bound_port == 0) {
      // gRPC logs its reason (port taken, certificate or key not usable) on stderr and returns no detail.
      return absl::UnavailableError("cannot serve gRPC on " + endpoint + " (port in use, or TLS material rejected)");
    }
    port_ = static_cast<uint16_t>(bound_port);
    server_->GetHealthCheckService()->SetServingStatus(kServiceName, true);
    server_->GetHealthCheckService()->SetServingStatus(true);
    common::Logger("analytics")
        ->info("analytics gRPC listening address={} port={} tls={} client_certificates={}", address, bound_port,
               !tls.cert_chain_pem.empty(), !tls.client_ca_pem.empty());
    return absl::OkStatus();
  }

  uint16_t port() const override { return port_; }

  void Shutdown(std::chrono::milliseconds grace) override {
    std::lock_guard lock(mutex_);
    if (!server_) return;
    server_->GetHealthCheckService()->SetServingStatus(false);
    server_->Shutdown(std::chrono::system_clock::now() + grace);
    server_->Wait();
    server_.reset();
  }

 private:
  CountService count_service_;
  uint16_t port_ = 0;  // set once, by Run
  std::mutex mutex_;
  std::unique_ptr<grpc::Server> server_;  // last: shut down before the service it calls goes away
};

}  // namespace

absl::StatusOr<std::unique_ptr<GrpcAnalyticsServer>> GrpcAnalyticsServer::Start(
    const std::string& address, uint16_t port, analytics::AnalyticsService& service, const GrpcServerTls& tls,
    const tracing::Tracer* tracer, analytics::DeadLetterService* dead_letters,
    analytics::AggregateService* aggregates) {
  auto server = std::make_unique<Server>(service, tracer, dead_letters, aggregates);
  if (auto status = server->Run(address, port, tls); !status.ok()) return status;
  return server;
}

}  // namespace clickstream::grpc_adapter
