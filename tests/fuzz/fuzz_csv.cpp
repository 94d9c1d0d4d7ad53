// libFuzzer target for the CSV import's parser and planner (pure code: no database).
// The first byte picks the options; the rest is the file. Invariants are checked with abort().
#include "import/csv_import.hpp"
#include "import/csv_import_plan.hpp"
#include "import/csv_parser.hpp"

#include <cstdint>
#include <cstdlib>
#include <string_view>

using namespace imapmig;

namespace {

int physical_lines(std::string_view text) {
    int n = 1;
    for (char c : text)
        n += c == '\n';
    return n;
}

void check_lines(const ParsedImport &p, int max_line) {
    int last = 0;
    for (const auto &l : p.lines) {
        if (l.line <= last || l.line > max_line)
            std::abort();
        last = l.line;
    }
    for (const auto &e : p.errors)
        if (e.line < 1 || e.line > max_line || e.field.empty() || e.message.empty())
            std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0)
        return 0;
    static constexpr char seps[] = {';', ',', '\t', '|'};
    ImportOptions options{seps[data[0] & 3], (data[0] & 4) != 0};
    const std::string_view text(reinterpret_cast<const char *>(data + 1), size - 1);

    for (const auto &line : record_lines(text)) {
        CsvSplit split = split_csv_line(line.text, options.sepchar);
        if (!split.ok && split.bad_field != split.fields.size())
            std::abort();
    }
    ParsedImport parsed = parse_import(text, options);
    check_lines(parsed, physical_lines(text));
    for (const auto &l : parsed.lines)
        if (record_type_name(l.record).empty())
            std::abort();
    ImportCatalog catalog;
    ImportPlan plan = plan_import(parsed, catalog, (data[0] & 8) != 0);
    if (plan.steps.size() + plan.errors.size() != parsed.lines.size())
        std::abort();
    return 0;
}
