// warren-perf: a load generator for AMQP 0-9-1 brokers with RabbitMQ PerfTest's flags.
// Wiring only: parse the flags, run, print the summary, exit with the verdict.

#include <atomic>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <string>

#include "bench/perf/options.h"
#include "bench/perf/perf_run.h"

namespace {

// Set by SIGINT/SIGTERM: stop publishing, drain and report. A second signal exits at once.
std::atomic<bool> interrupted{false};

void OnSignal(int) {
  if (interrupted.exchange(true)) std::_Exit(130);
}

}  // namespace

int main(int argc, char** argv) {
  warren::perf::Options options;
  const warren::amqp::Status parsed = warren::perf::ParseOptions(argc, argv, &options);
  if (!parsed.ok()) {
    std::fprintf(stderr, "warren-perf: %s\n\n%s", parsed.text().c_str(), warren::perf::UsageText());
    return 2;
  }
  if (options.help) {
    std::fputs(warren::perf::UsageText(), stdout);
    return 0;
  }
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  std::signal(SIGPIPE, SIG_IGN);

  const warren::perf::Result result = warren::perf::RunPerf(options, &std::cerr, &interrupted);
  for (const std::string& warning : result.warnings) {
    std::fprintf(stderr, "warren-perf: warning: %s\n", warning.c_str());
  }
  for (const std::string& error : result.errors) {
    std::fprintf(stderr, "warren-perf: error: %s\n", error.c_str());
  }
  if (result.lost > 0 || result.corrupt > 0 || result.misrouted > 0) {
    std::fprintf(stderr, "warren-perf: FAILED: lost=%llu corrupt=%llu misrouted=%llu\n",
                 static_cast<unsigned long long>(result.lost),
                 static_cast<unsigned long long>(result.corrupt),
                 static_cast<unsigned long long>(result.misrouted));
  }
  const std::string summary = warren::perf::FormatSummary(result, options.json);
  std::fputs(summary.c_str(), stdout);
  return result.ok() ? 0 : 1;
}
