#!/usr/bin/env bash
# Coverage-guided fuzzing (libFuzzer, with AddressSanitizer) of every parser of untrusted input:
#   bash scripts/fuzz.sh [SECONDS per target, default 60] [TARGET...]
# Targets: synapse (request body JSON + body hash), headers, http (NIO's HTTP/1 parser with the
# worker's limits), ss58, signature, config, matrix, sse, chain (runtime-API answers, metadata,
# AxonInfo and JSON-RPC messages from a node), request (the request path in order: headers,
# admission with a live nonce table, the request budget and deadlines, the body; the clock from the input),
# answer (the mock backend's answer to any last message: the arithmetic it reads in it), chat
# (one event of an OpenAI-compatible stream), chunk (the same event through the fast scanner and
# through Foundation: the same chunk wherever the scanner answers), metrics (a model server's
# Prometheus /metrics).
# Seeds come from Fuzz/corpus/TARGET; what libFuzzer learns goes to .build-fuzz/corpus/TARGET.
# A finding is saved under Fuzz/findings/ and fails the run: fix it, then move the input into
# Fuzz/corpus/TARGET so the plain build's replay (`miners-fuzz TARGET Fuzz/corpus/TARGET`, run by
# .ci/run) keeps it as a regression test.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(synapse headers http ss58 signature config matrix sse chain request answer chat chunk metrics)

# lld: gold fails on this binary's debug info (an internal error in its DWARF reader).
echo "== building miners-fuzz with -sanitize=fuzzer,address (in .build-fuzz)"
swift build -c release --product miners-fuzz --scratch-path .build-fuzz \
  -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING -Xswiftc -use-ld=lld 2>&1 | grep -Ev "warning: Cannot export local symbol" | tail -3
binary=.build-fuzz/release/miners-fuzz
mkdir -p Fuzz/findings
failed=0
for target in "${targets[@]}"; do
  mkdir -p ".build-fuzz/corpus/$target"
  log=".build-fuzz/fuzz-$target.log"
  status=0
  MINERS_FUZZ_TARGET="$target" SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=detect_leaks=0 \
    "$binary" -max_total_time="$seconds" -print_final_stats=1 -artifact_prefix="Fuzz/findings/$target-" \
    ".build-fuzz/corpus/$target" "Fuzz/corpus/$target" > "$log" 2>&1 || status=$?
  runs=$(grep -Eo "stat::number_of_executed_units: *[0-9]+" "$log" | grep -Eo "[0-9]+$" || echo "?")
  cov=$(grep -Eo "cov: [0-9]+" "$log" | tail -1 || true)
  if [ "$status" -ne 0 ]; then
    failed=1
    echo "FAIL $target: a finding after $runs executions (see $log and Fuzz/findings/)"
    grep -E "ERROR|Fatal error|panic|deadly signal" "$log" | head -5 || true
  else
    echo "ok   $target: $runs executions in ${seconds}s, $cov, corpus $(ls ".build-fuzz/corpus/$target" | wc -l) inputs, no crash"
  fi
done
exit $failed
