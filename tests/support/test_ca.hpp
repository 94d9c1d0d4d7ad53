// A private certificate authority for TLS tests (openssl CLI, EC P-256 keys).
#pragma once

#include <string>

namespace testsupport {

struct CertPair {
    std::string cert; // path of the PEM certificate
    std::string key;  // path of the PEM private key (mode 0644: it lives in a temp dir)
};

class TestCA {
public:
    // Creates <dir>/ca.crt and <dir>/ca.key (self-signed, CA:TRUE, 1 day). dir must exist.
    explicit TestCA(const std::string &dir, const std::string &name = "Test CA");

    const std::string &ca_cert() const { return ca_cert_; }
    const std::string &dir() const { return dir_; }

    // A server certificate for common_name with SANs DNS:<cn>, DNS:localhost, IP:127.0.0.1,
    // files <dir>/<cn>.crt and <dir>/<cn>.key (cn sanitised for the file name).
    CertPair issue(const std::string &common_name) const;

private:
    std::string dir_;
    std::string ca_cert_;
    std::string ca_key_;
};

} // namespace testsupport
