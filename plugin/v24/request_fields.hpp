// Dovecot 2.4's names for auth_request fields that it renamed. Include after Dovecot's headers.
#pragma once

// The protocol the login came in with ("imap", "pop3", "smtp", ...); 2.3's `service`.
inline const char *request_protocol(const struct auth_request *request) {
    return request->fields.protocol;
}
