#pragma once
// umockdev's GLib C API (libumockdev-dev), included only by backends/umockdev/*.cpp. GObject
// macros cast C-style; those casts are GLib's, not ours.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wold-style-cast"
#pragma GCC diagnostic ignored "-Wconversion"
#pragma GCC diagnostic ignored "-Wsign-conversion"
#pragma GCC diagnostic ignored "-Wpedantic"
#include <umockdev.h>
#pragma GCC diagnostic pop
