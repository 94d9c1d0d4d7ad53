#include "config/yaml_document.hpp"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/parser.h>

#include <optional>
#include <sstream>
#include <vector>

namespace imapmig {

namespace {

// Only where each document starts matters; the nodes themselves are built by YAML::Load.
class DocumentStarts : public YAML::EventHandler {
public:
    std::optional<YAML::Mark> last;
    void OnDocumentStart(const YAML::Mark &mark) override { last = mark; }
    void OnDocumentEnd() override {}
    void OnNull(const YAML::Mark &, YAML::anchor_t) override {}
    void OnAlias(const YAML::Mark &, YAML::anchor_t) override {}
    void OnScalar(const YAML::Mark &, const std::string &, YAML::anchor_t,
                  const std::string &) override {}
    void OnSequenceStart(const YAML::Mark &, const std::string &, YAML::anchor_t,
                         YAML::EmitterStyle::value) override {}
    void OnSequenceEnd() override {}
    void OnMapStart(const YAML::Mark &, const std::string &, YAML::anchor_t,
                    YAML::EmitterStyle::value) override {}
    void OnMapEnd() override {}
};

int line_of(const YAML::Mark &mark) {
    return mark.line >= 0 ? mark.line + 1 : 0;
}

} // namespace

std::variant<YAML::Node, YamlProblem> load_one_document(const std::string &text) {
    try {
        std::istringstream in(text);
        YAML::Parser parser(in);
        DocumentStarts starts;
        // Three documents at most: a stuck parser shows as two that start at the same place.
        std::vector<YAML::Mark> found;
        while (found.size() < 3 && parser.HandleNextDocument(starts)) {
            const YAML::Mark mark = starts.last.value_or(YAML::Mark());
            if (!found.empty() && found.back().pos == mark.pos)
                return YamlProblem{line_of(mark),
                                   "invalid YAML: a document may not start with ',' (column " +
                                       std::to_string(mark.column + 1) + ")"};
            found.push_back(mark);
        }
        if (found.empty())
            return YAML::Node();
        if (found.size() > 1)
            return YamlProblem{line_of(found[1]),
                               "expected one YAML document, found more (remove the `---` "
                               "separators)"};
        return YAML::Load(text);
    } catch (const YAML::Exception &e) {
        return YamlProblem{line_of(e.mark), "invalid YAML: " + e.msg};
    }
}

} // namespace imapmig
