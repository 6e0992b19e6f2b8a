#!/usr/bin/python3
"""make bench: mpagefs against ext2, vfat and the raw device in one VM run,
then mpagectl's trace decoding against blkparse on the host.

    /usr/bin/python3 tests/bench/bench.py [--build build] [--out build/bench]
        [--repeats 3] [--size 256M] [--small-files 10000] [--quick]
        [--skip-vm] [--skip-tools] [--gb-rounds 11] [--cc-rounds 2] [--get-block-only]

Writes build/bench/results.json (every figure of every repeat), results.md
(the tables) and plots (*.svg).  Documentation/bench.rst describes the method.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
TOP = HERE.parents[1]
sys.path.insert(0, str(TOP / "qemu"))
sys.path.insert(0, str(HERE))

import createcost  # noqa: E402
import gbcost  # noqa: E402
import guest  # noqa: E402
import report  # noqa: E402
import shape  # noqa: E402
import tools  # noqa: E402
from vm import run_vm, VmError  # noqa: E402

SIZES = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}


def parse_size(s):
    m = re.fullmatch(r"(\d+)([KMG]?)", s)
    if not m:
        raise argparse.ArgumentTypeError(f"bad size {s!r}")
    return int(m.group(1)) * SIZES.get(m.group(2), 1)


def log(msg):
    print(f"bench: {msg}", flush=True)


def run(cmd, **kw):
    return subprocess.run([str(c) for c in cmd], check=True, text=True, capture_output=True, **kw)


def make_source(out, size):
    """build/bench/src/big: `size` bytes of reproducible pseudo-random data."""
    src = out / "src"
    big = src / "big"
    if big.exists() and big.stat().st_size == size:
        return src
    src.mkdir(parents=True, exist_ok=True)
    import random
    rnd = random.Random(5)
    with open(big, "wb") as f:
        left = size
        while left:
            n = min(left, 1 << 20)
            f.write(rnd.randbytes(n))
            left -= n
    return src


def fill_holes(path, chunk=1 << 20):
    """Write zeros into every hole of a sparse image file, so that each peer's
    disk is allocated on the host before the run.  A guest write into a hole
    makes the host allocate blocks, and the guest's next flush (fdatasync of
    the image in QEMU) then commits the host's journal too: the device time
    of a write or flush depended on where a filesystem put its blocks, not on
    the I/O it issued.  Returns the bytes written."""
    zeros = bytes(chunk)
    written = 0
    with open(path, "r+b") as f:
        fd, size, pos = f.fileno(), os.fstat(f.fileno()).st_size, 0
        while pos < size:
            try:
                hole = os.lseek(fd, pos, os.SEEK_HOLE)
            except OSError:
                break
            if hole >= size:
                break
            try:
                data = os.lseek(fd, hole, os.SEEK_DATA)
            except OSError:     # ENXIO: a hole up to the end
                data = size
            at = hole
            while at < data:
                n = os.pwrite(fd, zeros[:min(chunk, data - at)], at)
                at += n
                written += n
            pos = data
        os.fsync(fd)
    return written


def make_images(out, mpagectl, cfg, only=None):
    """One disk per peer, all of the same size; big holds the same bytes.
    only: the names of the peers to make (default: all)."""
    disk = cfg["disk_size"]
    src = make_source(out, cfg["size"])
    img = out / "images"
    shutil.rmtree(img, ignore_errors=True)
    img.mkdir(parents=True)
    # every repeat's small files, and with --trace-small a traced copy of the first
    inodes = cfg["small_files"] * (cfg["repeats"] + bool(cfg.get("trace_small"))) + 1000
    peers = []
    for bs in (1024, 4096):
        p = guest.Peer(f"mpagefs-{bs // 1024}k", "mpagefs", bs, image=img / f"mpagefs-{bs // 1024}k.img",
                       small=bs in cfg["small_blocks"])
        if only and p.name not in only:
            continue
        run([mpagectl, "mkfs", "--block-size", bs, "--size", disk, "--inodes", inodes,
             "--populate", src, p.image])
        peers.append(p)
    for bs in (1024, 4096):
        p = guest.Peer(f"ext2-{bs // 1024}k", "ext2", bs, image=img / f"ext2-{bs // 1024}k.img",
                       small=bs in cfg["small_blocks"])
        if only and p.name not in only:
            continue
        run(["truncate", "-s", disk, p.image])
        run(["mkfs.ext2", "-q", "-F", "-b", bs, "-I", "128", "-N", inodes, p.image])
        # debugfs allocates as ext2 does for a sequential write: each
        # indirect block right before the data it maps.
        run(["debugfs", "-w", "-R", f"write {src / 'big'} big", p.image])
        peers.append(p)
    if not only:
        p = guest.Peer("vfat", "vfat", 4096, image=img / "vfat.img",
                       small=cfg.get("small_vfat", False) and 4096 in cfg["small_blocks"])
        run(["truncate", "-s", disk, p.image])
        run(["mkfs.vfat", "-F", "32", "-S", "512", "-s", "8", p.image])
        peers.append(p)
        p = guest.Peer("raw", "raw", 512, image=img / "raw.img", small=False)
        run(["truncate", "-s", disk, p.image])
        # The same bytes at the start of the device, so the raw reads are of
        # data, not of a sparse file's holes on the host.
        with open(src / "big", "rb") as fi, open(p.image, "r+b") as fo:
            shutil.copyfileobj(fi, fo, 1 << 20)
        peers.append(p)
        if cfg.get("peers"):
            peers = [p for p in peers if p.name in cfg["peers"]]
    for i, p in enumerate(peers):
        p.dev = "/dev/vd" + chr(ord("c") + i)
        if not cfg.get("sparse_images"):
            fill_holes(p.image)
    return peers


class Tail(threading.Thread):
    """Prints the guest's progress lines while the VM runs."""

    def __init__(self, path, start):
        super().__init__(daemon=True)
        self.path, self.start_time = path, start
        self.stop = threading.Event()

    def run(self):
        pos, buf = 0, ""
        while not self.stop.is_set():
            time.sleep(1)
            try:
                with open(self.path, errors="replace") as f:
                    f.seek(pos)
                    chunk = f.read()
                    pos = f.tell()
            except OSError:
                continue
            buf += chunk
            *lines, buf = buf.split("\n")
            for line in lines:
                self.show(line)

    def show(self, line):
        t = time.monotonic() - self.start_time
        line = line.strip()
        if line.startswith("bench: "):
            print(f"  [{t:6.0f} s] {line[7:]}", flush=True)
        elif line.startswith("{") and "mib_per_s" in line:
            try:
                j = json.loads(line)
                extra = f", {j['ops_per_s']:.0f} ops/s" if j["op"] == "rand-read" else ""
                print(f"  {'':10} {j['op']}: {j['mib_per_s']:.1f} MiB/s in {j['seconds']:.2f} s{extra}",
                      flush=True)
            except (ValueError, KeyError):
                pass
        elif line.startswith('"elapsed_ns"'):
            ns = int(re.sub(r"\D", "", line))
            print(f"  {'':10} {ns / 1e9:.2f} s", flush=True)
        elif line and not line.startswith("{"):
            print(f"  {'':10} guest: {line}", flush=True)


def run_guest(build, out, peers, cfg, files=None, icount=None, smp=2):
    script, nsteps = guest.script(peers, cfg)
    vmdir = out / "vm"
    log(f"booting the VM (TCG, 2 GiB, {len(peers)} disks of {cfg['disk_size'] >> 20} MiB), "
        f"{nsteps} steps; guest output: {vmdir / 'result.txt'}")
    vmdir.mkdir(parents=True, exist_ok=True)
    (vmdir / "result.txt").unlink(missing_ok=True)
    tail = Tail(vmdir / "result.txt", time.monotonic())
    tail.start()
    try:
        r = run_vm(build, script, disks=[p.image for p in peers], files=files, out_dir=vmdir,
                   timeout=cfg["timeout"], mem="2G", modules=["vfat", "nls_cp437", "nls_iso8859-1"], check=True,
                   icount=icount, smp=smp)
    finally:
        tail.stop.set()
        tail.join()
    log(f"VM done: boot {r.boot_seconds or 0:.1f} s, total {r.wall_seconds:.0f} s")
    return r


def get_block_run(build, out, mpagectl, cfg, files):
    """The get_block cost rounds (gbcost.py) and the create cost rounds
    (createcost.py) in a VM boot of their own, on fresh mpagefs-4k (and, for
    the create cost, ext2-4k) disks, under QEMU's -icount (gbcost.ICOUNT_SHIFT):
    the guest's clock counts instructions, so neither figure depends on the
    host's load.  Writes OUT/gb/."""
    cfg = {**cfg, "gb_only": True}
    gb = out / "gb"
    gb.mkdir(parents=True, exist_ok=True)
    what = " and ".join(w for w, n in (("get_block cost", cfg["gb_rounds"]),
                                       ("create cost", cfg.get("cc_rounds"))) if n)
    log(f"{what}: one more boot, under -icount")
    only = set(createcost.PEERS) if cfg.get("cc_rounds") else {"mpagefs-4k"}
    peers = make_images(gb, mpagectl, cfg, only=only)
    try:
        # one vCPU: under -icount the boot of a second one did not finish in minutes
        run_guest(build, gb, peers, cfg, files=files, icount=gbcost.ICOUNT_SHIFT, smp=1)
    except VmError as e:
        sys.exit(f"bench: the {what} VM run failed: {e}")


def get_block_only(build, out, mpagectl, cfg, files, t0):
    """--get-block-only: the get_block cost rounds alone."""
    if not cfg["gb_rounds"]:
        sys.exit("bench: --get-block-only needs --gb-rounds > 0")
    get_block_run(build, out, mpagectl, {**cfg, "cc_rounds": 0}, files)
    res = out / "gb" / "vm" / "out" / "res"
    gb = gbcost.collect(res, cfg)
    uname = res / "uname.txt"
    md = (f"Guest kernel {uname.read_text().strip() if uname.exists() else '?'}, QEMU/TCG -icount "
          f"shift={gbcost.ICOUNT_SHIFT}.\n\n" + gbcost.markdown(gb))
    (out / "gb" / "results-gb.json").write_text(json.dumps({"config": cfg, "get_block_cost": gb}, indent=1))
    (out / "gb" / "results-gb.md").write_text(md)
    print(md)
    log(f"done in {(time.monotonic() - t0) / 60:.1f} min: {out / 'gb' / 'results-gb.md'}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=str(TOP / "build"))
    ap.add_argument("--out", default=None, help="default BUILD/bench")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--size", type=parse_size, default=parse_size("256M"), help="big file size")
    ap.add_argument("--disk-size", type=parse_size, default=None, help="every disk (default size*2.5)")
    ap.add_argument("--small-files", type=int, default=10000)
    ap.add_argument("--small-batches", type=int, default=10,
                    help="the timed small-files create in this many batches, the peers taking turns after "
                         "each (1: each peer creates all its files in one go)")
    ap.add_argument("--small-size", default="4K", help="small files are 0..this many bytes")
    ap.add_argument("--small-blocks", default="4096",
                    help="block sizes whose peers run the small-files workload (comma list; vfat counts "
                         "as 4096); default 4096 only, to keep the run under ~25 min under TCG")
    ap.add_argument("--small-vfat", action="store_true",
                    help="vfat runs the small-files workload too (10,000 files in one FAT directory take "
                         "~7 min per repeat under TCG: off by default)")
    ap.add_argument("--workloads", default=",".join(guest.WORKLOAD_GROUPS),
                    help="comma list of the workloads to run (default all: %(default)s; churn: "
                         "fragmentation, see guest.churn_plan); e.g. --workloads rand-read, or "
                         "--workloads small --peers mpagefs-4k,ext2-4k --size 1M --skip-tools")
    ap.add_argument("--rand-ops", type=int, default=3000)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--trace-events", default="1000000,10000000",
                    help="sizes of the synthetic captures for the decoder benchmark")
    ap.add_argument("--quick", action="store_true",
                    help="a smoke run: 32 MiB, 300 small files, 200k/1M-event captures")
    ap.add_argument("--skip-vm", action="store_true", help="reuse OUT/vm from the last run")
    ap.add_argument("--skip-tools", action="store_true", help="no decoder benchmark")
    ap.add_argument("--tools-json", help="take the decoder benchmark from this file (written by an earlier "
                                         "run as OUT/tools.json) instead of running it")
    ap.add_argument("--timeout", type=int, default=2400, help="guest job timeout (s)")
    ap.add_argument("--gb-rounds", type=int, default=11,
                    help="rounds of the get_block cost measurement (gbcost.py; 0: none)")
    ap.add_argument("--gb-seconds", type=float, default=1.0, help="timed seconds per build and round")
    ap.add_argument("--cc-rounds", type=int, default=2,
                    help="rounds of the create cost measurement (createcost.py: guest instructions per "
                         "small-file create on mpagefs-4k and ext2-4k, in the get_block cost boot; 0: none)")
    ap.add_argument("--get-block-only", action="store_true",
                    help="only the get_block cost measurement (one disk, a few minutes): "
                         "OUT/results-gb.md and results-gb.json")
    ap.add_argument("--peers", default="",
                    help="comma list of the peers to run (default all: mpagefs-1k, mpagefs-4k, ext2-1k, "
                         "ext2-4k, vfat, raw)")
    ap.add_argument("--sparse-images", action="store_true",
                    help="leave the images sparse on the host (by default their holes are filled with "
                         "zeros first: see fill_holes)")
    ap.add_argument("--trace-small", action="store_true",
                    help="capture the first repeat's small-files create and read-back again under "
                         "blktrace (untimed), for the per-peer I/O tables")
    a = ap.parse_args()
    if a.quick:
        a.size, a.small_files, a.trace_events = parse_size("32M"), 300, "200000,1000000"
        a.gb_rounds = min(a.gb_rounds, 5)
    build = Path(a.build).resolve()
    out = Path(a.out).resolve() if a.out else build / "bench"
    mpagectl = build / "mpagectl"
    for f in (mpagectl, build / "initramfs.cpio.gz", build / "mpagefs.ko", build / "ext2.ko"):
        if not f.exists():
            sys.exit(f"bench: {f} missing: run make first")
    cfg = {"size": a.size, "disk_size": a.disk_size or (a.size * 5 // 2 + (64 << 20)),
           "repeats": a.repeats, "small_files": a.small_files, "small_size": a.small_size,
           "small_batches": a.small_batches,
           "small_blocks": [int(x) for x in a.small_blocks.split(",") if x], "small_vfat": a.small_vfat,
           "rand_ops": a.rand_ops, "threads": a.threads, "read_block": "1M", "write_block": "1M",
           "timeout": a.timeout, "workloads": [w for w in a.workloads.split(",") if w],
           "gb_rounds": a.gb_rounds, "gb_seconds": a.gb_seconds, "cc_rounds": a.cc_rounds,
           "peers": [p for p in a.peers.split(",") if p], "trace_small": a.trace_small,
           "sparse_images": a.sparse_images}
    bad = set(cfg["workloads"]) - set(guest.WORKLOAD_GROUPS)
    if bad:
        sys.exit(f"bench: unknown workload(s) {', '.join(sorted(bad))} "
                 f"(known: {', '.join(guest.WORKLOAD_GROUPS)})")
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    gb_files = gbcost.files(build) if a.gb_rounds and not a.skip_vm else None
    if a.get_block_only:
        get_block_only(build, out, mpagectl, cfg, gb_files, t0)
        return
    if not a.skip_vm:
        log(f"images: {len(range(6))} disks, big file {a.size >> 20} MiB")
        peers = make_images(out, mpagectl, cfg)
        (out / "peers.json").write_text(json.dumps(
            [{k: v for k, v in {**vars(p), "image": str(p.image)}.items() if k != "opts"} for p in peers], indent=1))
        (out / "config.json").write_text(json.dumps(cfg, indent=1))
        try:
            run_guest(build, out, peers, {**cfg, "gb_rounds": 0, "cc_rounds": 0})
        except VmError as e:
            sys.exit(f"bench: the VM run failed: {e}")
        if cfg["gb_rounds"] or cfg["cc_rounds"]:
            get_block_run(build, out, mpagectl, cfg, gb_files)
    else:
        cfg = json.loads((out / "config.json").read_text())
        # --repeats below the run's own: analyse only the first N repeats
        # (e.g. of a run that stopped during the last one).
        if a.repeats < cfg["repeats"]:
            cfg["repeats_run"], cfg["repeats"] = cfg["repeats"], a.repeats
        peers = [guest.Peer(**{**p, "image": Path(p["image"])})
                 for p in json.loads((out / "peers.json").read_text())]
    log("analysing traces")
    results = report.collect(out, mpagectl, peers, cfg)
    if a.tools_json:
        results["tools"] = json.loads(Path(a.tools_json).read_text())
    elif not a.skip_tools:
        sizes = [int(x) for x in a.trace_events.split(",")]
        img = next(p.image for p in peers if p.fstype == "mpagefs")
        results["tools"] = tools.run(out, mpagectl, sizes, image=img, log=log)
        (out / "tools.json").write_text(json.dumps(results["tools"], indent=1))
    results["wall_seconds"] = time.monotonic() - t0
    (out / "results.json").write_text(json.dumps(results, indent=1))
    md = report.markdown(results)
    (out / "results.md").write_text(md)
    report.plots(out, results, log=log)
    print(md)
    log(f"done in {results['wall_seconds'] / 60:.1f} min: {out / 'results.md'}, "
        f"{out / 'results.json'}, plots {out}/*.svg")


if __name__ == "__main__":
    main()
