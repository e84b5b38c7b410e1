#!/usr/bin/env python3
"""Records fixtures/demo/: the DESIGN §1 story played on the real kernel and captured
by the real podmem-collector, as a node would see it.

A pod `default/cache-worker-7d9f` (limit 160 MiB = app 32 MiB + cache-writer 128 MiB)
with a `medium: Memory` emptyDir `cache` (tmpfs, size = the pod limit, as the kubelet
mounts it without a sizeLimit). `app` holds a little memory and sleeps. `cache-writer`
holds a heap and appends 4 MiB to the emptyDir every 2 s, until its container limit
OOM-kills it. Like the runtime, the script then removes its cgroup; like the kubelet,
it starts a new `cache-writer` container (new id) after a crash-loop back-off. The
tmpfs pages of the dead writers stay charged to the pod, so the next writers are killed
at the pod limit, again and again. A neighbour pod `default/web-6b8f5` stays healthy.

Needs root and a cgroup v1 memory hierarchy. Everything happens inside this process's
own memory cgroup and in private mount and UTS namespaces (hostname `demo-node`;
tmpfs on /var/lib/kubelet and /var/log/pods that nobody else sees), and is removed at
the end. What the script synthesizes: the kubelet summary given to each snapshot
(`--kubelet-summary-file`), computed from the real cgroup files the moment before, and
the /var/log/pods names. Everything else in the archives is what the kernel showed.

Usage: sudo scripts/record-demo.py [--collector BIN] [--out fixtures/demo]
"""

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timezone

MIB = 1 << 20
NODE = "demo-node"
NS = "default"
POD = ("cache-worker-7d9f", "5b0e8a7c-3d1f-4c6e-9a2b-7f4d1e8c6a90")
WEB = ("web-6b8f5", "0c6a2f91-8e4b-4d7a-b1c3-52e9d0f7a6b4")
APP_LIMIT = 32 * MIB
WRITER_LIMIT = 128 * MIB
POD_LIMIT = APP_LIMIT + WRITER_LIMIT  # the kubelet's pod limit: Σ container limits
WEB_LIMIT = 64 * MIB
CHUNK = 4 * MIB
WRITE_EVERY = 2.0
# The kubelet's crash-loop back-off (10 s, doubling), and the runtime's delay before
# it removes a dead container's cgroup.
BACKOFF = [10, 20, 40, 80]
REMOVE_AFTER = 1.0

# A process that holds `heap` bytes of touched anonymous memory and sleeps.
HOLDER = """
import sys, time
heap = bytearray(int(sys.argv[1])); heap[::4096] = b"x" * len(heap[::4096])
while True: time.sleep(3600)
"""
# The cache writer: a heap, then a 4 MiB file into the emptyDir every 2 s.
WRITER = """
import os, sys, time
heap = bytearray(int(sys.argv[1])); heap[::4096] = b"x" * len(heap[::4096])
chunk = b"\\1" * int(sys.argv[2])
d, tag, every = sys.argv[3], sys.argv[4], float(sys.argv[5])
i = 0
while True:
    with open(os.path.join(d, "%s-%03d.bin" % (tag, i)), "wb") as f:
        f.write(chunk)
    i += 1
    time.sleep(every)
"""


def log(msg):
    print("[record-demo %s] %s" % (datetime.now(timezone.utc).strftime("%H:%M:%S"), msg), flush=True)


def now_rfc3339():
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def own_memory_cgroup():
    """This process's cgroup v1 memory directory and its path in the hierarchy."""
    rel = None
    with open("/proc/self/cgroup") as f:
        for line in f:
            _, ctrls, path = line.rstrip("\n").split(":", 2)
            if "memory" in ctrls.split(","):
                rel = path
    if rel is None:
        sys.exit("no cgroup v1 memory controller in /proc/self/cgroup (cgroup v2 is not supported here)")
    with open("/proc/self/mountinfo") as f:
        for line in f:
            pre, post = line.split(" - ", 1)
            pf, qf = pre.split(), post.split()
            if qf[0] == "cgroup" and "memory" in qf[2].split(","):
                root, mnt = pf[3], pf[4]
                sub = rel[len(root.rstrip("/")):] if rel.startswith(root) else rel
                return os.path.join(mnt, sub.lstrip("/")), rel
    sys.exit("no cgroup v1 memory mount")


def read_stat(cg):
    out = {}
    with open(os.path.join(cg, "memory.stat")) as f:
        for line in f:
            k, v = line.split()
            out[k] = int(v)
    return out


def read_int(cg, name):
    with open(os.path.join(cg, name)) as f:
        return int(f.read().strip())


def mem_view(cg, t):
    """The kubelet's MemoryStats of a cgroup (v1): working set = usage - inactive_file."""
    st = read_stat(cg)
    usage = read_int(cg, "memory.usage_in_bytes")
    return {
        "time": t,
        "usageBytes": usage,
        "workingSetBytes": max(0, usage - st.get("total_inactive_file", 0)),
        "rssBytes": st.get("total_rss", 0),
        "pageFaults": st.get("total_pgfault", 0),
        "majorPageFaults": st.get("total_pgmajfault", 0),
    }


def meminfo():
    out = {}
    with open("/proc/meminfo") as f:
        for line in f:
            k, v = line.split(":", 1)
            out[k] = int(v.split()[0]) * 1024
    return out


class Container:
    def __init__(self, name, cid, cg, proc, started, restart):
        self.name, self.id, self.cg, self.proc = name, cid, cg, proc
        self.started, self.restart = started, restart


class Recorder:
    def __init__(self, args, base):
        self.args = args
        self.base = base
        self.cgroups = []  # created, in order (removed in reverse)
        self.mounts = []
        self.made_dirs = []
        self.procs = []
        self.events = []
        self.dead = None  # the writer whose cgroup awaits removal
        self.t0 = time.monotonic()

    # --- setup -----------------------------------------------------------------
    def mkcg(self, path, limit=None):
        os.mkdir(path)
        self.cgroups.append(path)
        if limit is not None:
            with open(os.path.join(path, "memory.limit_in_bytes"), "w") as f:
                f.write(str(limit))
        return path

    def rmcg(self, path):
        for _ in range(200):
            try:
                os.rmdir(path)
                self.cgroups.remove(path)
                return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError("cannot remove cgroup %s" % path)

    def mount_tmpfs(self, at, size):
        if not os.path.isdir(at):
            top = at
            while not os.path.exists(os.path.dirname(top)):
                top = os.path.dirname(top)
            os.makedirs(at)
            self.made_dirs.append(top)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%d" % size, "tmpfs", at], check=True)
        self.mounts.append(at)

    def event(self, what):
        t = time.monotonic() - self.t0
        self.events.append("%s  +%5.1fs  %s" % (now_rfc3339(), t, what))
        log(what)

    def spawn(self, cg, code, *argv):
        procs = os.path.join(cg, "cgroup.procs")

        def join():
            with open(procs, "w") as f:
                f.write(str(os.getpid()))

        p = subprocess.Popen([sys.executable, "-c", code, *map(str, argv)], preexec_fn=join)
        self.procs.append(p)
        return p

    def new_container(self, pod_cg, pod_dir_log, name, limit, code, argv, restart):
        cid = uuid.uuid4().hex + uuid.uuid4().hex
        cg = self.mkcg(os.path.join(pod_cg, cid), limit)
        logdir = os.path.join(pod_dir_log, name)
        os.makedirs(logdir, exist_ok=True)
        open(os.path.join(logdir, "%d.log" % restart), "w").close()
        p = self.spawn(cg, code, *argv)
        c = Container(name, cid, cg, p, now_rfc3339(), restart)
        self.event("started %s (restart %d) container %s pid %d" % (name, restart, cid[:12], p.pid))
        return c

    # --- the kubelet summary ---------------------------------------------------
    def summary(self, pods):
        t = now_rfc3339()
        mi = meminfo()
        usage = mi["MemTotal"] - mi["MemFree"]
        out = {
            "node": {
                "nodeName": NODE,
                "startTime": self.start_time,
                "memory": {
                    "time": t,
                    "availableBytes": mi["MemAvailable"],
                    "usageBytes": usage,
                    "workingSetBytes": max(0, usage - mi.get("Inactive(file)", 0)),
                    "rssBytes": mi.get("AnonPages", 0),
                },
            },
            "pods": [],
        }
        for (name, uid, pod_cg, containers, volumes) in pods:
            entry = {
                "podRef": {"name": name, "namespace": NS, "uid": uid},
                "startTime": self.start_time,
                "containers": [
                    {"name": c.name, "startTime": c.started, "memory": mem_view(c.cg, t)}
                    for c in containers
                    if c.proc.poll() is None
                ],
                "memory": mem_view(pod_cg, t),
                "volume": [],
            }
            for vname, path in volumes:
                s = os.statvfs(path)
                entry["volume"].append(
                    {
                        "time": t,
                        "availableBytes": s.f_bavail * s.f_frsize,
                        "capacityBytes": s.f_blocks * s.f_frsize,
                        "usedBytes": (s.f_blocks - s.f_bfree) * s.f_frsize,
                        "inodesFree": s.f_ffree,
                        "inodes": s.f_files,
                        "inodesUsed": s.f_files - s.f_ffree,
                        "name": vname,
                    }
                )
            out["pods"].append(entry)
        return out

    def snapshot(self, pods, first):
        fd, path = tempfile.mkstemp(prefix="summary-", suffix=".json", dir=self.work)
        with os.fdopen(fd, "w") as f:
            json.dump(self.summary(pods), f, indent=1)
        cmd = [
            self.args.collector, "snapshot",
            "--cgroup-root", self.base,
            "--kubelet-summary-file", path,
            "--kernel-log", "kmsg",
            "--node-name", NODE,
            "--out", self.raw,
        ]
        if first:
            # Only this recording's kernel messages, not the machine's earlier ones.
            cmd += ["--since", "%ds" % int(time.monotonic() - self.t0 + 2)]
        r = subprocess.run(cmd, capture_output=True, text=True)
        os.unlink(path)
        if r.returncode != 0:
            raise RuntimeError("collector exit %d: %s" % (r.returncode, r.stderr))
        self.event("snapshot %s" % os.path.basename(r.stdout.strip()))

    # --- the story -------------------------------------------------------------
    def run(self):
        a = self.args
        self.work = tempfile.mkdtemp(prefix="podmem-demo-")
        self.raw = os.path.join(self.work, "snapshots")
        self.start_time = now_rfc3339()
        kubelet = "/var/lib/kubelet"
        logs = "/var/log/pods"
        self.mount_tmpfs(kubelet, 16 * MIB)
        self.mount_tmpfs(logs, 1 * MIB)

        kp = self.mkcg(os.path.join(self.base, "kubepods"))
        bu = self.mkcg(os.path.join(kp, "burstable"))
        pod_cg = self.mkcg(os.path.join(bu, "pod" + POD[1]), POD_LIMIT)
        web_cg = self.mkcg(os.path.join(bu, "pod" + WEB[1]), WEB_LIMIT)
        vol = os.path.join(kubelet, "pods", POD[1], "volumes", "kubernetes.io~empty-dir", "cache")
        # The kubelet sizes a memory emptyDir without sizeLimit at the pod limit.
        self.mount_tmpfs(vol, POD_LIMIT)
        pod_log = os.path.join(logs, "%s_%s_%s" % (NS, POD[0], POD[1]))
        web_log = os.path.join(logs, "%s_%s_%s" % (NS, WEB[0], WEB[1]))

        web = self.new_container(web_cg, web_log, "web", WEB_LIMIT, HOLDER, [6 * MIB], 0)
        app = self.new_container(pod_cg, pod_log, "app", APP_LIMIT, HOLDER, [4 * MIB], 0)
        restarts = 0

        def writer():
            return self.new_container(
                pod_cg, pod_log, "cache-writer", WRITER_LIMIT, WRITER,
                [16 * MIB, CHUNK, vol, "w%d" % restarts, WRITE_EVERY], restarts,
            )

        live = {"web": web, "app": app, "cache-writer": writer()}
        died_at = None
        next_start = None
        next_snap = time.monotonic() + 2
        first = True
        end = self.t0 + a.duration
        while True:
            now = time.monotonic()
            w = live.get("cache-writer")
            if w is not None and w.proc.poll() is not None:
                rc = w.proc.returncode
                self.event("cache-writer %s exited (%s)" % (
                    w.id[:12], "SIGKILL" if rc == -signal.SIGKILL else "rc %s" % rc))
                died_at = now
                live.pop("cache-writer")
                self.dead = w
                next_start = now + BACKOFF[min(restarts, len(BACKOFF) - 1)]
            if died_at is not None and now - died_at >= REMOVE_AFTER:
                self.rmcg(self.dead.cg)
                self.event("removed cgroup of cache-writer %s" % self.dead.id[:12])
                died_at = None
            if next_start is not None and now >= next_start and died_at is None and now < end - 5:
                restarts += 1
                live["cache-writer"] = writer()
                next_start = None
            if now >= next_snap:
                pods = [
                    (POD[0], POD[1], pod_cg, [c for k, c in live.items() if k != "web"], [("cache", vol)]),
                    (WEB[0], WEB[1], web_cg, [web], []),
                ]
                self.snapshot(pods, first)
                first = False
                if now >= end:
                    break
                next_snap += a.interval
            time.sleep(0.1)

    def cleanup(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
            p.wait()
        for m in reversed(self.mounts):
            subprocess.run(["umount", "-l", m])
        # Directories made on the host's filesystem for the mount points (empty once
        # unmounted); rmdir, never a recursive delete.
        for d in reversed(self.made_dirs):
            for sub in sorted((r for r, _, _ in os.walk(d)), key=len, reverse=True):
                try:
                    os.rmdir(sub)
                except OSError as e:
                    log("left %s: %s" % (sub, e))
        for cg in reversed(list(self.cgroups)):
            try:
                self.rmcg(cg)
            except RuntimeError as e:
                log(str(e))


def scrub(archive, own_rel):
    """Rewrites one snapshot so it shows the demo, not the machine that recorded it: the
    recorder's own place in the cgroup hierarchy (`own_rel`, the prefix above
    `podmem-demo-<pid>`) becomes the hierarchy root everywhere it appears (manifest,
    kernel log lines), and mounts under /mnt (the recording host's own) are dropped from
    mountinfo. The manifest's byte counts follow; entry order, names, modes and times are
    kept; nothing else changes."""
    import gzip
    import io
    import tarfile

    prefix = own_rel.rstrip("/").encode() + b"/"
    entries = []
    with tarfile.open(archive, "r:gz") as src:
        for m in src.getmembers():
            data = src.extractfile(m).read() if m.isfile() else None
            if data is not None and prefix != b"/":
                data = data.replace(prefix, b"/")
            if m.name == "proc/mountinfo" and data is not None:
                lines = [l for l in data.split(b"\n")
                         if not (len(l.split(b" ")) > 4 and l.split(b" ")[4].startswith(b"/mnt/"))]
                data = b"\n".join(lines)
            entries.append((m, data))
    sizes = {m.name: len(d) for m, d in entries if d is not None}
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.USTAR_FORMAT) as dst:
        for m, data in entries:
            if m.name == "manifest.json":
                man = json.loads(data)
                for src in man.get("sources", []):
                    entry = src.get("entry") or ""
                    if entry in sizes and src.get("bytes") is not None:
                        src["bytes"] = sizes[entry]
                    if src.get("name") == "mountinfo" and (src.get("message") or "").endswith(" mounts"):
                        n = sum(1 for l in dict(entries_by_name(entries))["proc/mountinfo"].split(b"\n") if l)
                        src["message"] = "%d mounts" % n
                data = (json.dumps(man, indent=2) + "\n").encode()
            if data is None:
                dst.addfile(m)
            else:
                m.size = len(data)
                dst.addfile(m, io.BytesIO(data))
    tmp = archive + ".scrub"
    with open(tmp, "wb") as f:
        f.write(gzip.compress(out.getvalue(), compresslevel=6, mtime=0))
    os.replace(tmp, archive)


def entries_by_name(entries):
    return [(m.name, d) for m, d in entries if d is not None]

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap.add_argument("--collector", help="podmem-collector binary (default: cargo build --release)")
    ap.add_argument("--out", default=os.path.join(here, "fixtures", "demo"))
    ap.add_argument("--interval", type=float, default=8.0, help="seconds between snapshots")
    ap.add_argument("--duration", type=float, default=160.0, help="seconds of recording")
    ap.add_argument("--scrub-only", metavar="OWN_REL",
                    help="only rewrite the archives in --out as scrub() does, with OWN_REL as the recorder's cgroup")
    a = ap.parse_args()
    if a.scrub_only is not None:
        for f in sorted(os.listdir(a.out)):
            if f.endswith(".tar.gz"):
                scrub(os.path.join(a.out, f), a.scrub_only)
        return
    if os.geteuid() != 0:
        sys.exit("record-demo: needs root (cgroups, tmpfs mounts, /dev/kmsg)")

    if os.environ.get("PODMEM_DEMO_NS") != "1":
        if a.collector is None:
            subprocess.run(["cargo", "build", "--release", "-p", "podmem-collector"], cwd=here, check=True)
            target = os.environ.get("CARGO_TARGET_DIR", os.path.join(here, "target"))
            a.collector = os.path.join(target, "release", "podmem-collector")
        a.collector = os.path.abspath(a.collector)
        argv = [sys.executable, os.path.abspath(__file__), "--collector", a.collector, "--out",
                os.path.abspath(a.out), "--interval", str(a.interval), "--duration", str(a.duration)]
        # Private mount and UTS namespaces: the tmpfs mounts and the hostname are ours.
        env = dict(os.environ, PODMEM_DEMO_NS="1")
        os.execvpe("unshare", ["unshare", "--mount", "--uts", "--propagation", "private", *argv], env)

    socket.sethostname(NODE)
    own, own_rel = own_memory_cgroup()
    base = os.path.join(own, "podmem-demo-%d" % os.getpid())
    os.mkdir(base)
    r = Recorder(a, base)
    r.cgroups.append(base)
    ok = False
    try:
        r.run()
        ok = True
    finally:
        r.cleanup()
    if ok:
        os.makedirs(a.out, exist_ok=True)
        for f in os.listdir(a.out):
            if f.endswith(".tar.gz"):
                os.unlink(os.path.join(a.out, f))
        n = 0
        for f in sorted(os.listdir(r.raw)):
            if f.endswith(".tar.gz"):
                scrub(os.path.join(r.raw, f), own_rel)
                shutil.copy(os.path.join(r.raw, f), a.out)
                n += 1
        with open(os.path.join(a.out, "events.txt"), "w") as f:
            f.write("# What record-demo.py did, with wall-clock (UTC) and elapsed times.\n")
            f.write("\n".join(r.events) + "\n")
        shutil.rmtree(r.work, ignore_errors=True)
        log("wrote %d snapshots and events.txt to %s" % (n, a.out))


if __name__ == "__main__":
    main()
