#include "adapters/grpc/grpc_analytics_server.h"

#include <mutex>

#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include "adapters/grpc/status_conversion.h"
#include "analytics.grpc.pb.h"
#include "common/log.h"

namespace clickstream::grpc_adapter {
namespace {

constexpr const char* kServiceName = "analytics.AnalyticsService";

class CountService final : public ::analytics::AnalyticsService::CallbackService {
 public:
  explicit CountService(analytics::AnalyticsService& service) : service_(service) {}

  grpc::ServerUnaryReactor* GetEventCount(grpc::CallbackServerContext* context,
                                          const ::analytics::EventCountRequest* request,
                                          ::analytics::EventCountResponse* response) override {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    // `request` and `response` stay valid until Finish, which the callback calls exactly once.
    service_.GetCount(request->user_id(), request->page_url(),
                      [reactor, request, response](absl::StatusOr<int64_t> count) {
                        if (!count.ok()) {
                          reactor->Finish(ToGrpcStatus(count.status()));
                          return;
                        }
                        response->set_count(*count);
                        response->set_user_id(request->user_id());
                        response->set_page_url(request->page_url());
                        reactor->Finish(grpc::Status::OK);
                      });
    return reactor;
  }

 private:
  analytics::AnalyticsService& service_;
};

class Server final : public GrpcAnalyticsServer {
 public:
  explicit Server(analytics::AnalyticsService& service) : count_service_(service) {}
  ~Server() override { Shutdown(std::chrono::milliseconds(0)); }

  absl::Status Run(const std::string& address, uint16_t port) {
    grpc::EnableDefaultHealthCheckService(true);
    grpc::ServerBuilder builder;
    const std::string endpoint = address + ":" + std::to_string(port);
    int bound_port = 0;
    builder.AddListeningPort(endpoint, grpc::InsecureServerCredentials(), &bound_port);
    builder.RegisterService(&count_service_);
    server_ = builder.BuildAndStart();
    if (!server_ || bound_port == 0) return absl::UnavailableError("cannot serve gRPC on " + endpoint);
    server_->GetHealthCheckService()->SetServingStatus(kServiceName, true);
    server_->GetHealthCheckService()->SetServingStatus(true);
    common::Logger("analytics")->info("analytics gRPC listening address={} port={}", address, bound_port);
    return absl::OkStatus();
  }

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
  std::mutex mutex_;
  std::unique_ptr<grpc::Server> server_;  // last: shut down before the service it calls goes away
};

}  // namespace

absl::StatusOr<std::unique_ptr<GrpcAnalyticsServer>> GrpcAnalyticsServer::Start(
    const std::string& address, uint16_t port, analytics::AnalyticsService& service) {
  auto server = std::make_unique<Server>(service);
  if (auto status = server->Run(address, port); !status.ok()) return status;
  return server;
}

}  // namespace clickstream::grpc_adapter
