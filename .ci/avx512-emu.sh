#!/usr/bin/env bash
# Runs descent-kernels' tests and the trainer's main job on an emulated AVX-512 CPU, for hosts
# without one.
#
# Bochs (Debian's package, built with EVEX support) emulates a Skylake-X core (AVX-512 F, CD,
# BW, DQ, VL); a Debian cloud kernel boots from a small ISO image (isolinux) into an initramfs
# whose /init (busybox) runs each command and reports on the serial port, which Bochs writes to
# a file. With `DESCENT_TEST_ISAS=avx512` the SGEMM tests run the AVX-512 microkernels, packing
# widths and block sizes only (the other families are tested natively) and fail if the guest
# lacks AVX-512; the public entry points, the fused loops and the trainer dispatch to AVX-512
# by themselves (the `isa_required` test checks the fused loops' level).
#
# Bochs 2.7's Skylake-X model reports a wrong compacted XSAVE size (CPUID 0xD.1 EBX), and
# Linux then turns XSAVE, and with it AVX, off; `clearcpuid=xsavec,xsaves` (bits 321 and 323)
# keeps the kernel on the standard XSAVE format, which the model describes correctly.
#
# Usage: bash .ci/avx512-emu.sh   (every test binary of descent-kernels, one test at a time,
#   then the trainer's main job, which must reach 93% test accuracy)
# Environment: EMU_REPO (the workspace; default: this script's parent folder), EMU_DIR (work
#   folder, default target/avx512-emu), EMU_TIMEOUT (seconds for the emulator, default 3000),
#   EMU_SKIP (test names to skip, space-separated; default below),
#   EMU_TESTS (command lines to run instead of the default list: /tests/NAME ARGS... for a test
#   binary, descent ARGS... for the trainer).
set -euo pipefail
cd "${EMU_REPO:-$(dirname "$0")/..}"
root_dir=$(pwd)
work="${EMU_DIR:-target/avx512-emu}"
timeout_s="${EMU_TIMEOUT:-3000}"
# Emulated instructions per emulated second (with clock sync off, the guest's clock follows
# the instruction count): about Bochs's real speed here, so the guest's timed waits and the
# time-bounded FMA-peak probe in the kernels' unit tests take about as long as they say.
ips="${EMU_IPS:-20000000}"
# Tests left out by default: the first spends its time on scalar reference products (billions
# of multiply-adds, slow to emulate) over scheduling that is the same on every ISA, and the
# AVX-512 parallel paths still run in the other large and concurrent tests; the others check
# exp/tanh/sigmoid on tens of millions of f32 values each, calling the functions directly
# (compiled for the baseline, the same code on every host), while the AVX-512 builds of those
# functions run in the ops tests against `Reference`. `fused_muon_matches_core` (both Muon
# tests) spends its time on descent-core's scalar Newton–Schulz products (billions of
# multiply-adds); Muon's fast path is SGEMM, whose AVX-512 kernels the SGEMM tests cover.
skip="${EMU_SKIP-large_products_sharing_a_packed_b_over_a_pool exp_power_of_two_field tanh_is_within sigmoid_is_within fused_muon_matches_core}"
mkdir -p "$work"
work=$(cd "$work" && pwd)

say() { printf '[avx512-emu] %s\n' "$*"; }

if [ "$(uname -m)" != x86_64 ]; then
  say "skipped: the emulator and the guest kernel are set up for x86-64 hosts"
  exit 0
fi

# --- host packages -------------------------------------------------------------------------
pkgs="bochs bochsbios vgabios busybox-static isolinux syslinux-common xorriso"
missing=""
for p in $pkgs; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$missing" ]; then
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  say "installing:$missing"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
fi

# --- guest kernel (extracted from the newest cloud image package, not installed) ------------
if [ ! -f "$work/vmlinuz" ]; then
  kpkg=$(apt-cache search --names-only '^linux-image-[0-9.]+-[0-9]+-cloud-amd64$' |
    awk '{print $1}' | sort -V | tail -n 1)
  [ -n "$kpkg" ] || { say "no linux-image-*-cloud-amd64 package found"; exit 1; }
  say "guest kernel: $kpkg"
  rm -rf "$work/kpkg" && mkdir -p "$work/kpkg"
  (cd "$work/kpkg" && apt-get download -qq "$kpkg" && dpkg-deb -x ./*.deb x)
  cp "$work"/kpkg/x/boot/vmlinuz-* "$work/vmlinuz"
  rm -rf "$work/kpkg"
fi

# --- statically linked test binaries (release, with debug assertions and overflow checks) ---
say "building the kernels' tests"
host=x86_64-unknown-linux-gnu
if ! RUSTFLAGS="-C target-feature=+crt-static -C debug-assertions=on -C overflow-checks=on" \
  cargo test --release -p descent-kernels --target "$host" --target-dir "$work/build" \
  --no-run --message-format=json 2>"$work/build.log" >"$work/build.json"; then
  cat "$work/build.log"
  exit 1
fi
python3 - "$work/build.json" >"$work/tests.txt" <<'EOF'
import json, sys
for line in open(sys.argv[1]):
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["profile"]["test"]:
        print(m["executable"])
EOF
[ -s "$work/tests.txt" ] || { say "no test binaries were built"; exit 1; }

# --- initramfs ---------------------------------------------------------------------------------
rootfs="$work/rootfs"
rm -rf "$rootfs" && mkdir -p "$rootfs"/{bin,proc,sys,dev,tmp,tests}
cp /bin/busybox "$rootfs/bin/busybox"
while read -r exe; do
  name=$(basename "$exe")
  cp "$exe" "$rootfs/tests/${name%-*}"
done <"$work/tests.txt"
strip "$rootfs"/tests/*

# The trainer's main job (digits, fast kernels), linked dynamically: its libraries (freetype
# and friends for the plots) go into the image at their host paths.
say "building the trainer"
cargo build --release -q -p descent-trainer
cp target/release/descent "$rootfs/bin/descent"
for lib in $(ldd target/release/descent | grep -o '/[^ ]*'); do
  mkdir -p "$rootfs$(dirname "$lib")"
  cp -L "$lib" "$rootfs$lib"
done

if [ -n "${EMU_TESTS:-}" ]; then
  printf '%s\n' "$EMU_TESTS" >"$rootfs/run.txt"
else
  skips=""
  for s in $skip; do skips="$skips --skip $s"; done
  for t in "$rootfs"/tests/*; do
    echo "/tests/$(basename "$t") --test-threads=1$skips"
  done >"$rootfs/run.txt"
  echo "descent train --ops fast --no-progress" >>"$rootfs/run.txt"
fi
cat >"$rootfs/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin DESCENT_TEST_ISAS=avx512 RUST_BACKTRACE=1
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
echo "EMU-FLAGS: $(grep -o 'avx512[a-z_]*' /proc/cpuinfo | sort -u | tr '\n' ' ')"
cd /tmp
while read -r line; do
  echo "EMU-START $line"
  eval "$line"
  echo "EMU-RC $? $line"
done </run.txt
echo EMU-DONE
sleep 1
poweroff -f
EOF
chmod +x "$rootfs/init"

iso="$work/iso"
rm -rf "$iso" && mkdir -p "$iso/isolinux"
(cd "$rootfs" && find . | busybox cpio -o -H newc 2>/dev/null | gzip -1 >"$iso/initrd.gz")
cp "$work/vmlinuz" "$iso/vmlinuz"
cp /usr/lib/ISOLINUX/isolinux.bin /usr/lib/syslinux/modules/bios/ldlinux.c32 "$iso/isolinux/"
cat >"$iso/isolinux/isolinux.cfg" <<'EOF'
DEFAULT t
PROMPT 0
TIMEOUT 0
LABEL t
  KERNEL /vmlinuz
  APPEND initrd=/initrd.gz console=ttyS0,115200 clearcpuid=321,323 mitigations=off nokaslr quiet loglevel=3
EOF
xorriso -as mkisofs -quiet -o "$work/test.iso" -b isolinux/isolinux.bin -c isolinux/boot.cat \
  -no-emul-boot -boot-load-size 4 -boot-info-table "$iso" 2>/dev/null

# --- emulator ----------------------------------------------------------------------------------
cat >"$work/bochsrc" <<EOF
megs: 1024
cpu: model=corei7_skylake_x, count=1, ips=${ips}
romimage: file=/usr/share/bochs/BIOS-bochs-latest
vgaromimage: file=/usr/share/vgabios/vgabios.bin
ata0-master: type=cdrom, path=$work/test.iso, status=inserted
boot: cdrom
com1: enabled=1, mode=file, dev=$work/serial.txt
display_library: rfb, options="timeout=0"
speaker: enabled=0
sound: driver=dummy
clock: sync=none
log: $work/bochs.log
panic: action=fatal
EOF
echo c >"$work/bochs.cmds" # Debian's Bochs starts in its debugger: continue at once
rm -f "$work/serial.txt"
say "booting the emulator (timeout ${timeout_s} s)"
start=$(date +%s)
set +e
timeout "$timeout_s" bochs -q -f "$work/bochsrc" -rc "$work/bochs.cmds" \
  >"$work/bochs.out" 2>&1 </dev/null
emu_rc=$?
set -e
say "emulator exited with $emu_rc after $(($(date +%s) - start)) s"
cd "$root_dir"

# --- verdict -----------------------------------------------------------------------------------
serial="$work/serial.txt"
[ -f "$serial" ] || { say "no serial output; see $work/bochs.out"; exit 1; }
grep -E '^(EMU-|test result|test accuracy|running|test .* FAILED|failures:|thread .* panicked)' "$serial" || true
flags=$(grep -m1 '^EMU-FLAGS:' "$serial" || true)
case "$flags" in
  *avx512f*) ;;
  *) say "the guest did not see AVX-512 (${flags:-no EMU-FLAGS line})"; exit 1 ;;
esac
grep -q '^EMU-DONE' "$serial" || { say "the guest did not finish (timeout?)"; exit 1; }
total=$(grep -c '^EMU-RC ' "$serial" || true)
expected=$(grep -c . "$rootfs/run.txt")
failed=$(grep '^EMU-RC ' "$serial" | grep -vc '^EMU-RC 0 ' || true)
if [ "$total" != "$expected" ] || [ "$failed" != 0 ]; then
  say "$failed of $total commands failed (expected $expected results); full log: $serial"
  exit 1
fi
# The trainer's run must also learn: test accuracy on digits is about 96% on any ISA, so
# below 93% something computed wrongly without failing outright.
low=$(awk '/^EMU-START descent train/{on=1} on && /^test accuracy: /{sub("%","",$3); if ($3 + 0 < 93) print $3; on=0}' "$serial")
runs=$(grep -c '^test accuracy: ' "$serial" || true)
if [ "$runs" != "$(grep -c '^descent train' "$rootfs/run.txt")" ] || [ -n "$low" ]; then
  say "the trainer's runs did not all report a test accuracy of at least 93% (${low:-missing})"
  exit 1
fi
say "all $total commands passed on the emulated AVX-512 CPU"

