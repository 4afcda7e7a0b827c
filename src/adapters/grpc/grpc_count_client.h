// CountClient, DeadLetterClient and AggregateClient over gRPC: one channel and stub built at start-up, the caller's
// deadline on every call (at most `max_deadline` away), and retries of UNAVAILABLE by gRPC's own retry policy in the
// channel's service config (no hand-written loop), all within that deadline. `done` runs on a gRPC callback thread.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "ports/aggregate_client.h"
#include "ports/count_client.h"
#include "ports/dead_letter_client.h"

namespace grpc {
class Channel;
}

namespace clickstream::grpc_adapter {

// PEM text. No root CA: plain text. A root CA: TLS, trusting only certificates it signed; with a certificate and
// key too, presented to a server that asks for one (mutual TLS).
struct GrpcClientTls {
  std::string root_ca_pem;
  std::string cert_chain_pem;
  std::string private_key_pem;
};

class GrpcCountClient final : public ports::CountClient, public ports::DeadLetterClient, public ports::AggregateClient {
 public:
  using Deadline = ports::CountClient::Deadline;
  // `tracer`, when set, records a span of each call in a sampled trace; it must outlive the client.
  GrpcCountClient(const std::string& target, std::chrono::milliseconds max_deadline, const GrpcClientTls& tls = {},
                  const tracing::Tracer* tracer = nullptr);
  // Waits for the calls still in flight (each ends by its deadline), so no callback runs after the client is gone.
  ~GrpcCountClient() override;

  // ports::CountClient
  void GetCounts(std::vector<domain::CountQuery> pairs, const domain::Position& after, Deadline deadline,
                 const tracing::TraceContext& trace, DoneMany done) override;
  void Reconcile(domain::CountQuery pair, Deadline deadline, ReconcileDone done) override;
  // ports::DeadLetterClient
  void ListDeadLetters(const domain::DeadLetterFilter& filter, Deadline deadline, ListDone done) override;
  void ReplayDeadLetters(const domain::DeadLetterFilter& filter, Deadline deadline, ReplayDone done) override;
  // ports::AggregateClient
  void TopPages(const domain::RankQuery& query, Deadline deadline, Done<domain::PageRanking> done) override;
  void EventTypeCounts(std::size_t limit, Deadline deadline, Done<domain::EventTypeRanking> done) override;
  void ClicksOverTime(const domain::SeriesQuery& query, Deadline deadline, Done<domain::ClickSeries> done) override;
  absl::Status CheckReady(std::chrono::milliseconds timeout) override;

 private:
  std::chrono::system_clock::time_point CallDeadline(Deadline deadline) const;
  // Sends one unary call, which `start` begins on the stub's async interface, and hands `done` the response read by
  // `answer`, or the call's error.
  template <typename Request, typename Response, typename Answer, typename Start>
  void Call(Start start, Request request, Deadline deadline, std::function<Answer(const Response&)> answer,
            std::function<void(absl::StatusOr<Answer>)> done);

  const std::chrono::milliseconds max_deadline_;
  const tracing::Tracer* const tracer_;
  std::shared_ptr<grpc::Channel> channel_;
  struct Stub;  // the generated stub, kept out of this header
  std::unique_ptr<Stub> stub_;
  struct InFlight;  // calls whose callback has not finished yet
  const std::shared_ptr<InFlight> in_flight_;
};

}  // namespace clickstream::grpc_adapter
