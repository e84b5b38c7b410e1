#!/usr/bin/env bash
# Boots one of Debian's kernels under QEMU with the podmem test initramfs, runs the
# guest scenarios (scripts/vm/guest/init) in one cgroup mode, and unpacks what the guest
# sent back into OUTDIR:
#
#   scripts/vm/run.sh 6.1|6.12|7.2 v1|v2 [OUTDIR]
#
#   OUTDIR/console.log    the guest's serial console (kernel messages, guest progress)
#   OUTDIR/guest/facts    key=value lines: what the guest's kernel said (status=ok last)
#   OUTDIR/guest/snap/    `podmem-collector snapshot` archives, one per scenario step
#   OUTDIR/guest/watch/   `podmem-collector watch` archives taken across all steps
#   OUTDIR/guest/journal/ `snapshot --kernel-log journal` archives after each OOM, read
#                         from the guest's systemd-journald (when this host has one)
#
# Then analyze on the host, e.g. `podmem-analyzer report OUTDIR/guest/snap`.
# Needs qemu-system-x86, busybox-static, cpio, gcc, apt (Debian) and the static collector
# (scripts/build-static.sh; another one with PODMEM_COLLECTOR_STATIC=PATH).
# PODMEM_VM_ACCEL=tcg|kvm|auto (default auto: KVM when /dev/kvm works, else TCG).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
kernel="${1:?usage: $0 6.1|6.12|7.2 v1|v2 [OUTDIR]}"
mode="${2:?usage: $0 6.1|6.12|7.2 v1|v2 [OUTDIR]}"
out="${3:-$repo/target/vm/$kernel-$mode}"
case "$mode" in v1 | v2) ;; *) echo "$0: mode must be v1 or v2" >&2; exit 2 ;; esac

collector="${PODMEM_COLLECTOR_STATIC:-${CARGO_TARGET_DIR:-$repo/target}/x86_64-unknown-linux-gnu/release/podmem-collector}"
[ -x "$collector" ] || {
  echo "$0: no static collector at $collector: run scripts/build-static.sh first" >&2
  exit 2
}
command -v qemu-system-x86_64 >/dev/null || {
  echo "$0: needs qemu-system-x86_64 (Debian package qemu-system-x86)" >&2
  exit 2
}

kdir="$("$here/fetch-kernel.sh" "$kernel")"
rm -rf "$out"
mkdir -p "$out/guest"
"$here/build-initramfs.sh" "$collector" "$out/initramfs.cpio.gz"

# Nested KVM can hang at boot without a word: KVM is used only when a kernel booted under
# it prints its banner within 10 s. The answer is kept per host boot (the probe costs the
# full 10 s when KVM hangs).
accel="${PODMEM_VM_ACCEL:-auto}"
if [ "$accel" = auto ]; then
  probe="${XDG_CACHE_HOME:-$HOME/.cache}/podmem/vm-accel.$(cat /proc/sys/kernel/random/boot_id)"
  if [ -s "$probe" ]; then
    accel="$(cat "$probe")"
  else
    accel=tcg
    if [ -r /dev/kvm ] && [ -w /dev/kvm ] &&
      timeout 10 qemu-system-x86_64 -nodefaults -no-user-config -accel kvm -cpu host -m 128 \
        -display none -no-reboot -monitor none -serial stdio -kernel "$kdir/vmlinuz" \
        -append "console=ttyS0 panic=-1" 2>/dev/null | grep -q -m1 'Linux version'; then
      accel=kvm
    fi
    mkdir -p "$(dirname "$probe")"
    echo "$accel" >"$probe"
  fi
fi
case "$accel" in
  kvm) cpu=host ;;
  tcg) cpu=max ;;
  *) echo "$0: PODMEM_VM_ACCEL must be tcg, kvm or auto" >&2; exit 2 ;;
esac

echo "vm: $(cat "$kdir/version"), cgroup $mode, accel $accel" >&2
# no_timer_check: on a loaded host the emulated timer can miss the kernel's early IO-APIC
# check, which then panics ("IO-APIC + timer doesn't work!").
boot() {
  timeout "${PODMEM_VM_TIMEOUT:-600}" qemu-system-x86_64 \
    -nodefaults -no-user-config -display none -no-reboot -monitor none \
    -accel "$accel" -cpu "$cpu" -smp 1 -m 512 \
    -kernel "$kdir/vmlinuz" -initrd "$out/initramfs.cpio.gz" \
    -append "console=ttyS0 panic=-1 oops=panic no_timer_check quiet podmem.mode=$mode" \
    -serial "file:$out/console.log" -serial "file:$out/serial1.out"
}
start=$(date +%s.%N)
status=0
boot || status=$?
# A kernel that died before the guest's init said a word is booted once more (the
# scenarios never ran, so nothing is repeated).
if ! grep -q 'podmem-guest' "$out/console.log"; then
  mv "$out/console.log" "$out/console.first-boot.log"
  echo "vm: the kernel did not reach the guest's init; booting again" \
    "(first console: $out/console.first-boot.log)" >&2
  status=0
  boot || status=$?
fi
end=$(date +%s.%N)

# The guest's tar, base64 between markers on its second serial port.
sed -n '/^===PODMEM-ARCHIVE-BEGIN===/,/^===PODMEM-ARCHIVE-END===/p' "$out/serial1.out" |
  tr -d '\r' | sed '1d;$d' | base64 -d | tar -C "$out/guest" -xf - ||
  { echo "$0: no archive from the guest (qemu exit $status); see $out/console.log" >&2; exit 1; }
{
  echo "host_kernel_package=$(cat "$kdir/version")"
  echo "host_accel=$accel"
  awk -v s="$start" -v e="$end" 'BEGIN { printf "host_vm_seconds=%.1f\n", e - s }'
} >>"$out/guest/facts"
cat "$out/guest/facts"
grep -qx 'status=ok' "$out/guest/facts" || { echo "$0: guest failed; see $out/console.log" >&2; exit 1; }
echo "$out"
