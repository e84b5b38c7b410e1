#!/usr/bin/env bash
# Builds an OCI image archive of the static podmem-collector without a container daemon
# (umoci builds the image layout, skopeo packs it into one file). The image holds the
# binary and nothing else: no shell, no libc, no package database. Its default user is
# nobody (65534); the DaemonSet in deploy/ sets runAsUser: 0, which reading other
# users' cgroup and log files needs. The entrypoint is the collector.
#
#   scripts/build-image.sh                  # builds the static collector first
#   PODMEM_COLLECTOR_BIN=path scripts/build-image.sh   # packs that binary instead
#
# Prints the archive's path on its last line:
#   target/image/podmem-collector-<version>.oci.tar  (reference name <version>)
# Push it with: skopeo copy oci-archive:<path> docker://REGISTRY/podmem-collector:<version>
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in umoci skopeo; do
  command -v "$tool" >/dev/null || { echo "build-image.sh: $tool is missing (apt-get install $tool)" >&2; exit 1; }
done
target_dir="${CARGO_TARGET_DIR:-target}"
version="$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)"
bin="${PODMEM_COLLECTOR_BIN:-}"
if [ -z "$bin" ]; then
  scripts/build-static.sh >&2
  bin="$target_dir/x86_64-unknown-linux-gnu/release/podmem-collector"
fi
[ -x "$bin" ] || { echo "build-image.sh: $bin is not an executable" >&2; exit 1; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
layout="$work/oci"
umoci init --layout "$layout"
umoci new --image "$layout:$version"
# --rootless keeps the files' owners as in the image (root) without needing root here.
umoci unpack --rootless --image "$layout:$version" "$work/bundle" >/dev/null
install -m 0755 "$bin" "$work/bundle/rootfs/podmem-collector"
umoci repack --image "$layout:$version" "$work/bundle" >/dev/null
umoci config --image "$layout:$version" \
  --os linux --architecture amd64 \
  --config.user 65534:65534 \
  --config.entrypoint /podmem-collector \
  --config.cmd --help \
  --config.workingdir / \
  --config.label "org.opencontainers.image.title=podmem-collector" \
  --config.label "org.opencontainers.image.version=$version" \
  --config.label "org.opencontainers.image.source=https://github.com/podmem/podmem"
umoci gc --layout "$layout"

out_dir="$target_dir/image"
mkdir -p "$out_dir"
out="$out_dir/podmem-collector-$version.oci.tar"
rm -f "$out"
skopeo copy --quiet "oci:$layout:$version" "oci-archive:$out:$version" >&2
echo "image: podmem-collector:$version, $(stat -c %s "$out") bytes" >&2
echo "$out"
