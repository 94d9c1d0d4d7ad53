// What `import` and `migrations create --from-csv` share: their options and file reading.
#pragma once

#include "base/error.hpp"
#include "import/csv_import.hpp"

#include <string>
#include <vector>

namespace imapmig::cli {

struct CsvCommandArgs {
    std::vector<std::string> files;
    char sepchar = ';';
    bool continue_if_exists = false;
    bool crypt_passwords = false;
    bool dry_run = false;
    std::string from_csv; // migrations create --from-csv FILE
};

// Parses the options both commands know; allow_* name the ones this command takes. Returns a
// usage message on error.
Result<CsvCommandArgs> parse_csv_command_args(const std::vector<std::string> &args,
                                              bool allow_crypt, bool allow_from_csv);

Result<std::string> read_whole_file(const std::string &path);

// Prints errors to stderr: all of them in a dry run, else the first (which aborted the file).
void report_import_errors(const std::string &file, std::vector<ImportError> errors, bool dry_run);

} // namespace imapmig::cli
