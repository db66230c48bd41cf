#!/usr/bin/env bash
# Fuzzing for descent: builds every cargo-fuzz target in fuzz/ and runs each for a bounded time.
#
#   FUZZ_SECONDS   seconds per target (default 30)
#   FUZZ_TIMEOUT   seconds one input may take before it counts as a hang (default 20)
#   FUZZ_TARGETS   space-separated subset of targets (default: all, from `cargo fuzz list`)
#   FUZZ_SEED      libFuzzer's -seed (default 1)
#
# Every run starts from an empty corpus with a fixed seed, so the inputs a run tries are a
# prefix of the same sequence on every machine: a local run with a larger FUZZ_SECONDS that
# passes covers what CI's shorter run will try (run it before pushing).
#
# Targets are built with debug assertions (`-a`): integer overflow is a crash too. Any crash,
# hang, out-of-memory or build failure fails the script; every target still runs so that the
# summary shows all of them. Reproduce a failure with the command printed next to it.
set -uo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never

SECONDS_PER_TARGET="${FUZZ_SECONDS:-30}"
SEED="${FUZZ_SEED:-1}"
TIMEOUT="${FUZZ_TIMEOUT:-20}"

step() { printf '\n=== %s ===\n' "$*"; }

step "fuzz toolchain"
if ! cargo +nightly --version >/dev/null 2>&1; then
    rustup toolchain install nightly --profile minimal || exit 1
fi
cargo +nightly --version
if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked || exit 1
fi
cargo fuzz --version

cd fuzz || exit 1

step "fuzz build (all targets, debug assertions)"
if ! cargo +nightly fuzz build -a; then
    echo "fuzz: build FAILED"
    exit 1
fi

if [ -n "${FUZZ_TARGETS:-}" ]; then
    read -r -a targets <<<"$FUZZ_TARGETS"
else
    mapfile -t targets < <(cargo +nightly fuzz list)
fi
if [ "${#targets[@]}" -eq 0 ]; then
    echo "fuzz: no targets found"
    exit 1
fi

logdir="$(mktemp -d)"
corpus_root="$(mktemp -d)"
summary=()
failed=0
for t in "${targets[@]}"; do
    step "fuzz $t (${SECONDS_PER_TARGET}s)"
    log="$logdir/$t.log"
    start=$(date +%s)
    # -max_total_time bounds the run; the outer timeout guards against a stuck process.
    mkdir -p "$corpus_root/$t"
    timeout --kill-after=30 $((SECONDS_PER_TARGET + TIMEOUT + 120)) \
        cargo +nightly fuzz run -a "$t" "$corpus_root/$t" -- \
        -seed="$SEED" \
        -max_total_time="$SECONDS_PER_TARGET" \
        -timeout="$TIMEOUT" \
        -rss_limit_mb=2048 \
        -malloc_limit_mb=2048 \
        -print_final_stats=1 >"$log" 2>&1
    rc=$?
    took=$(($(date +%s) - start))
    runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$log" | tail -n1)
    if [ "$rc" -eq 0 ]; then
        summary+=("fuzz $t: ok, ${runs:-?} runs in ${took}s")
    else
        failed=1
        artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n1)
        kind=$(grep -m1 -oE 'panicked at [^ ]+|ERROR: libFuzzer: [a-z -]+[0-9]*( seconds)?|ERROR: AddressSanitizer: [a-z-]+' "$log" || true)
        summary+=("fuzz $t: FAILED (exit $rc) ${kind:-see log} ${artifact:+artifact $artifact}")
        # The panic message and the input, readable.
        grep -m1 -A3 'panicked at' "$log" || tail -n 40 "$log"
        if [ -n "$artifact" ] && [ -f "$artifact" ]; then
            echo "--- input (cargo fuzz fmt) ---"
            cargo +nightly fuzz fmt -a "$t" "$artifact" 2>&1 | grep -vE '^ *(Finished|Compiling|Running)' | head -n 80
            echo "reproduce: (cd fuzz && cargo +nightly fuzz run -a $t $artifact)"
        fi
    fi
    tail -n1 <<<"${summary[-1]}"
done

step "fuzz summary"
printf '%s\n' "${summary[@]}"
rm -rf "$logdir" "$corpus_root"
exit "$failed"
