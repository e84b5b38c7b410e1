#!/usr/bin/env bash
# Builds a fully static x86_64 podmem-collector (glibc static-pie) and prints its size.
# The explicit --target keeps +crt-static away from proc macros (clap_derive), which
# cannot be built static. Output: target/x86_64-unknown-linux-gnu/release/podmem-collector
# (under $CARGO_TARGET_DIR when set).
set -euo pipefail
cd "$(dirname "$0")/.."
target_dir="${CARGO_TARGET_DIR:-target}"
RUSTFLAGS='-C target-feature=+crt-static' \
  cargo build --release --locked --target x86_64-unknown-linux-gnu -p podmem-collector
bin="$target_dir/x86_64-unknown-linux-gnu/release/podmem-collector"
if command -v file >/dev/null 2>&1; then
  desc="$(file -b "$bin")"
  echo "$desc"
  case "$desc" in
    *static*) ;;
    *) echo "error: $bin is not statically linked" >&2; exit 1 ;;
  esac
fi
size="$(stat -c %s "$bin")"
echo "$bin: $size bytes ($(( (size + 1023) / 1024 )) KiB)"
