#include "services/suite/loader.hpp"

#include "io/csv.hpp"
#include "io/paths.hpp"
#include "pure/error.hpp"
#include "pure/openssl.hpp"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <unordered_map>

namespace harness::suite {
namespace {

constexpr std::size_t column_count = std::size(suite_columns);

// Row::cells holds the cells in suite_columns order: each column's index, once, at compile time.
consteval std::size_t column(std::string_view name) {
    for (std::size_t i = 0; i < column_count; ++i)
        if (suite_columns[i] == name)
            return i;
    throw "not a suite column";
}
constexpr std::size_t c_id = column("id"), c_group = column("group"),
                      c_title_en = column("title_en"), c_title_ja = column("title_ja"),
                      c_action = column("action"), c_args = column("args"),
                      c_expect_sw = column("expect_sw"), c_expect_data = column("expect_data"),
                      c_requires = column("requires"), c_on_fail = column("on_fail"),
                      c_timeout_ms = column("timeout_ms");

bool is_blank(char c) {
    return c == ' ' || c == '\t';
}

bool valid_id(std::string_view id) {
    if (id.empty() || id.front() == '.' || id.back() == '.' ||
        id.find("..") != std::string_view::npos)
        return false;
    return std::all_of(id.begin(), id.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
    });
}

bool has_non_ascii(std::string_view text) {
    return std::any_of(text.begin(), text.end(),
                       [](char c) { return static_cast<unsigned char>(c) >= 0x80; });
}

class Checker {
public:
    Checker(std::string_view text, std::string file, std::string id)
        : text_(text), file_(std::move(file)) {
        result_suite_.suite.id = std::move(id);
        result_suite_.suite.path = file_;
        result_suite_.suite.content_hash = openssl::sha256_hex(text);
    }

    CheckResult run() {
        CheckResult result;
        // io::csv reports the file's shape (header, cell counts, quotes, BOM); the cells are ours.
        auto parsed = io::csv::parse(text_, file_, suite_columns,
                                     {.what = "suite file", .extra_columns = true});
        for (auto& problem : parsed.problems)
            errors_.push_back({std::move(problem.where), std::move(problem.message)});
        result_suite_.suite.steps.reserve(parsed.table.rows().size());
        result_suite_.plan.reserve(parsed.table.rows().size());
        ids_.reserve(parsed.table.rows().size());
        for (auto& r : parsed.table.rows())
            row(parsed.table, r);
        std::stable_sort(errors_.begin(), errors_.end(),
                         [](const LoadError& a, const LoadError& b) {
                             return std::tie(a.location.line, a.location.column) <
                                    std::tie(b.location.line, b.location.column);
                         });
        result.errors = std::move(errors_);
        if (result.errors.empty())
            result.suite = std::move(result_suite_);
        return result;
    }

private:
    void error(std::size_t line, std::size_t column, std::string message) {
        errors_.push_back({{file_, line, column}, std::move(message)});
    }

    void row(const io::csv::Table& table, io::csv::Row& csv_row) {
        const std::size_t line_no = csv_row.line;
        model::SuiteStep step;
        auto& cells = csv_row.cells; // in suite_columns order; the values move into the step
        const auto col = [&](std::size_t column, std::size_t offset = 0) {
            return table.where(csv_row, column, offset).column;
        };
        const std::size_t errors_before = errors_.size();
        step.location = {file_, line_no, 1};

        step.id = std::move(cells[c_id]);
        step.group = std::move(cells[c_group]);
        step.title_en = std::move(cells[c_title_en]);
        step.title_ja = std::move(cells[c_title_ja]);
        step.action = std::move(cells[c_action]);
        step.args = std::move(cells[c_args]);
        step.expect_sw = std::move(cells[c_expect_sw]);
        step.expect_data = std::move(cells[c_expect_data]);

        for (const auto& [value, column] :
             {std::pair<const std::string&, std::size_t>{step.id, c_id},
              {step.group, c_group},
              {step.title_en, c_title_en},
              {step.title_ja, c_title_ja},
              {step.action, c_action}})
            if (value.empty())
                error(line_no, col(column),
                      "expected a value in column " + std::string(suite_columns[column]));
        if (!step.id.empty()) {
            if (!valid_id(step.id))
                error(line_no, col(c_id),
                      "expected a step id of a-z 0-9 _ - separated by dots (e.g. "
                      "jpki.cert.auth.read), found \"" +
                          step.id + "\"");
            else if (const auto [it, fresh] = ids_.emplace(step.id, line_no); !fresh)
                error(line_no, col(c_id),
                      "expected a unique step id, found \"" + step.id + "\" again (first on line " +
                          std::to_string(it->second) + ")");
        }
        if (!step.group.empty() && !valid_id(step.group))
            error(line_no, col(c_group),
                  "expected a group name of a-z 0-9 _ - and dots, found \"" + step.group + "\"");
        if (!step.title_ja.empty() && !has_non_ascii(step.title_ja))
            error(line_no, col(c_title_ja),
                  "expected a Japanese title in title_ja, found \"" + step.title_ja + "\"");

        const ActionSpec* spec = nullptr;
        if (!step.action.empty()) {
            spec = find_action(step.action);
            if (!spec) {
                std::string names;
                for (const auto& a : actions())
                    names += (names.empty() ? "" : ", ") + std::string(a.name);
                error(line_no, col(c_action),
                      "expected an action (" + names + "), found \"" + step.action + "\"");
            }
        }

        StepPlan plan;
        std::optional<Args> args;
        if (spec) {
            std::vector<ArgError> arg_errors;
            args = parse_args(step.action, step.args, &stored_, arg_errors);
            for (const auto& e : arg_errors)
                error(line_no, col(c_args, e.column - 1), e.message);
            if (!args)
                remember_store_of_bad_args(step.args);
        }

        // expect_sw: ISO 7816-4 §5.1.3 patterns (sw::Pattern), column inside the cell added.
        if (spec) {
            if (step.expect_sw.empty()) {
                plan.expect_sw = spec->default_expect_sw.empty()
                                     ? sw::Pattern::any()
                                     : sw::Pattern::parse_or_throw(spec->default_expect_sw);
            } else {
                sw::PatternError pattern_error;
                const auto pattern = sw::Pattern::parse(step.expect_sw, &pattern_error);
                if (!pattern)
                    error(line_no, col(c_expect_sw, pattern_error.column - 1),
                          pattern_error.message.rfind("expected", 0) == 0
                              ? pattern_error.message
                              : "expected a status-word pattern (9000, 63Cx, 6A82|6A86, any): " +
                                    pattern_error.message);
                else if (!spec->sends_apdu && !pattern->is_any())
                    error(line_no, col(c_expect_sw),
                          "expected an empty expect_sw (" + step.action +
                              " sends no APDU to judge), found \"" + step.expect_sw + "\"");
                else
                    plan.expect_sw = *pattern;
            }
        }

        ArgError data_error;
        if (auto data = parse_expect_data(step.expect_data, &data_error))
            plan.expect_data = std::move(*data);
        else
            error(line_no, col(c_expect_data, data_error.column - 1), data_error.message);

        // requires: tokens separated by spaces or ';'
        const std::string& requires_text = cells[c_requires];
        for (std::size_t i = 0; i < requires_text.size();) {
            if (requires_text[i] == ' ' || requires_text[i] == ';' || requires_text[i] == '\t') {
                ++i;
                continue;
            }
            std::size_t end = i;
            while (end < requires_text.size() && requires_text[end] != ' ' &&
                   requires_text[end] != ';' && requires_text[end] != '\t')
                ++end;
            const std::string token = requires_text.substr(i, end - i);
            if (!is_known_requirement(token)) {
                std::string tokens;
                for (const auto& r : requirements())
                    tokens += (tokens.empty() ? "" : ", ") + std::string(r.token);
                error(line_no, col(c_requires, i),
                      "expected a requires token (" + tokens + "), found \"" + token + "\"");
            } else {
                step.requirements.push_back(token);
            }
            i = end;
        }

        const std::string& on_fail = cells[c_on_fail];
        if (on_fail.empty() || on_fail == "continue")
            step.on_fail = model::OnFail::Continue;
        else if (on_fail == "stop")
            step.on_fail = model::OnFail::Stop;
        else if (on_fail == "skip_group")
            step.on_fail = model::OnFail::SkipGroup;
        else
            error(line_no, col(c_on_fail),
                  "expected on_fail stop, continue or skip_group, found \"" + on_fail + "\"");

        const std::string& timeout = cells[c_timeout_ms];
        if (!timeout.empty()) {
            const bool digits =
                timeout.size() <= 7 && std::all_of(timeout.begin(), timeout.end(),
                                                   [](char c) { return c >= '0' && c <= '9'; });
            const long value = digits ? std::strtol(timeout.c_str(), nullptr, 10) : 0;
            if (!digits || value < 1 || value > 3600000)
                error(line_no, col(c_timeout_ms),
                      "expected timeout_ms as a positive integer of milliseconds (1..3600000), "
                      "found \"" +
                          timeout + "\"");
            else
                step.timeout_ms = static_cast<int>(value);
        }

        if (args) {
            if (const auto name = stored_variable(*args))
                if (std::find(stored_.begin(), stored_.end(), *name) == stored_.end())
                    stored_.push_back(*name);
            plan.requirements = step.requirements;
            for (auto& token : implied_requirements(*args))
                plan.requirements.push_back(std::move(token));
            std::sort(plan.requirements.begin(), plan.requirements.end());
            plan.requirements.erase(std::unique(plan.requirements.begin(), plan.requirements.end()),
                                    plan.requirements.end());
            plan.args = std::move(*args);
        }
        if (errors_.size() == errors_before) {
            result_suite_.suite.steps.push_back(std::move(step));
            result_suite_.plan.push_back(std::move(plan));
        }
    }

    // A row whose args fail still names its store= variable: later rows may use it without
    // a second, consequential error.
    void remember_store_of_bad_args(std::string_view text) {
        for (std::size_t at = text.find("store="); at != std::string_view::npos;
             at = text.find("store=", at + 1)) {
            if (at > 0 && text[at - 1] != ';' && text[at - 1] != ' ')
                continue;
            auto end = text.find(';', at);
            std::string name(
                text.substr(at + 6, end == std::string_view::npos ? end : end - at - 6));
            while (!name.empty() && (name.back() == ' ' || name.back() == '\t'))
                name.pop_back();
            if (is_valid_variable_name(name) &&
                std::find(stored_.begin(), stored_.end(), name) == stored_.end())
                stored_.push_back(name);
        }
    }

    std::string_view text_;
    std::string file_;
    std::vector<LoadError> errors_;
    std::unordered_map<std::string, std::size_t> ids_; // step id -> its line
    std::vector<std::string> stored_;
    LoadedSuite result_suite_;
};

[[noreturn]] void throw_errors(const std::vector<LoadError>& errors) {
    std::string message;
    for (const auto& e : errors) {
        if (!message.empty())
            message += '\n';
        message += e.to_string();
    }
    throw ConfigError(message);
}

} // namespace

std::string LoadError::to_string() const {
    return io::csv::to_string(location) + ": " + message;
}

CheckResult check_suite_text(std::string_view text, const std::string& file_name,
                             const std::string& id) {
    return Checker(text, file_name, id).run();
}

CheckResult check_suite_file(const std::filesystem::path& file) {
    if (!std::filesystem::is_regular_file(file)) {
        CheckResult result;
        result.errors.push_back(
            {{file.string(), 1, 1}, "expected a readable suite file (not found)"});
        return result;
    }
    return check_suite_text(io::read_text_file(file, "suite file"), file.string(),
                            file.stem().string());
}

LoadedSuite load_suite_file(const std::filesystem::path& file) {
    auto result = check_suite_file(file);
    if (!result.errors.empty())
        throw_errors(result.errors);
    return std::move(*result.suite);
}

LoadedSuite load_suite_text(std::string_view text, const std::string& file_name,
                            const std::string& id) {
    auto result = check_suite_text(text, file_name, id);
    if (!result.errors.empty())
        throw_errors(result.errors);
    return std::move(*result.suite);
}

std::filesystem::path suites_dir() {
    return io::paths::profiles_dir() / "suites";
}

std::vector<std::filesystem::path> shipped_suite_files() {
    std::vector<std::filesystem::path> out;
    const auto dir = suites_dir();
    if (!std::filesystem::is_directory(dir))
        return out;
    for (const auto& entry : std::filesystem::directory_iterator(dir))
        if (entry.is_regular_file() && entry.path().extension() == ".csv")
            out.push_back(entry.path());
    std::sort(out.begin(), out.end(),
              [](const auto& a, const auto& b) { return a.stem().string() < b.stem().string(); });
    return out;
}

LoadedSuite load_shipped_suite(std::string_view id) {
    std::string known;
    for (const auto& file : shipped_suite_files()) {
        if (file.stem() == id)
            return load_suite_file(file);
        known += (known.empty() ? "" : ", ") + file.stem().string();
    }
    throw UsageError("no shipped suite \"" + std::string(id) + "\" in " + suites_dir().string() +
                     " (known: " + known + ")");
}

std::string csv_cell(std::string_view text) {
    const bool quote =
        text.find_first_of(",\"") != std::string_view::npos ||
        (!text.empty() && (is_blank(text.front()) || is_blank(text.back()) || text.front() == '#'));
    if (!quote)
        return std::string(text);
    std::string out = "\"";
    for (char c : text) {
        out.push_back(c);
        if (c == '"')
            out.push_back('"');
    }
    out.push_back('"');
    return out;
}

std::string to_csv(const model::Suite& suite) {
    std::string out;
    for (std::size_t i = 0; i < column_count; ++i)
        out += (i ? "," : "") + std::string(suite_columns[i]);
    out += '\n';
    for (const auto& step : suite.steps) {
        std::string requires_text;
        for (const auto& token : step.requirements)
            requires_text += (requires_text.empty() ? "" : " ") + token;
        const std::array<std::string, column_count> cells = {
            step.id,
            step.group,
            step.title_en,
            step.title_ja,
            step.action,
            step.args,
            step.expect_sw,
            step.expect_data,
            requires_text,
            model::to_string(step.on_fail),
            step.timeout_ms ? std::to_string(*step.timeout_ms) : std::string()};
        for (std::size_t i = 0; i < column_count; ++i)
            out += (i ? "," : "") + csv_cell(cells[i]);
        out += '\n';
    }
    return out;
}

} // namespace harness::suite
