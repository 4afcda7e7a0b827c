#include "support/http_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstring>

namespace clickstream::testing_support {
namespace {

std::string Lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  return text;
}

}  // namespace

std::string HttpResult::Header(const std::string& name) const {
  for (const auto& [key, value] : headers) {
    if (Lower(key) == Lower(name)) return value;
  }
  return "";
}

HttpConnection::~HttpConnection() { Close(); }

void HttpConnection::Close() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
}

bool HttpConnection::Connect(int timeout_ms) {
  Close();
  fd_ = ConnectLoopback(port_, timeout_ms, timeout_ms);
  return fd_ >= 0;
}

HttpResult HttpConnection::Request(const std::string& method, const std::string& target, const std::string& body,
                                   const std::string& content_type, int timeout_ms,
                                   const std::vector<std::pair<std::string, std::string>>& headers) {
  std::string request = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  for (const auto& [name, value] : headers) request += name + ": " + value + "\r\n";
  if (!body.empty() || method == "POST") {
    if (!content_type.empty()) request += "Content-Type: " + content_type + "\r\n";
    request += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  }
  request += "\r\n" + body;

  for (int attempt = 0; attempt < 2; ++attempt) {
    // A kept-alive connection the server closed fails on first use: reconnect once.
    if (fd_ < 0 && !Connect(timeout_ms)) return {};
    if (send(fd_, request.data(), request.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(request.size())) {
      Close();
      continue;
    }
    std::string buffer;
    char chunk[65536];
    std::size_t header_end = std::string::npos;
    HttpResult result;
    std::size_t content_length = 0;
    while (true) {
      const ssize_t n = recv(fd_, chunk, sizeof(chunk), 0);
      if (n <= 0) break;
      buffer.append(chunk, static_cast<std::size_t>(n));
      if (header_end == std::string::npos) {
        header_end = buffer.find("\r\n\r\n");
        if (header_end == std::string::npos) continue;
        const std::string head = buffer.substr(0, header_end);
        result.status = std::atoi(head.c_str() + head.find(' ') + 1);
        std::size_t line_start = head.find("\r\n");
        while (line_start != std::string::npos) {
          const std::size_t next = head.find("\r\n", line_start + 2);
          const std::string line =
              head.substr(line_start + 2, next == std::string::npos ? std::string::npos : next - line_start - 2);
          const auto colon = line.find(':');
          if (colon != std::string::npos) {
            std::string value = line.substr(colon + 1);
            value.erase(0, value.find_first_not_of(' '));
            result.headers.emplace_back(line.substr(0, colon), value);
          }
          line_start = next;
        }
        content_length = std::strtoull(result.Header("Content-Length").c_str(), nullptr, 10);
      }
      if (buffer.size() >= header_end + 4 + content_length) {
        result.body = buffer.substr(header_end + 4, content_length);
        if (Lower(result.Header("Connection")) == "close") Close();
        return result;
      }
    }
    Close();
    if (!buffer.empty()) return {};  // a partial answer: do not resend a request the server may have seen
  }
  return {};
}

int ConnectLoopback(uint16_t port, int send_timeout_ms, int receive_timeout_ms) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  const timeval send_timeout{send_timeout_ms / 1000, (send_timeout_ms % 1000) * 1000};
  const timeval receive_timeout{receive_timeout_ms / 1000, (receive_timeout_ms % 1000) * 1000};
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &send_timeout, sizeof(send_timeout));
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &receive_timeout, sizeof(receive_timeout));
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

std::string UrlEncode(const std::string& value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : value) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    }
  }
  return out;
}

}  // namespace clickstream::testing_support
