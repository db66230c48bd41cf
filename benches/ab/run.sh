#!/usr/bin/env bash
# Old/new SGEMM comparison, the method behind BENCHMARKS.md's "swapped old/new" effects.
#
#   benches/ab/run.sh OLD NEW SHAPE...      e.g. benches/ab/run.sh HEAD~1 WT 1024x1024x1024 100x784x100-tB
#
# OLD and NEW are git revisions, or WT for the working tree. Each is exported (core and
# kernels only) into target/ab/slot{a,b} under the package names descent-kernels-{a,b}, and
# benches/ab/harness runs both in one process, alternating batch by batch. The whole run is
# done twice with the two versions' places swapped (a binary's layout alone can favour one
# slot by several percent), and the effect printed is sqrt(r1 / r2), r1 = new/old with new in
# slot b, r2 = old/new with old in slot b: the slot bias cancels. Environment: BATCHES
# (default 101) and RAYON_NUM_THREADS pass through to the harness.
set -euo pipefail
if [ $# -lt 3 ]; then
  echo "usage: $0 OLD NEW SHAPE... (OLD, NEW: git revisions or WT for the working tree)" >&2
  exit 2
fi
OLD=$1 NEW=$2
shift 2
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
AB="$ROOT/target/ab"
mkdir -p "$AB"

# slot NAME REV: export REV's core and kernels to target/ab/slotNAME as descent-*-NAME.
slot() {
  local name=$1 rev=$2 dir="$AB/slot$1"
  rm -rf "$dir"
  mkdir -p "$dir"
  if [ "$rev" = WT ]; then
    cp -r "$ROOT/Cargo.toml" "$ROOT/core" "$ROOT/kernels" "$dir/"
  else
    git -C "$ROOT" archive "$rev" Cargo.toml core kernels | tar -x -C "$dir"
  fi
  rm -rf "$dir/core/embedded" "$dir/core/target" "$dir/kernels/target"
  SLOT=$name DIR=$dir python3 - <<'PY'
import os, re
slot, d = os.environ["SLOT"], os.environ["DIR"]
p = os.path.join(d, "Cargo.toml")
s = open(p).read()
s = re.sub(r'members = \[[^\]]*\]', 'members = ["core", "kernels"]', s)
s = re.sub(r'exclude = \[[^\]]*\]\n', '', s)
s = s.replace('descent-core = { path = "core", default-features = false }',
              'descent-core = { path = "core", default-features = false, package = "descent-core-%s" }' % slot)
s = re.sub(r'\ndescent-kernels = .*', '', s)
s = re.sub(r'\ndescent-trainer = .*', '', s)
s = re.sub(r'\[profile[^\[]*', '', s)
open(p, "w").write(s)
for f, name in [("core/Cargo.toml", "descent-core"), ("kernels/Cargo.toml", "descent-kernels")]:
    p = os.path.join(d, f)
    s = open(p).read()
    if 'name = "%s"' % name not in s:
        raise SystemExit("%s: no package named %s" % (p, name))
    open(p, "w").write(s.replace('name = "%s"' % name, 'name = "%s-%s"' % (name, slot), 1))
PY
  # Fresh mtimes: cargo must rebuild a slot whose contents changed.
  find "$dir" -type f -exec touch {} +
}

run() {
  slot a "$1"
  slot b "$2"
  cargo build --release -q --manifest-path "$ROOT/benches/ab/harness/Cargo.toml" \
    --target-dir "$AB/build"
  "$AB/build/release/descent-ab-harness" "${@:3}"
}

run "$OLD" "$NEW" "$@" > "$AB/run1.txt"
run "$NEW" "$OLD" "$@" > "$AB/run2.txt"
python3 - "$AB/run1.txt" "$AB/run2.txt" <<'PY'
import math, sys
r1 = [l.split() for l in open(sys.argv[1]) if l.strip()]
r2 = [l.split() for l in open(sys.argv[2]) if l.strip()]
print("%-18s %15s %15s %7s %7s %7s" % ("shape", "old GFLOP/s", "new GFLOP/s", "r1", "r2", "effect"))
for x, y in zip(r1, r2):
    # run 1: a = old, b = new; run 2: a = new, b = old.
    old1, new1, new2, old2 = float(x[2]), float(x[4]), float(y[2]), float(y[4])
    q1, q2 = new1 / old1, old2 / new2
    print("%-18s %7.1f/%7.1f %7.1f/%7.1f %7.3f %7.3f %7.3f"
          % (x[0], old1, old2, new1, new2, q1, 1 / q2, math.sqrt(q1 / q2)))
PY
