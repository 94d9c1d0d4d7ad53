#include "test_ca.hpp"

#include <cctype>
#include <stdexcept>
#include <sys/stat.h>

#include "process.hpp"
#include "temp_dir.hpp"

namespace testsupport {

namespace {

std::string file_safe(const std::string &name) {
    std::string out;
    for (unsigned char c : name)
        out += (std::isalnum(c) || c == '.' || c == '-' || c == '_') ? static_cast<char>(c) : '_';
    return out.empty() ? "cert" : out;
}

// Distinguished-name values for -subj: '/' and '\' must be escaped.
std::string subj_value(const std::string &v) {
    std::string out;
    for (char c : v) {
        if (c == '/' || c == '\\' || c == '+' || c == '=')
            out += '\\';
        out += c;
    }
    return out;
}

bool is_ip_literal(const std::string &s) {
    return !s.empty() && s.find_first_not_of("0123456789.") == std::string::npos;
}

} // namespace

TestCA::TestCA(const std::string &dir, const std::string &name)
    : dir_(dir), ca_cert_(dir + "/ca.crt"), ca_key_(dir + "/ca.key") {
    // Own minimal config: independent of /etc/ssl/openssl.cnf defaults.
    const std::string cnf = dir_ + "/ca.cnf";
    write_file(cnf, "[req]\n"
                    "distinguished_name = dn\n"
                    "[dn]\n"
                    "[v3_ca]\n"
                    "basicConstraints = critical,CA:TRUE\n"
                    "keyUsage = critical,keyCertSign,cRLSign\n"
                    "subjectKeyIdentifier = hash\n"
                    "authorityKeyIdentifier = keyid:always\n");
    run_checked({"openssl",
                 "req",
                 "-x509",
                 "-config",
                 cnf,
                 "-extensions",
                 "v3_ca",
                 "-newkey",
                 "ec",
                 "-pkeyopt",
                 "ec_paramgen_curve:prime256v1",
                 "-nodes",
                 "-keyout",
                 ca_key_,
                 "-out",
                 ca_cert_,
                 "-days",
                 "2",
                 "-subj",
                 "/CN=" + subj_value(name),
                 "-sha256"});
    chmod(ca_key_.c_str(), 0600);
    chmod(ca_cert_.c_str(), 0644);
}

CertPair TestCA::issue(const std::string &common_name) const {
    const std::string base = dir_ + "/" + file_safe(common_name);
    CertPair pair{base + ".crt", base + ".key"};
    const std::string csr = base + ".csr", ext = base + ".ext";
    std::string san = "DNS:localhost,IP:127.0.0.1";
    if (common_name != "localhost" && common_name != "127.0.0.1")
        san = (is_ip_literal(common_name) ? "IP:" : "DNS:") + common_name + "," + san;
    write_file(ext, "basicConstraints = critical,CA:FALSE\n"
                    "keyUsage = critical,digitalSignature,keyEncipherment\n"
                    "extendedKeyUsage = serverAuth\n"
                    "subjectKeyIdentifier = hash\n"
                    "authorityKeyIdentifier = keyid,issuer\n"
                    "subjectAltName = " +
                        san + "\n");
    run_checked({"openssl", "req", "-new", "-config", dir_ + "/ca.cnf", "-newkey", "ec", "-pkeyopt",
                 "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", pair.key, "-out", csr,
                 "-subj", "/CN=" + subj_value(common_name)});
    run_checked({"openssl", "x509", "-req", "-in", csr, "-CA", ca_cert_, "-CAkey", ca_key_,
                 "-CAserial", dir_ + "/ca.srl", "-CAcreateserial", "-days", "2", "-sha256",
                 "-extfile", ext, "-out", pair.cert});
    // Dovecot reads ssl_key as root at startup, but doveadm/others may not: 0644 in a temp dir.
    chmod(pair.key.c_str(), 0644);
    chmod(pair.cert.c_str(), 0644);
    return pair;
}

} // namespace testsupport
