"""The get_block cost part of `make bench`: what the lab's wrapper of get_block
(kmod/lab_get_block.c) costs when every lab feature is off.

Two builds of the module are loaded in turn in the same VM boot, each mounting the
same mpagefs disk read-only:

  nolab    build/mpagefs-nolab.ko (make module-nolab: Kbuild's MPAGEFS_LAB=0), whose
           address_space operations call the plain get_block of kmod/map.c
  lab-off  build/mpagefs.ko mounted stats=off: every lab feature off, so the wrapper
           only tests them and calls the plain get_block
  lab-on   build/mpagefs.ko with the default options (counters on): for scale

Each runs tests/bench/fibmap.c on the big file: FIBMAP of every block, round after
round for gb_seconds after one untimed round that brings the indirect blocks into
the buffer cache.  Each FIBMAP is exactly one get_block call (lab-on's counters
check it), so calls/s is get_block calls per second on cached metadata.  The boot
runs under QEMU's -icount (ICOUNT_SHIFT): the guest's clock counts instructions,
so a "second" is 10^9 guest instructions and the figures measure the code, not
the host's load (which, on a shared 2-core host, moved wall-clock figures by a
factor of 5 between rounds).  The builds still alternate in every round (A B C,
then C B A, ...); the ratio of a round is lab-off / nolab of that round, and the
report gives its median and range over the rounds.
"""
import json
import os
import subprocess
from pathlib import Path

import shape
from mdtable import table

HERE = Path(__file__).resolve().parent
BUILDS = ("nolab", "lab-off", "lab-on")
# QEMU -icount shift of the boot (qemu/vm.py): one guest instruction = 2^0 ns, so
# a guest second is 10^9 instructions whatever the host's load.
ICOUNT_SHIFT = 0
NOLAB_KO = "mpagefs-nolab.ko"


def build_helper(build):
    """BUILD/fibmap, (re)built static from tests/bench/fibmap.c when older."""
    exe = Path(build) / "fibmap"
    src = HERE / "fibmap.c"
    if not exe.exists() or exe.stat().st_mtime < src.stat().st_mtime:
        tmp = exe.with_name(f"fibmap.{os.getpid()}.tmp")
        subprocess.run(["gcc", "-static", "-O2", "-Wall", "-Wextra", "-Werror", "-o", str(tmp), str(src)],
                       check=True)
        tmp.replace(exe)
    return exe


def files(build):
    """The files the guest needs in /job: {name: host path}."""
    nolab = Path(build) / NOLAB_KO
    if not nolab.exists():
        raise FileNotFoundError(f"{nolab} missing: run make module-nolab")
    return {NOLAB_KO: nolab, "fibmap": build_helper(build)}


def _load(build):
    if build == "nolab":
        return f"insmod /job/{NOLAB_KO}"
    return "loadmod mpagefs"


def steps(peer, cfg):
    """[(label, [commands])] for the get_block cost rounds on PEER (an mpagefs
    peer whose disk holds /big); cfg: gb_rounds, gb_seconds.  Every module
    loaded is unloaded again, and the lab module is loaded at the end."""
    out = []
    mnt = "/mnt/gbcost"
    rounds, secs = cfg["gb_rounds"], cfg["gb_seconds"]
    sysfs = f"/sys/fs/mpagefs/{peer.dev.split('/')[-1]}"
    out.append(("get_block cost: unload the lab module", [f"mkdir -p {mnt}", "rmmod mpagefs"]))
    for r in range(1, rounds + 1):
        order = BUILDS if r % 2 else tuple(reversed(BUILDS))
        for b in order:
            opts = "ro,stats=off" if b == "lab-off" else "ro"
            tag = f"{b}.{r}"
            cmds = [_load(b), f"mount -t mpagefs -o {opts} {peer.dev} {mnt}"]
            if b == "lab-on":
                cmds.append(f"cat {sysfs}/get_block_calls > $OUT/res/gbcost.{tag}.before")
            cmds.append(f"/job/fibmap {mnt}/big {secs} > $OUT/res/gbcost.{tag}.json")
            if b == "lab-on":
                cmds.append(f"cat {sysfs}/get_block_calls > $OUT/res/gbcost.{tag}.after")
            cmds += [f"cat $OUT/res/gbcost.{tag}.json", f"umount {mnt}", "rmmod mpagefs"]
            out.append((f"get_block cost round {r}/{rounds}: {b}", cmds))
    out.append(("get_block cost: reload the lab module", ["loadmod mpagefs"]))
    return out


def collect(res, cfg):
    """The rounds' figures from the guest's result directory RES, or None."""
    rounds = []
    for r in range(1, cfg.get("gb_rounds", 0) + 1):
        row = {}
        for b in BUILDS:
            f = Path(res) / f"gbcost.{b}.{r}.json"
            if f.exists():
                row[b] = json.loads(f.read_text())
        before, after = Path(res) / f"gbcost.lab-on.{r}.before", Path(res) / f"gbcost.lab-on.{r}.after"
        if before.exists() and after.exists():
            row["lab-on_counted"] = int(after.read_text()) - int(before.read_text())
        if row:
            rounds.append(row)
    if not rounds:
        return None
    return {"rounds": rounds, **summary(rounds)}


def summary(rounds):
    """Per build: median calls/s; per ratio: median, min, max over the rounds
    that have both builds."""
    out = {"calls_per_s": {}, "ratio": {}}
    for b in BUILDS:
        v = [r[b]["calls_per_s"] for r in rounds if b in r]
        if v:
            out["calls_per_s"][b] = shape.summary(v)
    for a in ("lab-off", "lab-on"):
        v = [r[a]["calls_per_s"] / r["nolab"]["calls_per_s"] for r in rounds if a in r and "nolab" in r]
        if v:
            out["ratio"][f"{a} / nolab"] = shape.summary(v)
    sums = {r[b]["block_sum"] for r in rounds for b in BUILDS if b in r}
    out["same_blocks"] = len(sums) == 1
    # every FIBMAP one get_block call: lab-on counted (untimed round + timed rounds) calls
    out["one_call_per_fibmap"] = all(
        r["lab-on_counted"] == r["lab-on"]["calls"] + r["lab-on"]["blocks"]
        for r in rounds if "lab-on_counted" in r and "lab-on" in r)
    return out


def markdown(gb):
    if not gb:
        return ""
    L = ["get_block on cached metadata (FIBMAP of every block of the big file on mpagefs-4k, "
         f"{len(gb['rounds'])} rounds, builds alternating, guest time under QEMU -icount: "
         "calls per 10^9 guest instructions; median (min-max)):", "",
         ]
    L += table(["build", "get_block calls/s"],
               [[b, f"{s['median']:.0f} ({s['min']:.0f}-{s['max']:.0f})"]
                for b, s in ((b, gb["calls_per_s"].get(b)) for b in BUILDS) if s])
    L += [""] + table(["ratio (per round)", "min", "median", "max"],
                      [[k, f"{s['min']:.3f}", f"{s['median']:.3f}", f"{s['max']:.3f}"]
                       for k, s in gb["ratio"].items()])
    L += ["", f"Same blocks mapped by every build: {'yes' if gb['same_blocks'] else 'NO'}; "
          f"one counted get_block call per FIBMAP (lab-on): {'yes' if gb['one_call_per_fibmap'] else 'NO'}."]
    return "\n".join(L) + "\n"
