// Internal to lib/: the key tables of imap-migration.yaml and the typed readers behind them.
// config.cpp reads the files; this part turns one parsed YAML document into Config values and
// diagnostics.
#pragma once

#include "config/config.hpp"

#include <yaml-cpp/yaml.h>

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace imapmig::config_schema {

// Diagnostics and cross-file declarations for one load_config call.
class Loader {
public:
    explicit Loader(std::vector<ConfigDiagnostic> &errors) : errors_(errors) {}

    void begin_file(std::string file) { file_ = std::move(file); }
    const std::string &file() const { return file_; }

    void error(int line, std::string key, std::string message);

    // Records the first declaration of a unique value (a provider name, an old domain). When the
    // value was declared before, returns where: "file:line (key)".
    std::optional<std::string> declare(const std::string &kind, const std::string &value, int line,
                                       const std::string &key);

private:
    std::vector<ConfigDiagnostic> &errors_;
    std::string file_;
    std::map<std::pair<std::string, std::string>, std::string> declared_;
};

// 1-based line of a node; 0 when yaml-cpp does not know it.
int line_of(const YAML::Node &node);

// The main file: every key. A null root (empty file) is read as an empty mapping.
void read_main_document(Loader &loader, const YAML::Node &root, Config &out);
// A file in imap-migration.d/: only `providers`, appended to out. An empty file declares nothing.
void read_dropin_document(Loader &loader, const YAML::Node &root, std::vector<ProviderConfig> &out);
// Checks across every file, once all are read: what each provider's sync engine can do safely,
// and what only dsync can do (keep_pop3_uidls).
void check_engine_tls(Loader &loader, const Config &config);

} // namespace imapmig::config_schema
