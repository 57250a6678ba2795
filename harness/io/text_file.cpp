#include "io/text_file.hpp"

#include "pure/error.hpp"

#include <fmt/core.h>
#include <fstream>

namespace harness::io {

std::string read_text_file(const std::filesystem::path& file, std::string_view what,
                           std::size_t max_bytes) {
    const auto fail = [&](std::string_view why) {
        return ConfigError(
            fmt::format("{}:1:1: expected a readable {} ({})", file.string(), what, why));
    };
    std::error_code ec;
    const auto status = std::filesystem::status(file, ec);
    if (ec || !std::filesystem::exists(status))
        throw fail("not found");
    if (std::filesystem::is_directory(status))
        throw fail("it is a folder");
    std::ifstream in(file, std::ios::binary);
    if (!in)
        throw fail("cannot open it");
    std::string text;
    char buffer[65536];
    while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
        text.append(buffer, static_cast<std::size_t>(in.gcount()));
        if (text.size() > max_bytes)
            throw fail(fmt::format("larger than {} bytes", max_bytes));
    }
    if (in.bad())
        throw fail("a read error");
    return text;
}

} // namespace harness::io
