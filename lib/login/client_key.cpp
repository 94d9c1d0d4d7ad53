#include "login/client_key.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>

namespace imapmig {

std::string remote_ip_limit_key(std::string_view remote_ip, int ipv6_prefix_length) {
    const std::string ip(remote_ip);
    in6_addr a6{};
    if (ip.empty() || inet_pton(AF_INET6, ip.c_str(), &a6) != 1)
        return ip; // IPv4, or not an address at all
    char text[INET6_ADDRSTRLEN];
    if (IN6_IS_ADDR_V4MAPPED(&a6)) {
        in_addr a4;
        std::memcpy(&a4, &a6.s6_addr[12], sizeof a4);
        return inet_ntop(AF_INET, &a4, text, sizeof text) != nullptr ? text : ip;
    }
    const int bits = std::clamp(ipv6_prefix_length, 0, 128);
    for (int i = 0; i < 16; ++i) {
        const int keep = std::clamp(bits - 8 * i, 0, 8);
        a6.s6_addr[i] &= static_cast<unsigned char>(0xff00 >> keep);
    }
    if (inet_ntop(AF_INET6, &a6, text, sizeof text) == nullptr)
        return ip;
    return std::string(text) + "/" + std::to_string(bits);
}

} // namespace imapmig
