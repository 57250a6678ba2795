#include "pure/atr.hpp"

#include <bitset>
#include <cctype>
#include <fmt/core.h>

namespace harness::atr {
namespace {

// One atom of the pattern language of smartcard_list.txt: a character set, possibly starred.
struct Atom {
    std::bitset<256> set;
    bool star = false;
};

unsigned char upper(char c) {
    return static_cast<unsigned char>(std::toupper(static_cast<unsigned char>(c)));
}

struct CompileError {
    std::size_t column = 0; // 1-based
    std::string expected;
};

std::vector<Atom> compile(std::string_view p, CompileError* error) {
    std::vector<Atom> atoms;
    auto fail = [&](std::size_t at, std::string expected) {
        if (error)
            *error = CompileError{at + 1, std::move(expected)};
        return std::vector<Atom>{};
    };
    std::size_t i = 0;
    while (i < p.size()) {
        const char c = p[i];
        Atom atom;
        if (c == '.') {
            atom.set.set();
            ++i;
        } else if (c == '[') {
            std::size_t j = i + 1;
            bool negate = false;
            if (j < p.size() && p[j] == '^') {
                negate = true;
                ++j;
            }
            const std::size_t first = j;
            while (j < p.size() && (p[j] != ']' || j == first)) {
                const unsigned char lo = upper(p[j]);
                if (j + 2 < p.size() && p[j + 1] == '-' && p[j + 2] != ']') {
                    const unsigned char hi = upper(p[j + 2]);
                    if (hi < lo)
                        return fail(j, "expected a range low-high in a character class");
                    for (unsigned v = lo; v <= hi; ++v)
                        atom.set.set(v);
                    j += 3;
                } else {
                    atom.set.set(lo);
                    ++j;
                }
            }
            if (j >= p.size())
                return fail(i, "expected ']' to close the character class");
            if (negate)
                atom.set.flip();
            i = j + 1;
        } else if (c == '*') {
            if (atoms.empty() || atoms.back().star)
                return fail(i, "expected a character or class before '*'");
            atoms.back().star = true;
            ++i;
            continue;
        } else if (std::string_view("()|+?{}\\^$").find(c) != std::string_view::npos) {
            return fail(
                i, fmt::format("expected hex digits, ' ', '.', '[...]' or '*', found '{}'", c));
        } else {
            atom.set.set(upper(c));
            ++i;
        }
        atoms.push_back(atom);
    }
    return atoms;
}

bool match_from(const std::vector<Atom>& atoms, std::size_t a, std::string_view text,
                std::size_t t) {
    while (a < atoms.size()) {
        const Atom& atom = atoms[a];
        if (atom.star) {
            for (std::size_t n = t;; ++n) {
                if (match_from(atoms, a + 1, text, n))
                    return true;
                if (n >= text.size() || !atom.set.test(upper(text[n])))
                    return false;
            }
        }
        if (t >= text.size() || !atom.set.test(upper(text[t])))
            return false;
        ++a;
        ++t;
    }
    return t == text.size();
}

std::string_view trim_right(std::string_view s) {
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
        s.remove_suffix(1);
    return s;
}

} // namespace

bool is_literal_pattern(std::string_view pattern) {
    for (char c : pattern)
        if (!std::isxdigit(static_cast<unsigned char>(c)) && c != ' ')
            return false;
    return !pattern.empty();
}

bool pattern_matches(std::string_view pattern, std::string_view text) {
    CompileError error;
    const auto atoms = compile(pattern, &error);
    if (atoms.empty())
        return pattern.empty() && text.empty();
    return match_from(atoms, 0, text, 0);
}

AtrList parse_list(std::string_view text) {
    AtrList list;
    enum class Block { None, Good, Bad } block = Block::None; // the last ATR line seen
    std::size_t line_no = 0;
    for (std::size_t start = 0; start < text.size();) {
        std::size_t end = text.find('\n', start);
        if (end == std::string_view::npos)
            end = text.size();
        const std::string_view line = trim_right(text.substr(start, end - start));
        start = end + 1;
        ++line_no;
        if (line.empty() || line.front() == '#')
            continue;
        if (line.front() == '\t' || line.front() == ' ') {
            std::string_view d = line;
            while (!d.empty() && (d.front() == '\t' || d.front() == ' '))
                d.remove_prefix(1);
            // A description after an empty line (the list has one) stays with the entry above.
            if (block == Block::Good)
                list.entries.back().descriptions.emplace_back(d);
            else if (block == Block::None)
                list.findings.push_back(Finding{
                    Severity::Warning,
                    "list_orphan_description",
                    fmt::format("{}:1: expected an ATR line before this description", line_no),
                    {}});
            continue;
        }
        CompileError error;
        if (compile(line, &error).empty()) {
            list.findings.push_back(
                Finding{Severity::Warning,
                        "list_bad_pattern",
                        fmt::format("{}:{}: {}", line_no, error.column, error.expected),
                        {}});
            block = Block::Bad; // its descriptions are dropped with it
            continue;
        }
        list.entries.push_back(ListEntry{std::string(line), line_no, {}});
        block = Block::Good;
    }
    return list;
}

std::vector<std::string> lookup(const AtrList& list, ByteView atr) {
    const std::string text = hex::format(atr);
    std::vector<std::string> names;
    for (const ListEntry& e : list.entries) {
        const bool hit = is_literal_pattern(e.pattern)
                             ? e.pattern.size() == text.size() && pattern_matches(e.pattern, text)
                             : pattern_matches(e.pattern, text);
        if (hit)
            names.insert(names.end(), e.descriptions.begin(), e.descriptions.end());
    }
    return names;
}

} // namespace harness::atr
