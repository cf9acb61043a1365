// The warren binary. The broker itself is not built yet (issue 3): for now this prints
// the version and the protocol Warren speaks, and exits.

#include <cstdio>
#include <cstring>

#include "amqp/generated/constants.h"

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--version") != 0) {
      std::fprintf(stderr, "warren: unknown option %s (only --version exists yet)\n", argv[i]);
      return 2;
    }
  }
  std::printf("warren %s (AMQP 0-9-1 codec only; the broker is not built yet)\n", WARREN_VERSION);
  return 0;
}
