#!/usr/bin/python3
"""Replay the traced small-files create of each peer on the host: its writes
and cache flushes, as pwrite(2) and fdatasync(2) on a copy of its image.

    /usr/bin/python3 tests/bench/replay_flush.py [--bench build/bench] [--batch 250] [--runs 3]

A diagnostic for the small-create figure (Documentation/bench.rst, "Small
files created"): under QEMU each guest write of the create is a pwrite of the
image file and each flush an fdatasync, so the device time of a peer's create
is what the host takes for that sequence.  This takes the guest out: the
dispatched writes (D events) and flushes of `make bench --trace-small`'s
capture of each peer are replayed on a copy of that peer's image, the peers
alternating every BATCH fsync groups (one group = the writes before a flush,
and the flush) so that the host's drift hits both alike, and the time per
group is reported per peer with the ratio ext2-4k / mpagefs-4k (higher =
mpagefs's sequence is cheaper on this host).
"""
import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

PEERS = ("mpagefs-4k", "ext2-4k")


def groups(decoded):
    """`mpagectl decode` lines -> [[(offset, length), ...] per flush]: the
    dispatched writes before each dispatched flush."""
    out, cur = [], []
    for line in decoded.splitlines():
        f = line.split()
        if len(f) < 7 or f[5] != "D":
            continue
        if "W" in f[6] and len(f) >= 10 and f[8] == "+":
            cur.append((int(f[7]) * 512, int(f[9]) * 512))
        elif "F" in f[6]:
            out.append(cur)
            cur = []
    return out


def replay(fds, seqs, batch):
    """Seconds per peer, the peers alternating every BATCH groups."""
    total = {p: 0.0 for p in fds}
    n = min(len(s) for s in seqs.values())
    zeros = bytes(max((ln for s in seqs.values() for g in s for _, ln in g), default=0))
    for k, start in enumerate(range(0, n, batch)):
        for p in (PEERS if k % 2 == 0 else PEERS[::-1]):
            fd, t = fds[p], time.monotonic()
            for g in seqs[p][start:start + batch]:
                for off, ln in g:
                    os.pwrite(fd, zeros[:ln], off)
                os.fdatasync(fd)
            total[p] += time.monotonic() - t
    return total, n


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bench", default="build/bench", help="the make bench output (with --trace-small)")
    ap.add_argument("--mpagectl", default="build/mpagectl")
    ap.add_argument("--batch", type=int, default=250)
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    bench = Path(a.bench)
    work = bench / "replay"
    work.mkdir(exist_ok=True)
    seqs, fds = {}, {}
    for p in PEERS:
        prefix = bench / "vm" / "out" / "trace" / f"small-create.{p}.1"
        if not Path(f"{prefix}.blktrace.0").exists():
            sys.exit(f"replay_flush: no capture {prefix}.blktrace.*: run make bench BENCH_ARGS=--trace-small")
        dec = subprocess.run([a.mpagectl, "decode", str(prefix)], check=True, capture_output=True, text=True)
        seqs[p] = groups(dec.stdout)
        copy = work / f"{p}.img"
        shutil.copyfile(bench / "images" / f"{p}.img", copy)
        fds[p] = os.open(copy, os.O_RDWR)
        os.fsync(fds[p])
    try:
        for r in range(1, a.runs + 1):
            total, n = replay(fds, seqs, a.batch)
            per = {p: total[p] / n * 1e3 for p in PEERS}
            print(f"run {r}: {n} fsync groups; " + ", ".join(f"{p} {per[p]:.3f} ms" for p in PEERS)
                  + f"; ext2-4k / mpagefs-4k {total['ext2-4k'] / total['mpagefs-4k']:.3f}", flush=True)
    finally:
        for fd in fds.values():
            os.close(fd)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
