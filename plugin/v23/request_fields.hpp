// Dovecot 2.3's names for auth_request fields that 2.4 renamed. Include after Dovecot's headers.
#pragma once

// The protocol the login came in with ("imap", "pop3", "smtp", ...).
inline const char *request_protocol(const struct auth_request *request) {
    return request->fields.service;
}
