#pragma once
// Errors: harness::Error is recoverable (recorded as a step outcome); UsageError and ConfigError
// are fatal and map to exit code 2; EnvironmentError (no pcscd, no readers) maps to exit code 3.
#include <stdexcept>
#include <string>

namespace harness {

class Error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Bad command-line usage or bad data/config files: exit code 2.
class UsageError : public Error {
public:
    using Error::Error;
};

// A data file that does not parse: message already carries "file:line:column: expected ...".
class ConfigError : public UsageError {
public:
    using UsageError::UsageError;
};

// The environment cannot do what was asked (no pcscd, no readers, no root): exit code 3.
class EnvironmentError : public Error {
public:
    using Error::Error;
};

namespace exit_code {
inline constexpr int ok = 0;
inline constexpr int failure = 1;
inline constexpr int usage = 2;
inline constexpr int environment = 3;
} // namespace exit_code

} // namespace harness
