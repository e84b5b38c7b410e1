#!/usr/bin/env bash
# Benchmarks podmem in one run and prints a markdown table (docs/performance.md).
#
#   scripts/bench.sh            # everything (about 25 minutes on 2 cores)
#   BENCH_SERIES="100 200" scripts/bench.sh   # shorter analyzer series
#
# 1. Builds the release binaries, the static collector and the examples (floor,
#    gen_series).
# 2. Builds a 110-pod node-shaped memory cgroup tree (389 cgroups): as root, real
#    kernel cgroups under our own v1 memory cgroup, a sleeping process in every
#    container, pod limits, and one pod's memory-backed emptyDir (a real tmpfs, 8 MiB
#    written from its container); otherwise plain directories with copies of the v1
#    fixture files.
# 3. hyperfine: the collector snapshot (--no-kubelet --kernel-log none --no-nice), the
#    floor (collector/examples/floor.rs: the same files read into memory, nothing else),
#    the seed's egrep loop (scripts/bench-shell-loop.sh), and `tar czf` of the tree;
#    then the same snapshot with 3,800 archives of the node already in --out (--keep
#    10080), and the syscalls of both (strace -c, when strace is installed).
# 4. hyperfine: the analyzer on 360, 720 and 1,440 snapshots (gen_series) to JSON and
#    HTML.
# 4b. A week of one node (10,080 snapshots) and a fleet (10 nodes x 1,008) to JSON,
#    HTML and Parquet (export), against two floors measured in the same run: the same archives only
#    inflated by the analyzer's own zlib-rs on all cores (examples/gunzip_floor), and
#    `gzip -dc` on all cores. BENCH_WEEK=0 skips it; BENCH_WEEK_SNAPSHOTS,
#    BENCH_FLEET_NODES, BENCH_FLEET_SNAPSHOTS and BENCH_WEEK_RUNS size it.
# 5. Peak RSS of each (/usr/bin/time), archive, report and static binary sizes.
#
# Needs hyperfine and GNU time (Debian: apt-get install hyperfine time), python3.
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$(pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$repo/target}"
series="${BENCH_SERIES:-360 720 1440}"
pods=110
for t in hyperfine /usr/bin/time python3; do
  command -v "$t" >/dev/null || { echo "error: $t is missing (apt-get install hyperfine time python3)" >&2; exit 2; }
done

work="$(mktemp -d "${TMPDIR:-/tmp}/podmem-bench.XXXXXX")"
tree=""
own_cg=""
pids=()
mounts=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  for m in "${mounts[@]}"; do umount "$m" 2>/dev/null || true; done
  if [ -n "$own_cg" ] && [ -n "$tree" ] && [ -d "$tree" ]; then
    # Children first: a cgroup directory is removed with rmdir only when empty.
    find "$tree" -depth -type d -exec rmdir {} + 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

log() { echo "== $*" >&2; }

# ---------------------------------------------------------------- 1. build
log "building release binaries"
cargo build --release --locked -p podmem-collector -p podmem-analyzer --bins \
  --example floor --example gen_series --example gunzip_floor >&2
scripts/build-static.sh >"$work/static.txt" 2>&1 || { cat "$work/static.txt" >&2; exit 1; }
rel="$CARGO_TARGET_DIR/release"
collector="$CARGO_TARGET_DIR/x86_64-unknown-linux-gnu/release/podmem-collector"
analyzer="$rel/podmem-analyzer"
floor="$rel/examples/floor"
gen_series="$rel/examples/gen_series"
static_size=$(stat -c %s "$collector")

# ---------------------------------------------------------------- 2. the tree
own_memory_cgroup() {
  [ "$(id -u)" = 0 ] || return 1
  local rel mnt
  rel=$(awk -F: '$2 ~ /(^|,)memory(,|$)/ {print $3}' /proc/self/cgroup)
  [ -n "$rel" ] || return 1
  # mountinfo: field 4 = root, 5 = mount point; the super options after " - ".
  mnt=$(awk '/ - cgroup / && $NF ~ /(^|,)memory(,|$)/ {print $4 " " $5; exit}' /proc/self/mountinfo)
  [ -n "$mnt" ] || return 1
  local root=${mnt%% *} point=${mnt#* }
  rel=${rel#"${root%/}"}
  local dir="$point/${rel#/}"
  mkdir "$dir/podmem-bench-probe-$$" 2>/dev/null || return 1
  rmdir "$dir/podmem-bench-probe-$$"
  echo "${dir%/}"
}

uid() { printf '%08x-0000-4000-8000-%012x' "$1" "$1"; }
cid() { printf '%060x%04x' "$1" "$2"; }

if own_cg=$(own_memory_cgroup); then
  tree_kind="real kernel cgroups (v1, under our own memory cgroup)"
  tree="$own_cg/podmem-bench-$$"
  log "building a 110-pod cgroup tree at $tree"
  mkdir -p "$tree/kubepods/burstable" "$tree/kubepods/besteffort"
  for ((i = 0; i < pods; i++)); do
    qos=$([ $((i % 4)) = 3 ] && echo besteffort || echo burstable)
    u=$(uid "$i")
    pod="$tree/kubepods/$qos/pod$u"
    mkdir "$pod"
    [ "$qos" = burstable ] && echo $((512 << 20)) >"$pod/memory.limit_in_bytes"
    for ((k = 0; k < 2 + i % 2; k++)); do
      c="$pod/$(cid "$i" "$k")"
      mkdir "$c"
      if [ "$i" = 0 ] && [ "$k" = 1 ]; then
        # The pod with a memory-backed emptyDir: a real tmpfs at a kubelet-shaped path,
        # written from its container so the pages are charged there.
        vol="$work/kubelet/pods/$u/volumes/kubernetes.io~empty-dir/cache"
        mkdir -p "$vol"
        mount -t tmpfs -o size=64m tmpfs "$vol"
        mounts+=("$vol")
        sh -c "echo \$\$ > '$c/cgroup.procs' && head -c 8388608 /dev/zero > '$vol/data' && exec sleep 100000" &
      else
        sh -c "echo \$\$ > '$c/cgroup.procs' && exec sleep 100000" &
      fi
      pids+=($!)
    done
  done
  sleep 1
else
  tree_kind="plain directories (not root or no writable v1 memory cgroup): copies of fixture files"
  tree="$work/tree"
  log "building a 110-pod plain directory tree at $tree (no real cgroups here)"
  src="fixtures/hosts/v1-cgroupfs-docker/sys/fs/cgroup/memory/kubepods"
  mkcg() { mkdir -p "$1"; cp "$src"/memory.* "$src"/cgroup.procs "$1"/; rm -f "$1/memory.kmem.slabinfo"; }
  mkcg "$tree"
  mkcg "$tree/kubepods"
  mkcg "$tree/kubepods/burstable"
  mkcg "$tree/kubepods/besteffort"
  for ((i = 0; i < pods; i++)); do
    qos=$([ $((i % 4)) = 3 ] && echo besteffort || echo burstable)
    pod="$tree/kubepods/$qos/pod$(uid "$i")"
    mkcg "$pod"
    for ((k = 0; k < 2 + i % 2; k++)); do mkcg "$pod/$(cid "$i" "$k")"; done
  done
fi
ncg=$(find "$tree" -type d | wc -l)
log "tree: $ncg cgroups ($tree_kind)"

# ---------------------------------------------------------------- 3. collector
out="$work/out"
mkdir -p "$out"
coll_cmd="$collector snapshot -o $out --cgroup-root $tree --no-kubelet --kernel-log none --no-nice --node-name bench"
floor_cmd="$floor $tree"
shell_cmd="scripts/bench-shell-loop.sh $tree $work/shell.log"
tar_cmd="tar czf $work/tree.tar.gz -C $tree ."
log "hyperfine: collector, floor, shell loop, tar czf"
# -N runs --prepare without a shell too: find matches the pattern itself.
hyperfine -N --warmup 3 --min-runs 20 --export-json "$work/collector.json" \
  --prepare "find $out -name 'podmem-bench-*.tar.gz' -delete" -n collector "$coll_cmd" \
  -n floor "$floor_cmd" >&2
hyperfine --warmup 2 --min-runs 10 --export-json "$work/shell.json" \
  --prepare "rm -f $work/shell.log" -n "shell egrep loop" "$shell_cmd" \
  -n "tar czf" "$tar_cmd" >&2

rss() { /usr/bin/time -f '%M' -o "$work/rss" "$@" >/dev/null 2>"$work/rss.err" || true; cat "$work/rss"; }
rm -f "$out"/podmem-bench-*.tar.gz
rss_coll=$(rss $coll_cmd)
archive=$(ls "$out"/podmem-bench-*.tar.gz | head -1)
archive_size=$(stat -c %s "$archive")
archive_entries=$(tar tzf "$archive" | wc -l)
archive_tar=$(gzip -dc "$archive" | wc -c)
rss_floor=$(rss $floor_cmd)
rss_shell=$(rss bash $shell_cmd)
rss_tar=$(rss $tar_cmd)
shell_log_size=$(stat -c %s "$work/shell.log")
tar_size=$(stat -c %s "$work/tree.tar.gz")
tar_nonzero=$(tar tvzf "$work/tree.tar.gz" | awk '$1 !~ /^d/ && $3 != 0' | wc -l)
tar_files=$(tar tvzf "$work/tree.tar.gz" | awk '$1 !~ /^d/' | wc -l)
log "tar czf of the tree: $tar_files files, $tar_nonzero of them with a non-zero size; first entries:"
tar tvzf "$work/tree.tar.gz" | awk '$1 !~ /^d/ && n++ < 4' >&2

# A node keeping a week (--keep 10080) has thousands of archives in --out: a snapshot
# must not cost a stat (or more) per kept archive. 3,800 hard links of the archive
# above under the collector's names, one a minute from 2000-01-01, so every archive a
# run writes sorts after them and --prepare removes it (names 2010 and later).
kept=3800
out_kept="$work/out-kept"
mkdir -p "$out_kept"
python3 - "$archive" "$out_kept" "$kept" <<'PY'
import datetime, os, sys
src, out, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
t0 = datetime.datetime(2000, 1, 1)
for i in range(n):
    stamp = (t0 + datetime.timedelta(minutes=i)).strftime("%Y%m%dT%H%M%S.000Z")
    os.link(src, os.path.join(out, f"podmem-bench-{stamp}.tar.gz"))
PY
kept_cmd="$collector snapshot -o $out_kept --cgroup-root $tree --no-kubelet --kernel-log none --no-nice --node-name bench --keep 10080"
log "hyperfine: collector with $kept archives in --out"
hyperfine -N --warmup 3 --min-runs 20 --export-json "$work/collector-kept.json" \
  --prepare "find $out_kept -name 'podmem-bench-20[1-9]*' -delete" \
  -n "collector, $kept kept" "$kept_cmd" >&2
find "$out_kept" -name 'podmem-bench-20[1-9]*' -delete
rss_kept=$(rss $kept_cmd)
find "$out_kept" -name 'podmem-bench-20[1-9]*' -delete
# Syscalls: all of them, and statx (the per-file stat), with an empty and a full --out.
sys_empty="- -" sys_kept="- -"
if command -v strace >/dev/null; then
  syscalls() {
    strace -f -c -o "$work/strace.txt" "$@" >/dev/null 2>&1 || true
    awk '$NF == "total" {t = $4} $NF == "statx" {s = $4} END {print t + 0, s + 0}' "$work/strace.txt"
  }
  find "$out" -name 'podmem-bench-*.tar.gz' -delete
  sys_empty=$(syscalls $coll_cmd)
  sys_kept=$(syscalls $kept_cmd)
  find "$out_kept" -name 'podmem-bench-20[1-9]*' -delete
fi

# ---------------------------------------------------------------- 4. analyzer
max=0
for n in $series; do [ "$n" -gt "$max" ] && max=$n; done
log "generating $max snapshots of a $pods-pod node"
"$gen_series" "$work/series" "$max" "$pods" >&2
mapfile -t all < <(ls "$work/series"/*.tar.gz | sort)
series_bytes=$(du -cb "${all[@]}" | tail -1 | cut -f1)
an_args=()
for n in $series; do
  mkdir -p "$work/s$n"
  # Hard links: the analyzer does not follow symbolic links when searching directories.
  for ((j = 0; j < n; j++)); do ln "${all[$j]}" "$work/s$n/"; done
  for fmt in json html; do
    an_args+=(-n "analyzer $n $fmt" "$analyzer report $work/s$n --format $fmt -o $work/report-$n.$fmt")
  done
done
log "hyperfine: analyzer"
hyperfine -N --runs "${BENCH_ANALYZER_RUNS:-3}" --export-json "$work/analyzer.json" \
  "${an_args[@]}" >&2
declare -A an_rss an_size an_cpu
for n in $series; do
  for fmt in json html; do
    /usr/bin/time -f '%M %U %S' -o "$work/rss" "$analyzer" report "$work/s$n" --format "$fmt" \
      -o "$work/report-$n.$fmt" >/dev/null 2>"$work/rss.err" || true
    read -r kib u s <"$work/rss"
    an_rss[$n.$fmt]=$kib
    an_cpu[$n.$fmt]=$(python3 -c "print(f'{$u + $s:.2f}')")
    an_size[$n.$fmt]=$(stat -c %s "$work/report-$n.$fmt")
  done
done

# ---------------------------------------------------------------- 4b. a week, a fleet
# A week of one node (10,080 one-a-minute snapshots) and 10 nodes x 1,008, against the
# floor: the same archives only inflated, on all cores (analyzer/examples/gunzip_floor).
week_rows=""
if [ "${BENCH_WEEK:-1}" != 0 ]; then
  week_n="${BENCH_WEEK_SNAPSHOTS:-10080}" fleet_nodes="${BENCH_FLEET_NODES:-10}"
  fleet_n="${BENCH_FLEET_SNAPSHOTS:-1008}"
  log "generating a week ($week_n snapshots) and a fleet ($fleet_nodes x $fleet_n)"
  [ -d "$work/week" ] || "$gen_series" "$work/week" "$week_n" "$pods" >&2
  for ((i = 0; i < fleet_nodes; i++)); do
    [ -d "$work/fleet/node-$i" ] || "$gen_series" "$work/fleet/node-$i" "$fleet_n" "$pods" 2 "node-$i" >&2
  done
  # The gunzip tool's floor, on all cores as well: one gzip per 200 archives, so the
  # floor is inflation, not starting 10,080 processes.
  cat >"$work/gzip-dc.sh" <<'SH'
find "$1" -name '*.tar.gz' -print0 | xargs -0 -n 200 -P "$(nproc)" gzip -dc >/dev/null
SH
  for set in week fleet; do
    hyperfine -N --runs "${BENCH_WEEK_RUNS:-1}" --export-json "$work/$set.json" \
      --prepare "rm -rf $work/$set.export" \
      -n floor "$rel/examples/gunzip_floor $work/$set" \
      -n gzip "bash $work/gzip-dc.sh $work/$set" \
      -n json "$analyzer report $work/$set --format json -o $work/$set.report.json" \
      -n html "$analyzer report $work/$set --format html -o $work/$set.report.html" \
      -n parquet "$analyzer export $work/$set -o $work/$set.export" >&2
    for fmt in json html parquet; do
      rm -rf "$work/$set.export"
      if [ "$fmt" = parquet ]; then
        cmd=("$analyzer" export "$work/$set" -o "$work/$set.export")
      else
        cmd=("$analyzer" report "$work/$set" --format "$fmt" -o "$work/$set.report.$fmt")
      fi
      /usr/bin/time -f '%M %U %S' -o "$work/rss" "${cmd[@]}" >/dev/null 2>"$work/rss.err" || true
      read -r kib u s <"$work/rss"
      if [ "$fmt" = parquet ]; then size=$(du -sb "$work/$set.export" | cut -f1); else size=$(stat -c %s "$work/$set.report.$fmt"); fi
      week_rows+="$set $fmt $kib $(python3 -c "print(f'{$u + $s:.2f}')") $size"$'\n'
    done
    /usr/bin/time -f '%M %U %S' -o "$work/rss" "$rel/examples/gunzip_floor" "$work/$set" 2>/dev/null || true
    read -r kib u s <"$work/rss"
    week_rows+="$set floor $kib $(python3 -c "print(f'{$u + $s:.2f}')") $(du -sb "$work/$set" | cut -f1)"$'\n'
  done
fi

# ---------------------------------------------------------------- 5. table
export work series static_size archive_size archive_entries archive_tar rss_coll rss_floor \
  rss_shell rss_tar shell_log_size tar_size tar_nonzero tar_files ncg tree_kind series_bytes max \
  kept rss_kept sys_empty sys_kept week_rows week_n="${week_n:-0}" fleet_n="${fleet_n:-0}" \
  fleet_nodes="${fleet_nodes:-0}"
for n in $series; do for fmt in json html; do
  export "AN_${n}_${fmt}=${an_rss[$n.$fmt]} ${an_cpu[$n.$fmt]} ${an_size[$n.$fmt]}"
done; done
python3 - <<'PY'
import json, os
w = os.environ["work"]
E = os.environ
def res(f):
    return {r["command"]: r for r in json.load(open(os.path.join(w, f)))["results"]}
c, s, a = res("collector.json"), res("shell.json"), res("analyzer.json")
ck = res("collector-kept.json")[f"collector, {E['kept']} kept"]
(sys_e, statx_e), (sys_k, statx_k) = E["sys_empty"].split(), E["sys_kept"].split()
# hyperfine gives no standard deviation for a single run.
ms = lambda r: f'{r["mean"]*1e3:.1f} ± {(r["stddev"] or 0)*1e3:.1f} ms (median {r["median"]*1e3:.1f})'
sec = lambda r: f'{r["mean"]:.2f} ± {(r["stddev"] or 0):.2f} s'
mib = lambda kib: f"{int(kib)/1024:.1f} MiB"
print(f"Tree: {E['ncg']} cgroups, {E['tree_kind']}.\n")
print("| run | time (hyperfine, wall) | peak RSS | output |")
print("|---|---|---|---|")
print(f"| collector snapshot | {ms(c['collector'])} | {mib(E['rss_coll'])} | archive {int(E['archive_size'])/1024:.1f} KiB, {E['archive_entries']} entries, {int(E['archive_tar'])/1048576:.2f} MiB of tar |")
print(f"| collector snapshot, {int(E['kept']):,} archives in `--out` (`--keep 10080`) | {ms(ck)} | {mib(E['rss_kept'])} | {sys_k} syscalls, {statx_k} `statx` ({sys_e} and {statx_e} with an empty `--out`) |")
print(f"| floor (same files into memory) | {ms(c['floor'])} | {mib(E['rss_floor'])} | nothing |")
print(f"| shell egrep loop (seed) | {ms(s['shell egrep loop'])} | {mib(E['rss_shell'])} | log {int(E['shell_log_size'])/1024:.1f} KiB (4 keys of memory.stat) |")
print(f"| `tar czf` of the tree | {ms(s['tar czf'])} | {mib(E['rss_tar'])} | {int(E['tar_size'])/1024:.1f} KiB, {E['tar_nonzero']} of {E['tar_files']} files with a non-zero size |")
for n in E["series"].split():
    for fmt in ("json", "html"):
        kib, cpu, size = E[f"AN_{n}_{fmt}"].split()
        print(f"| analyzer {n} × 110 → {fmt.upper()} | {sec(a[f'analyzer {n} {fmt}'])} ({cpu} s CPU) | {mib(kib)} | {int(size)/1048576:.2f} MiB |")
print()
cm, fm, sm = c["collector"]["mean"], c["floor"]["mean"], s["shell egrep loop"]["mean"]
print(f"- collector / floor: **{cm/fm:.2f}×** (target ≤ 1.3×)")
print(f"- shell loop / collector: **{sm/cm:.1f}×** (target ≥ 15×)")
print(f"- collector with {int(E['kept']):,} archives in `--out` / with few: **{ck['mean']/cm:.2f}×** "
      f"(CPU {(ck['user'] + ck['system'])*1e3:.1f} / {(c['collector']['user'] + c['collector']['system'])*1e3:.1f} ms)")
print(f"- static collector binary: {int(E['static_size'])} bytes ({int(E['static_size'])/1048576:.2f} MiB)")
print(f"- analyzer input: {E['max']} archives, {int(E['series_bytes'])/1048576:.1f} MiB "
      f"({int(E['series_bytes'])/int(E['max'])/1024:.1f} KiB each)")
ns = E["series"].split()
if len(ns) > 1:
    base = a[f"analyzer {ns[0]} json"]["mean"] / int(ns[0])
    for n in ns[1:]:
        per = a[f"analyzer {n} json"]["mean"] / int(n)
        print(f"- analyzer JSON per snapshot at {n}: {per*1e3:.2f} ms ({per/base:.2f}× the per-snapshot cost at {ns[0]})")
rows = [r.split() for r in E.get("week_rows", "").splitlines() if r.strip()]
if rows:
    print()
    wall = lambda r: f'{r["mean"]:.2f} s'
    print("| input | run | time (wall) | CPU | peak RSS | output | wall / inflate floor | wall / gzip -dc |")
    print("|---|---|---|---|---|---|---|---|")
    for set_ in ("week", "fleet"):
        t = res(f"{set_}.json")
        floor, gz = t["floor"]["mean"], t["gzip"]["mean"]
        what = {"week": f"one node, {int(E['week_n']):,} × 110",
                "fleet": f"{E['fleet_nodes']} nodes × {int(E['fleet_n']):,} × 110"}[set_]
        for name, fmt, kib, cpu, size in (r for r in rows if r[0] == set_):
            run = {"floor": "gunzip floor (all cores)", "parquet": "analyzer export → Parquet"}.get(fmt, f"analyzer → {fmt.upper()}")
            out = f"{int(size)/1048576:.1f} MiB {'input' if fmt == 'floor' else ''}".strip()
            print(f"| {what} | {run} | {wall(t[fmt])} | {cpu} s | {mib(kib)} | {out} | {t[fmt]['mean']/floor:.2f}× | {t[fmt]['mean']/gz:.2f}× |")
        print(f"| {what} | `gzip -dc` (all cores) | {wall(t['gzip'])} | | | | {gz/floor:.2f}× | 1.00× |")
PY
echo
echo "machine: $(nproc) CPUs, $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg) at the end"
