#!/usr/bin/env bash
# Builds the seed corpora of every fuzz target under fuzz/corpus/<target>/ (gitignored)
# from the real-world samples (fixtures/realworld) and from real
# snapshot archives and a bundle that the collector writes from the fixture host trees.
# Rerunning adds to what libFuzzer already saved there; nothing outside fuzz/corpus is
# written except the collector build (in $CARGO_TARGET_DIR or target/).
set -euo pipefail
fuzz="$(cd "$(dirname "$0")" && pwd)"
repo="$(dirname "$fuzz")"
real="$repo/fixtures/realworld"
if [ ! -d "$real" ]; then
  echo "seed.sh: real-world samples not found at $real" >&2
  exit 1
fi
corpus="$fuzz/corpus"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# seed TARGET FILE...: copies each file into the target's corpus (named by content, as
# libFuzzer names what it finds, so reruns do not duplicate).
seed() {
  local t="$1"
  shift
  mkdir -p "$corpus/$t"
  local f
  for f in "$@"; do
    [ -f "$f" ] || continue
    cp "$f" "$corpus/$t/$(sha1sum "$f" | cut -c1-40)"
  done
}

# One seed per line too: the cgroup-path identifier takes one path at a time.
seed_lines() {
  local t="$1" f="$2" n=0 line
  while IFS= read -r line; do
    case "$line" in '' | '#'*) continue ;; esac
    n=$((n + 1))
    printf '%s' "${line%%$'\t'*}" >"$work/line"
    seed "$t" "$work/line"
    # /proc/<pid>/cgroup lines: hierarchy-id:controllers:path
    printf '%s' "${line##*:}" >"$work/line"
    seed "$t" "$work/line"
  done <"$f"
}

seed memory_stat "$real"/memory_stat_v1/* "$real"/memory_stat_v2/*
seed mountinfo "$real"/mountinfo/*
seed oom_log "$real"/oom_logs/*
seed kmsg "$real"/oom_logs/*kmsg*
seed kubelet_summary "$real"/kubelet_summary/*
seed report_json "$repo"/fixtures/reports/*.json
# /dev/kmsg records: this machine's own (read without blocking), and the real-world OOM
# logs rewritten as records (`prio,seq,usec,flags;text`) from their `[ secs.usec]` stamps.
dd if=/dev/kmsg of="$work/kmsg" iflag=nonblock bs=8192 2>/dev/null || true
head -c 65536 "$work/kmsg" >"$work/kmsg.head"
seed kmsg "$work/kmsg.head"
for f in "$real"/oom_logs/*; do
  awk 'match($0, /\[ *[0-9]+\.[0-9]+\]/) {
         ts = substr($0, RSTART + 1, RLENGTH - 2); gsub(/ /, "", ts); split(ts, p, ".");
         printf "6,%d,%s%s,-;%s\n", NR, p[1], substr(p[2] "000000", 1, 6), substr($0, RSTART + RLENGTH + 1)
       }' "$f" >"$work/records"
  [ -s "$work/records" ] && seed kmsg "$work/records"
done
seed cgroup_path "$real"/cgroup_paths/*
for f in "$real"/cgroup_paths/*; do
  seed_lines cgroup_path "$f"
done

# Real snapshots of the fixture hosts, written by the real collector.
target_dir="${CARGO_TARGET_DIR:-$repo/target}"
(cd "$repo" && cargo build -q -p podmem-collector)
collector="$target_dir/debug/podmem-collector"
hosts="$repo/fixtures/hosts"
mkdir -p "$work/snaps"
for h in "$hosts"/*/; do
  h="${h%/}"
  "$collector" snapshot --no-nice -o "$work/snaps" --host-root "$h" \
    --kernel-log "$hosts/kernel.log" --kubelet-summary-file "$hosts/kubelet-summary.json" \
    --node-name "$(basename "$h")" >/dev/null || [ $? -eq 1 ]
done
# And this machine as it is (no kubelet; its own cgroups and kernel log).
rc=0
"$collector" snapshot --no-nice -o "$work/snaps" --no-kubelet --since 24h >/dev/null 2>&1 || rc=$?
[ "$rc" -le 1 ] || echo "seed.sh: no snapshot of this machine (exit $rc)" >&2
"$collector" bundle "$work/snaps" -o "$work/bundle.tar" >/dev/null
snaps=("$work"/snaps/*.tar.gz)
echo "seed.sh: ${#snaps[@]} snapshot archives (fixture hosts and this machine)"

# The archive loader: each snapshot gzipped (as written) and as a plain tar (the target
# gzips non-gzip input itself, so mutations reach the tar and the files directly).
for s in "${snaps[@]}"; do
  gzip -dc "$s" >"$work/plain.tar"
  seed snapshot_archive "$s" "$work/plain.tar"
  d="$work/x/$(basename "$s")"
  mkdir -p "$d"
  tar -xzf "$s" -C "$d"
  # What the snapshot holds, to the parser of each kind.
  seed proc_files "$d"/proc/meminfo "$d"/proc/vmstat "$d"/proc/pressure/memory \
    "$d"/proc/cgroups "$d"/logs/pods.txt
  seed mountinfo "$d"/proc/mountinfo
  seed kubelet_summary "$d"/kubelet/summary.json
  seed kmsg "$d"/kernel/kmsg
  seed oom_log "$d"/kernel/*.log "$d"/kernel/kmsg
  # Format 2: each cgroup's files are one `files.podmem` entry (records of
  # `--- <name> <length>` + bytes + newline); its memory.stat goes to memory_stat too.
  while IFS= read -r -d '' f; do
    seed cgroup_files "$f"
    python3 - "$f" "$work/memory.stat" <<'PY'
import sys
data, out, pos = open(sys.argv[1], "rb").read(), None, 0
while pos < len(data):
    end = data.index(b"\n", pos)
    _, name, length = data[pos:end].split(b" ")
    body = data[end + 1:end + 1 + int(length)]
    pos = end + 1 + int(length) + 1
    if name == b"memory.stat":
        out = body
open(sys.argv[2], "wb").write(out or b"")
PY
    seed memory_stat "$work/memory.stat"
  done < <(find "$d/cgroup" -name 'files.podmem' -print0 | head -z -n 20)
done
seed bundle "$work/bundle.tar" "${snaps[@]}"

for t in "$corpus"/*/; do
  printf 'seed.sh: %-18s %4d files\n' "$(basename "$t")" "$(find "$t" -type f | wc -l)"
done
