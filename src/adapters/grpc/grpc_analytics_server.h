// The analytics gRPC server: analytics.AnalyticsService over the callback API, plus the standard gRPC health
// service. The service class only converts proto <-> domain and hands the look-up to AnalyticsService, whose
// workers answer; gRPC's own threads never block on Redis or PostgreSQL.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "services/analytics/aggregate_service.h"
#include "services/analytics/analytics_service.h"
#include "services/analytics/dead_letter_service.h"

namespace clickstream::grpc_adapter {

// PEM text. No certificate: plain text. A client CA: mutual TLS, every client must present a certificate it signed.
struct GrpcServerTls {
  std::string cert_chain_pem;
  std::string private_key_pem;
  std::string client_ca_pem;
};

class GrpcAnalyticsServer {
 public:
  // Listens on address:port and serves `service`, which must outlive the server. With a `tracer` (which must outlive
  // the server too), a call whose traceparent metadata is sampled gets a server span, under which the service
  // records its reads. Without `dead_letters`, or `aggregates` (each must outlive the server too), their calls answer
  // UNIMPLEMENTED.
  static absl::StatusOr<std::unique_ptr<GrpcAnalyticsServer>> Start(
      const std::string& address, uint16_t port, analytics::AnalyticsService& service, const GrpcServerTls& tls = {},
      const tracing::Tracer* tracer = nullptr, analytics::DeadLetterService* dead_letters = nullptr,
      analytics::AggregateService* aggregates = nullptr);
  virtual ~GrpcAnalyticsServer() = default;
  // The port the server listens on: the one given, or the one the system chose when that was 0.
  virtual uint16_t port() const = 0;
  // Marks the health service NOT_SERVING, stops accepting calls and waits up to `grace` for running ones, then
  // cancels those; an answer the service gives to a cancelled call later is dropped.
  virtual void Shutdown(std::chrono::milliseconds grace) = 0;
};

}  // namespace clickstream::grpc_adapter
