// The cardharness executable: all logic lives in the library (tests link it, never this file).
#include "cli/app.hpp"

int main(int argc, char** argv) {
    return harness::cli::run(argc, argv);
}
