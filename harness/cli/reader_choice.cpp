#include "cli/reader_choice.hpp"

#include "pure/error.hpp"

#include <algorithm>
#include <fmt/format.h>

namespace harness::cli {

std::vector<std::string> listed_readers(const pcsc::Context& context, const std::string& only) {
    std::vector<std::string> readers = context.list_readers();
    if (readers.empty())
        throw EnvironmentError("no PC/SC readers found: plug a reader in (pcscd lists none)");
    if (only.empty())
        return readers;
    if (std::ranges::find(readers, only) == readers.end())
        throw UsageError(
            fmt::format("unknown reader \"{}\"; available readers:{}", only, reader_list(readers)));
    return {only};
}

std::string reader_list(const std::vector<std::string>& readers) {
    std::string out;
    for (const auto& r : readers)
        out += fmt::format("\n  {}", r);
    return out;
}

} // namespace harness::cli
