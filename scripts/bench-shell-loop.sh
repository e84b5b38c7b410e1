#!/usr/bin/env bash
# The way the case is watched today (the loop body of the seed write-up, one pass over
# every pod of the node instead of one pod): for each pod cgroup, the date, its
# container directories (`ls -l | grep`), and `egrep` of four keys from the pod's and
# each container's memory.stat, appended to a log. No `docker inspect` (no runtime
# here), no sleep. It records 4 keys of 1 file per cgroup, the collector 13 whole files.
# Usage: scripts/bench-shell-loop.sh CGROUP_ROOT LOG
set -u
root="$1"
log="$2"
for podbasedir in "$root"/kubepods/*/pod* "$root"/kubepods/pod*; do
  [ -d "$podbasedir" ] || continue
  echo $(date) >> "$log"
  echo "$podbasedir has this container dir" >> "$log"
  ls -l "$podbasedir" | grep '^d' >> "$log"
  echo "Start record total memory.stat " >> "$log"
  egrep "total_cache|total_rss|total_shmem|total_inactive_file" "$podbasedir"/memory.stat >> "$log"
  echo "Start record container memory.stat" >> "$log"
  egrep "total_cache|total_rss|total_shmem|total_inactive_file" "$podbasedir"/*/memory.stat >> "$log"
done
