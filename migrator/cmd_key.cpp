#include "cli.hpp"

#include "crypto/secrets.hpp"

#include <yaml-cpp/yaml.h>

#include <iostream>

namespace imapmig::cli {

namespace {

// The key file does not exist yet, so the full config check (which opens it) would fail:
// read just this one key.
std::optional<std::string> configured_key_path(const std::string &config_path) {
    try {
        YAML::Node root = YAML::LoadFile(config_path);
        if (root["secret_key_file"])
            return root["secret_key_file"].as<std::string>();
        return Config{}.secret_key_file;
    } catch (const std::exception &e) {
        fail(config_path + ": " + e.what());
        return std::nullopt;
    }
}

} // namespace

int cmd_key_generate(Context &ctx) {
    bool group_readable = false;
    std::string path;
    for (const auto &a : ctx.args) {
        if (a == "--group-readable")
            group_readable = true;
        else if (a.starts_with("-"))
            return usage_error("key generate: unknown option " + a);
        else if (!path.empty())
            return usage_error("key generate takes one FILE");
        else
            path = a;
    }
    if (path.empty()) {
        auto configured = configured_key_path(ctx.config_path);
        if (!configured)
            return exit_error;
        path = *configured;
    }
    if (auto r = generate_key_file(path, group_readable); !r)
        return fail(r.error().message);
    auto key = load_key_file(path);
    if (!key)
        return fail(key.error().message);
    std::cout << "created " << path << " (key id " << key.value().id << ", mode "
              << (group_readable ? "0640" : "0600") << ")\n";
    return exit_ok;
}

} // namespace imapmig::cli
