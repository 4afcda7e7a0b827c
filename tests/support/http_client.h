// A minimal blocking HTTP/1.1 client for tests: one keep-alive connection, Content-Length bodies only (which is
// all our servers send). Tests use it to talk to the services the way any client would.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace clickstream::testing_support {

struct HttpResult {
  int status = 0;  // 0: the connection failed or the answer could not be read
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string Header(const std::string& name) const;
};

class HttpConnection {
 public:
  explicit HttpConnection(uint16_t port) : port_(port) {}
  ~HttpConnection();
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  // Sends one request (reconnecting if needed) and reads its answer. `timeout_ms` bounds each socket operation.
  HttpResult Request(const std::string& method, const std::string& target, const std::string& body = "",
                     const std::string& content_type = "application/json", int timeout_ms = 10000,
                     const std::vector<std::pair<std::string, std::string>>& headers = {});

 private:
  bool Connect(int timeout_ms);
  void Close();

  uint16_t port_;
  int fd_ = -1;
};

// A TCP socket connected to 127.0.0.1:port with TCP_NODELAY, each send and each receive bounded by its timeout
// (0: unbounded); -1 when it cannot connect.
int ConnectLoopback(uint16_t port, int send_timeout_ms, int receive_timeout_ms);

// Percent-encodes a query-string value.
std::string UrlEncode(const std::string& value);

}  // namespace clickstream::testing_support
