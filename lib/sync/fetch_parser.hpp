// FETCH responses as ImapSession returns them (literals inline after their `{n}`): UID,
// RFC822.SIZE, FLAGS and the Message-ID header of each message. Written for the replies of
// this product's own FETCH commands, not as a general IMAP parser: unknown items are skipped.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace imapmig {

struct FetchedMessage {
    long long uid = 0;                 // 0 where not asked for
    long long size = 0;                // RFC822.SIZE
    std::vector<std::string> keywords; // FLAGS without the system flags (no leading backslash)
    std::string message_id;            // "<...>" as the header says; "" without one
};

// Every `* n FETCH (...)` response of text that carries RFC822.SIZE.
std::vector<FetchedMessage> parse_fetch_responses(std::string_view text);

} // namespace imapmig
