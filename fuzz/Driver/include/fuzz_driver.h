// libFuzzer's entry point for programs that bring their own `main` (compiler-rt, LLVM 11 and later).
// SwiftPM names an executable's entry point itself, so the Swift harnesses start libFuzzer with this.
#ifndef FUZZ_DRIVER_H
#define FUZZ_DRIVER_H

#include <stddef.h>
#include <stdint.h>

/// Parses libFuzzer's flags from the command line and fuzzes `callback`; returns the exit status.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

#endif
