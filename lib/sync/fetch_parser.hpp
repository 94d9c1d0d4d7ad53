// FETCH responses as ImapSession returns them (literals inline after their `{n}`): UID,
// RFC822.SIZE, FLAGS, INTERNALDATE, the Message-ID header and the whole message (BODY[]). Written
// for the replies of this product's own FETCH commands, not as a general IMAP parser: unknown items
// are skipped.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace imapmig {

struct FetchedMessage {
    long long uid = 0;                     // 0 where not asked for
    long long size = 0;                    // RFC822.SIZE
    std::vector<std::string> keywords;     // FLAGS without the system flags (no leading backslash)
    std::string message_id;                // "<...>" as the header says; "" without one
    std::vector<std::string> system_flags; // \Seen, \Answered, ... (\Recent left out)
    std::string internal_date;             // "06-Dec-2026 10:00:00 +0000"; "" where not asked for
    std::optional<std::string> body;       // BODY[]: the message as the server stores it
};

// Every `* n FETCH (...)` response of text that carries RFC822.SIZE.
std::vector<FetchedMessage> parse_fetch_responses(std::string_view text);

} // namespace imapmig
