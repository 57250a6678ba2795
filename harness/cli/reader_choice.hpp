#pragma once
// The PC/SC readers a command works on (`run`, `identify`): every reader pcscd lists, or the one
// --reader names.
#include "backends/pcsc/context.hpp"

#include <string>
#include <vector>

namespace harness::cli {

// Every reader pcscd lists, or only `only` when it is not empty. Throws EnvironmentError (exit 3)
// when pcscd lists none, UsageError (exit 2, with the readers there are) for an unknown `only`.
std::vector<std::string> listed_readers(const pcsc::Context& context, const std::string& only);

// "\n  <reader>" for each reader: the list a usage error shows.
std::string reader_list(const std::vector<std::string>& readers);

} // namespace harness::cli
