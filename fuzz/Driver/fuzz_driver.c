// Declarations only: LLVMFuzzerRunDriver comes from libFuzzer when linked with -sanitize=fuzzer.
#include "fuzz_driver.h"
