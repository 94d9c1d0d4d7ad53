// imap-migrator(8) in roff, from the command table.
#pragma once

#include <string>

namespace imapmig::cli {

std::string render_man_page();

} // namespace imapmig::cli
