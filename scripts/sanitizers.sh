#!/usr/bin/env bash
# The Swift test suite under AddressSanitizer and ThreadSanitizer, each in its own build folder:
#   bash scripts/sanitizers.sh [address|thread ...]     (default: both; 10+ minutes each on 2 cores)
set -euo pipefail
cd "$(dirname "$0")/.."
sanitizers=("$@")
[ ${#sanitizers[@]} -gt 0 ] || sanitizers=(address thread)
for sanitizer in "${sanitizers[@]}"; do
  echo "== swift test --sanitize=$sanitizer"
  SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=detect_leaks=0 TSAN_OPTIONS=halt_on_error=1 \
    swift test --sanitize="$sanitizer" --scratch-path ".build-$sanitizer" 2>&1 \
    | grep -Ev "warning: Cannot export local symbol" | tail -15
done
