#!/usr/bin/env bash
# Fetches one of Debian's own cloud kernels for the VM tests and prints the directory
# holding it: `vmlinuz` (the image) and `version` (the Debian package and version).
#
#   scripts/vm/fetch-kernel.sh 6.1|6.12|7.2
#
# The kernel comes from Debian with apt-get (`apt-get download`, then `dpkg -x`), through
# a private apt state kept in the cache: the machine's own sources, lists and pins are
# never read or changed. Each series is fetched once; later runs use the cache and need
# no network. Cache: ${PODMEM_KERNEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/podmem/kernels}.
# Remove a series' directory there to fetch its newest build again.
#
# Adding a kernel: one line in `series` below (the Debian suites that carry it and a
# name pattern matching its image package), nothing else.
set -euo pipefail

series="${1:?usage: $0 6.1|6.12|7.2}"
cache="${PODMEM_KERNEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/podmem/kernels}"
mirror="${PODMEM_DEBIAN_MIRROR:-http://deb.debian.org}"

# series -> "suite set|package name pattern (extended regex)". The newest matching
# package is taken. 6.1 and 6.12 are bookworm's (6.12 through bookworm-security); 7.2
# is Debian unstable's, whose image sits alone in a linux-binary-* package.
case "$series" in
  6.1)  suites=bookworm; pattern='^linux-image-6\.1\.0-[0-9]+-cloud-amd64$' ;;
  6.12) suites=bookworm; pattern='^linux-image-6\.12\.[0-9]+\+deb12-cloud-amd64$' ;;
  7.2)  suites=unstable; pattern='^linux-binary-7\.2\.[0-9]+\+deb[0-9]+-cloud-amd64$' ;;
  *) echo "unknown kernel series '$series' (known: 6.1 6.12 7.2)" >&2; exit 2 ;;
esac

dir="$cache/$series"
if [ -s "$dir/vmlinuz" ] && [ -s "$dir/version" ]; then
  echo "$dir"
  exit 0
fi

for tool in apt-get apt-cache dpkg-deb; do
  command -v "$tool" >/dev/null || { echo "$0: needs $tool (Debian's apt)" >&2; exit 2; }
done

apt_dir="$cache/apt/$suites"
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/parts"
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
case "$suites" in
  bookworm)
    cat >"$apt_dir/sources.list" <<SOURCES
deb [signed-by=$keyring] $mirror/debian bookworm main
deb [signed-by=$keyring] $mirror/debian bookworm-updates main
deb [signed-by=$keyring] $mirror/debian-security bookworm-security main
SOURCES
    ;;
  unstable)
    echo "deb [signed-by=$keyring] $mirror/debian unstable main" >"$apt_dir/sources.list"
    ;;
esac

apt_opts=(
  -o "Dir::Etc::sourcelist=$apt_dir/sources.list"
  -o "Dir::Etc::sourceparts=$apt_dir/parts"
  -o "Dir::Etc::preferencesparts=$apt_dir/parts"
  -o "Dir::State::lists=$apt_dir/lists"
  -o "Dir::Cache=$apt_dir/cache"
  -o "Dir::State::status=/dev/null"
  -o "Acquire::IndexTargets::deb::DEP-11::DefaultEnabled=false"
  -o "Acquire::IndexTargets::deb::DEP-11-icons-small::DefaultEnabled=false"
  -o "Acquire::IndexTargets::deb::DEP-11-icons::DefaultEnabled=false"
  -o "Acquire::Languages=none"
  -o "APT::Sandbox::User=root"
)
echo "fetch-kernel: updating the private apt lists for $suites" >&2
apt-get "${apt_opts[@]}" -qq update >&2

pkg="$(apt-cache "${apt_opts[@]}" pkgnames | grep -E "$pattern" | sort -V | tail -n1 || true)"
if [ -z "$pkg" ]; then
  echo "fetch-kernel: no package matching $pattern in $suites; Debian may have moved on" \
    "(update the table in $0)" >&2
  exit 1
fi

work="$(mktemp -d "$cache/.fetch-$series.XXXXXX")"
trap 'rm -rf "$work"' EXIT
echo "fetch-kernel: downloading $pkg" >&2
(cd "$work" && apt-get "${apt_opts[@]}" -qq download "$pkg" >&2)
deb="$(ls "$work"/*.deb)"
dpkg-deb -x "$deb" "$work/pkg"
image="$(ls "$work"/pkg/boot/vmlinuz-* "$work"/pkg/usr/lib/modules/*/vmlinuz 2>/dev/null | head -n1 || true)"
[ -n "$image" ] || { echo "fetch-kernel: no vmlinuz in $deb" >&2; exit 1; }

rm -rf "$dir"
mkdir -p "$dir"
cp "$image" "$dir/vmlinuz"
echo "$pkg $(dpkg-deb -f "$deb" Version)" >"$dir/version"
echo "$dir"
