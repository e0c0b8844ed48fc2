// Raw HTTP over a loopback socket, for tests that must send what no HTTP client would
// (half heads, NUL bytes, pipelined bursts) and see exactly what comes back.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <string>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace simsearch::testing {

// A connected socket to 127.0.0.1:port, or -1.
inline int Connect(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

inline void Send(int fd, const std::string& s) {
  (void)::send(fd, s.data(), s.size(), MSG_NOSIGNAL);
}

// Reads until the peer closes (*closed set), `want` bytes have arrived, or `timeout`
// passes; returns what arrived.
inline std::string Read(int fd, absl::Duration timeout, bool* closed = nullptr,
                        size_t want = SIZE_MAX) {
  std::string out;
  const absl::Time end = absl::Now() + timeout;
  if (closed != nullptr) *closed = false;
  while (absl::Now() < end && out.size() < want) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(absl::ToInt64Milliseconds(end - absl::Now())) + 1) <= 0)
      break;
    char buf[65536];
    const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) {
      if (closed != nullptr) *closed = true;
      break;
    }
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

// `raw` on a new connection; what comes back until the server closes or `timeout`.
inline std::string Exchange(int port, const std::string& raw,
                            absl::Duration timeout = absl::Seconds(5)) {
  const int fd = Connect(port);
  if (fd < 0) return "";
  Send(fd, raw);
  std::string out = Read(fd, timeout);
  ::close(fd);
  return out;
}

}  // namespace simsearch::testing
