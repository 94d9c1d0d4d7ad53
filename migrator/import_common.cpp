#include "import_common.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>

namespace imapmig::cli {

namespace {

Result<char> parse_sepchar(const std::string &value) {
    if (value.size() != 1 || value[0] == '"' || value[0] == '#' || value[0] == '\n' ||
        value[0] == '\r' || value[0] == ' ' || static_cast<unsigned char>(value[0]) >= 0x80)
        return permanent_error("--sepchar takes one ASCII character other than a space, '\"' "
                               "or '#'");
    return value[0];
}

} // namespace

Result<CsvCommandArgs> parse_csv_command_args(const std::vector<std::string> &args,
                                              bool allow_crypt, bool allow_from_csv) {
    CsvCommandArgs out;
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string &a = args[i];
        if ((a == "--sepchar" || a == "--from-csv") && i + 1 == args.size())
            return permanent_error(a + " needs a value");
        if (a == "--sepchar" || a.starts_with("--sepchar=")) {
            auto c = parse_sepchar(a == "--sepchar" ? args[++i] : a.substr(10));
            if (!c)
                return c.error();
            out.sepchar = c.value();
        } else if (a == "--continue-if-exists") {
            out.continue_if_exists = true;
        } else if (a == "--dry-run") {
            out.dry_run = true;
        } else if (a == "--crypt-passwords" && allow_crypt) {
            out.crypt_passwords = true;
        } else if (a == "--from-csv" && allow_from_csv) {
            out.from_csv = args[++i];
        } else if (a.starts_with("-")) {
            return permanent_error("unknown option " + a);
        } else {
            out.files.push_back(a);
        }
    }
    return out;
}

Result<std::string> read_whole_file(const std::string &path) {
    std::ifstream in(path, std::ios::binary);
    if (!in)
        return permanent_error("cannot read " + path + ": " + std::strerror(errno));
    std::ostringstream buf;
    buf << in.rdbuf();
    if (in.bad())
        return permanent_error("cannot read " + path + ": " + std::strerror(errno));
    return buf.str();
}

void report_import_errors(const std::string &file, std::vector<ImportError> errors, bool dry_run) {
    std::stable_sort(errors.begin(), errors.end(),
                     [](const ImportError &a, const ImportError &b) { return a.line < b.line; });
    if (!dry_run) {
        std::cerr << errors.front().to_string(file) << "\n"
                  << file << ": nothing of this file was written\n";
        return;
    }
    for (const auto &e : errors)
        std::cerr << e.to_string(file) << "\n";
    std::cerr << file << ": " << errors.size() << " error(s)\n";
}

} // namespace imapmig::cli
