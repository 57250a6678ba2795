#pragma once
// What every stored run is named and dated by (`run`, `survey`): one place for both.
#include <string>

namespace harness::cli {

// The current UTC time as ISO 8601, e.g. "2026-12-02T08:30:46Z".
std::string now_iso();
// A random RFC 4122 version-4 UUID, lower-case ("f4a2f98b-b350-4595-81d5-bad4eff82f1b").
// Throws EnvironmentError when OpenSSL has no randomness.
std::string new_uuid();

} // namespace harness::cli
