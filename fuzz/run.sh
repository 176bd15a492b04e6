#!/usr/bin/env bash
# Runs every fuzz target for SECONDS (default 300) each, one after another, and exits non-zero if
# any target failed: a panic, one input running over 2 s, running out of memory, or a build error.
# (The fuzzer's inputs are at most a few KB; the CPU bound per MB of body is infra/inputs.sh's.)
#
#   fuzz/run.sh [SECONDS]
#
# Inputs are read from corpus/<target>/ (the committed seeds) and regressions/<target>/ (inputs that
# once made a target fail); what the fuzzer finds is written to target/corpus/<target>/, which git
# ignores, so the seed directories never change. A crashing input lands in artifacts/<target>/
# (also ignored). See README.md.
set -euo pipefail

seconds="${1:-300}"
cd "$(dirname "$0")"

if ! command -v cargo-fuzz >/dev/null; then
    echo "cargo-fuzz is not installed: cargo install cargo-fuzz" >&2
    exit 2
fi
# cargo-fuzz passes nightly-only flags (-Zsanitizer, -Cpasses=sancov-module); this lets the stable
# toolchain accept them.
export RUSTC_BOOTSTRAP=1

cargo fuzz build
mkdir -p target/logs
failed=()
for t in $(cargo fuzz list); do
    dirs=("target/corpus/$t" "corpus/$t")
    if [ -n "$(ls -A "regressions/$t" 2>/dev/null)" ]; then
        dirs+=("regressions/$t")
    fi
    echo "== $t: ${seconds}s (log: fuzz/target/logs/$t.log)"
    if cargo fuzz run "$t" "${dirs[@]}" -- -max_total_time="$seconds" -timeout=2 \
        -create_missing_dirs=1 -dict=scim.dict -print_final_stats=1 >"target/logs/$t.log" 2>&1; then
        grep -E '^Done [0-9]+ runs' "target/logs/$t.log" || true
    else
        failed+=("$t")
        grep -E -A6 'panicked at' "target/logs/$t.log" | head -20 || true
        grep -E 'ERROR: libFuzzer|^error' "target/logs/$t.log" | head -5 || true
        echo "!! $t failed: see fuzz/target/logs/$t.log; a crashing input is in fuzz/artifacts/$t/"
    fi
done

if [ ${#failed[@]} -gt 0 ]; then
    echo "failed: ${failed[*]}" >&2
    exit 1
fi
echo "no crash in: $(cargo fuzz list | tr '\n' ' ')"
