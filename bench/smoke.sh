#!/usr/bin/env bash
# Smoke test: runs warren-perf for a couple of seconds against a freshly started Warren
# and fails unless it exits 0 (nothing lost, nothing corrupt, no protocol error).
#   bench/smoke.sh WARREN WARREN_PERF [warren-perf flags...]   (default flags: -z 2)
set -euo pipefail

warren="${1:?usage: smoke.sh WARREN WARREN_PERF [flags...]}"
perf="${2:?usage: smoke.sh WARREN WARREN_PERF [flags...]}"
shift 2
flags=("$@")
[[ ${#flags[@]} -gt 0 ]] || flags=(-z 2)

dir="$(mktemp -d)"
warren_pid=""
cleanup() {
  if [[ -n "$warren_pid" ]]; then
    kill -TERM "$warren_pid" 2>/dev/null || true
    wait "$warren_pid" 2>/dev/null || true
  fi
  rm -rf "$dir"
}
trap cleanup EXIT

"$warren" --amqp-port 0 --management-port 0 --bind 127.0.0.1 --data-dir "$dir/data" \
  >"$dir/warren.log" 2>&1 &
warren_pid=$!

# Warren logs "... started: amqp port N, ..." once it listens.
port=""
for _ in $(seq 100); do
  port="$(grep -o 'amqp port [0-9]*' "$dir/warren.log" | grep -o '[0-9]*$' || true)"
  [[ -n "$port" ]] && break
  if ! kill -0 "$warren_pid" 2>/dev/null; then
    echo "smoke.sh: warren exited early:" >&2
    cat "$dir/warren.log" >&2
    exit 1
  fi
  sleep 0.1
done
if [[ -z "$port" ]]; then
  echo "smoke.sh: warren did not report its port:" >&2
  cat "$dir/warren.log" >&2
  exit 1
fi

status=0
"$perf" -h "amqp://guest:guest@127.0.0.1:$port/%2F" "${flags[@]}" || status=$?
if [[ $status -ne 0 ]]; then
  echo "smoke.sh: warren-perf exited with $status; broker log:" >&2
  tail -n 50 "$dir/warren.log" >&2
fi
exit $status
