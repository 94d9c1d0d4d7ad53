// The one YAML document of a config file, parsed with a bound on the number of documents.
// yaml-cpp 0.7 (Debian 12) never consumes a ',' that starts a document: YAML::LoadAll then
// collects empty documents until memory runs out (found by fuzz-config). Counting documents
// ourselves, and refusing a document that starts where the previous one did, keeps a typo from
// hanging the auth process or the worker.
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>
#include <variant>

namespace imapmig {

struct YamlProblem {
    int line = 0; // 1-based; 0 when yaml-cpp gave no position
    std::string message;
};

// The file's document (a null node for an empty text), or what is wrong with the text.
std::variant<YAML::Node, YamlProblem> load_one_document(const std::string &text);

} // namespace imapmig
