#!/usr/bin/env bash
# Packs the test VM's initramfs: busybox (Debian's busybox-static), the static
# podmem-collector given, podmem-alloc (guest/alloc.c, compiled here with gcc -static)
# and guest/init as /init.
#
#   scripts/vm/build-initramfs.sh COLLECTOR OUT.cpio.gz
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
collector="${1:?usage: $0 COLLECTOR OUT.cpio.gz}"
out="${2:?usage: $0 COLLECTOR OUT.cpio.gz}"

# static: the guest has no libc. `file` names static-pie and static binaries "static".
is_static() { ! command -v file >/dev/null || file -b "$1" | grep -q static; }
busybox="$(command -v busybox || true)"
if [ -z "$busybox" ] || ! is_static "$busybox"; then
  echo "$0: needs a static busybox (Debian package busybox-static)" >&2
  exit 2
fi
if [ ! -x "$collector" ] || ! is_static "$collector"; then
  echo "$0: $collector is not a static binary (build it with scripts/build-static.sh)" >&2
  exit 2
fi

root="$(mktemp -d)"
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,dev,proc,sys,run,tmp}
cp "$busybox" "$root/bin/busybox"
cp "$collector" "$root/bin/podmem-collector"
gcc -static -O2 -Wall -Wextra -Werror -o "$root/bin/podmem-alloc" "$here/guest/alloc.c"
cp "$here/guest/init" "$root/init"

# Debian's systemd-journald and journalctl with every library they link, when this
# machine has them (package systemd): the guest then also runs a real journald reading
# its kernel's messages. The layout is merged-/usr, as on Debian 12.
mkdir -p "$root/usr/lib" "$root/usr/lib64" "$root/etc"
ln -s usr/lib "$root/lib"
ln -s usr/lib64 "$root/lib64"
journald=/lib/systemd/systemd-journald
if [ -x "$journald" ] && command -v journalctl >/dev/null && command -v ldd >/dev/null; then
  for f in "$journald" "$(command -v journalctl)" \
    $(ldd "$journald" "$(command -v journalctl)" | grep -o '/[^ :]*' | sort -u); do
    dir="$(realpath "$(dirname "$f")")"
    mkdir -p "$root$dir"
    cp -L "$f" "$root$dir/$(basename "$f")"
  done
fi
chmod 0755 "$root/init" "$root"/bin/*
(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) | gzip -1 >"$out"
