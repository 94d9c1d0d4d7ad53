// Which counter a remote address's rejected logins go to. An IPv4 address counts alone; an IPv6
// one counts with its whole network of prefix_length bits (a host commonly holds a /64 and can
// rotate through it). IPv4-mapped IPv6 addresses count as the IPv4 address.
#pragma once

#include <string>
#include <string_view>

namespace imapmig {

// "" for "" (unknown). Text that is not an address is its own key.
std::string remote_ip_limit_key(std::string_view remote_ip, int ipv6_prefix_length);

} // namespace imapmig
