#!/usr/bin/env bash
# The Swift test suite under AddressSanitizer and ThreadSanitizer, each in its own build folder:
#   bash scripts/sanitizers.sh [address|thread ...]     (default: both; 10+ minutes each on 2 cores)
# Full output in .build-SANITIZER/sanitizer.log; reports in dependencies are suppressed by
# scripts/tsan-suppressions.txt (each with its reason). Fails on any other report or test failure.
set -uo pipefail
cd "$(dirname "$0")/.."
sanitizers=("$@")
[ ${#sanitizers[@]} -gt 0 ] || sanitizers=(address thread)
failed=0
for sanitizer in "${sanitizers[@]}"; do
  log=".build-$sanitizer/sanitizer.log"
  mkdir -p ".build-$sanitizer"
  echo "== swift test --sanitize=$sanitizer (log: $log)"
  SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=detect_leaks=0 \
    TSAN_OPTIONS="halt_on_error=0 suppressions=$PWD/scripts/tsan-suppressions.txt" \
    swift test --sanitize="$sanitizer" --scratch-path ".build-$sanitizer" > "$log" 2>&1
  status=$?
  reports=$(grep -c "^SUMMARY: \(Thread\|Address\)Sanitizer" "$log" || true)
  grep -E "^SUMMARY: |Test run with" "$log" | sort | uniq -c | head -20
  if [ "$status" -ne 0 ] || [ "$reports" -ne 0 ]; then failed=1; fi
done
exit $failed
