#!/usr/bin/env bash
# run.sh - Builds the libFuzzer targets and runs each for SECONDS; exits non-zero if any target crashes.
# Usage: tests/fuzz/run.sh SECONDS [BUILD_DIR]   (BUILD_DIR defaults to build-fuzz at the repo root)
# Each target starts from a temporary copy of tests/fuzz/seeds/<target>/; crash inputs are kept in
# BUILD_DIR/fuzz-artifacts/<target>/. Set FUZZ_JOBS=N to run N targets at a time (default 1).
set -euo pipefail

if [[ $# -lt 1 || ! $1 =~ ^[0-9]+$ ]]; then
    echo "usage: $0 SECONDS [BUILD_DIR]" >&2
    exit 2
fi
seconds=$1
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${2:-$root/build-fuzz}
jobs=${FUZZ_JOBS:-1}

# Largest input per target: packets are small; payloads need room for several packets.
max_len() {
    case $1 in
        fuzz_payload_*) echo 16384 ;;
        fuzz_jwt) echo 9216 ;;  # tokens up to the 8 KiB limit and a little past it
        fuzz_server) echo 8192 ;; # a few pipelined requests, an upgrade and some frames
        *) echo 4096 ;;
    esac
}

configure() {
    [[ -f $build/CMakeCache.txt ]] && return 0
    # OUTPOST_DEPS_PREFIX (tools/test sets it): the libraries from firmware/deps' prefix.
    CC=clang CXX=clang++ cmake -S "$root" -B "$build" -DOUTPOST_FUZZ=ON -DOUTPOST_TESTS=OFF \
        ${OUTPOST_DEPS_PREFIX:+-DOUTPOST_DEPS_PREFIX="$OUTPOST_DEPS_PREFIX"} \
        -DCMAKE_BUILD_TYPE=Debug \
        -DCMAKE_CXX_FLAGS="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all" \
        -DCMAKE_C_FLAGS="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all"
}

# Runs one target; prints a one-line summary; returns non-zero on a crash.
run_target() {
    local name=$1 corpus log status=0
    corpus=$(mktemp -d "${TMPDIR:-/tmp}/outpost-fuzz-$name.XXXXXX")
    log="$build/fuzz-logs/$name.log"
    mkdir -p "$build/fuzz-artifacts/$name" "$build/fuzz-logs"
    if [[ -d $here/seeds/$name ]]; then cp -r "$here/seeds/$name/." "$corpus/"; fi
    UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
        "$build/tests/fuzz/$name" "$corpus" -max_total_time="$seconds" -max_len="$(max_len "$name")" \
        -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$build/fuzz-artifacts/$name/" >"$log" 2>&1 || status=$?
    local execs cov
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 || echo "cov: ?")
    rm -rf "$corpus"
    if [[ $status -ne 0 ]]; then
        echo "FAIL $name (exit $status, $execs runs, $cov); log: $log" >&2
        grep -m5 -E 'ERROR|runtime error|Test unit written' "$log" >&2 || true
        return 1
    fi
    echo "ok   $name: $execs runs in ${seconds}s, $cov"
}

configure
mapfile -t targets < <(cd "$here" && ls fuzz_*.cpp | sed 's/\.cpp$//')
cmake --build "$build" --target "${targets[@]}" -j"$(nproc)"

failed=0
pids=()
for name in "${targets[@]}"; do
    run_target "$name" &
    pids+=($!)
    if (( ${#pids[@]} >= jobs )); then
        wait "${pids[0]}" || failed=1
        pids=("${pids[@]:1}")
    fi
done
for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
exit $failed
