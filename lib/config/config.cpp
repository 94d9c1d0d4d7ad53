// Loading imap-migration.yaml and imap-migration.d/*.yaml: reading the files, YAML syntax errors,
// the drop-in directory. The keys themselves are in config_schema.cpp.
#include "config/config.hpp"

#include "config/config_files.hpp"
#include "config/config_schema.hpp"
#include "config/yaml_document.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <filesystem>

namespace imapmig {

namespace fs = std::filesystem;
using config_schema::Loader;

namespace {

// A config file is small: anything larger is a mistake (or /dev/zero behind a symlink).
constexpr size_t max_config_bytes = 4 * 1024 * 1024;

std::optional<std::string> read_whole_file(Loader &loader, const std::string &path) {
    auto text = read_regular_file(path, max_config_bytes);
    if (!text) {
        loader.error(0, "", "cannot read: " + text.error().message);
        return std::nullopt;
    }
    return std::move(text).value();
}

// The file's one YAML document (a null node for an empty file); nullopt after a diagnostic.
std::optional<YAML::Node> parse_file(Loader &loader, const std::string &path) {
    loader.begin_file(path);
    auto text = read_whole_file(loader, path);
    if (!text)
        return std::nullopt;
    auto document = load_one_document(*text);
    if (auto *problem = std::get_if<YamlProblem>(&document)) {
        loader.error(problem->line, "", problem->message);
        return std::nullopt;
    }
    return std::get<YAML::Node>(std::move(document));
}

// imap-migration.d/*.yaml beside the main file, sorted by name; none when the directory is absent.
std::vector<std::string> dropin_files(Loader &loader, const std::string &main_path) {
    const fs::path dir = fs::path(main_path).parent_path() / "imap-migration.d";
    std::error_code ec;
    if (!fs::exists(dir, ec))
        return {};
    loader.begin_file(dir.string());
    std::vector<std::string> files;
    fs::directory_iterator entries(dir, ec);
    if (ec) {
        loader.error(0, "", "cannot list the directory: " + ec.message());
        return {};
    }
    for (const auto &entry : entries) {
        const std::string name = entry.path().filename().string();
        if (entry.path().extension() == ".yaml" && name.front() != '.' && entry.is_regular_file(ec))
            files.push_back(entry.path().string());
    }
    std::sort(files.begin(), files.end());
    return files;
}

} // namespace

ConfigLoadResult load_config(const std::string &path) {
    ConfigLoadResult result;
    try {
        Loader loader(result.errors);
        Config config;
        config.path = path;
        if (auto root = parse_file(loader, path))
            config_schema::read_main_document(loader, *root, config);
        for (const auto &file : dropin_files(loader, path))
            if (auto root = parse_file(loader, file))
                config_schema::read_dropin_document(loader, *root, config.providers);
        config_schema::check_engine_tls(loader, config);
        if (result.errors.empty())
            result.config = std::move(config);
    } catch (const std::exception &e) {
        result.errors.push_back({path, 0, "", std::string("internal error: ") + e.what()});
        result.config.reset();
    }
    return result;
}

// Every part may come from the file (a key, a value quoted in the message, the file name):
// control characters are escaped so that printing a diagnostic cannot drive a terminal or
// forge a log line.
std::string ConfigDiagnostic::to_string() const {
    std::string out = file;
    if (line > 0)
        out += ":" + std::to_string(line);
    out += ": ";
    if (!key.empty())
        out += key + ": ";
    return escape_control(out + message);
}

Config::Route Config::route_for_old_domain(std::string_view domain) const {
    std::string wanted(domain);
    std::transform(wanted.begin(), wanted.end(), wanted.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    for (const auto &provider : providers)
        for (const auto &mapping : provider.domains)
            if (mapping.name == wanted)
                return {&provider, &mapping};
    return {};
}

std::string_view to_string(Cutover cutover) {
    return cutover == Cutover::proxy ? "proxy" : "immediate";
}

std::string_view to_string(TlsMode mode) {
    switch (mode) {
    case TlsMode::tls:
        return "tls";
    case TlsMode::starttls:
        return "starttls";
    case TlsMode::none:
        return "none";
    }
    return "unknown";
}

std::string_view to_string(SyncDirection direction) {
    switch (direction) {
    case SyncDirection::old_to_new:
        return "old-to-new";
    case SyncDirection::both:
        return "both";
    }
    return "unknown";
}

std::string_view to_string(SyncEngine engine) {
    switch (engine) {
    case SyncEngine::offlineimap:
        return "offlineimap";
    case SyncEngine::dsync:
        return "dsync";
    }
    return "unknown";
}

const ProviderConfig *Config::provider(std::string_view name) const {
    for (const auto &p : providers)
        if (p.name == name)
            return &p;
    return nullptr;
}

} // namespace imapmig
