"""The create cost part of `make bench`: the guest CPU one small-file create
costs on mpagefs-4k and on ext2-4k, measured in guest instructions.

The timed small-create workload fsyncs every file, so its wall-clock figure is
mostly the host's fdatasync of the image (10,000 per repeat) and moves by 30%
between runs on a shared host; it cannot show what the filesystem itself
costs.  These rounds run in the get_block cost boot (gbcost.py), under QEMU's
-icount shift=0: while the vCPU runs, one guest nanosecond is one instruction,
whatever the host's load.  Each round, each peer (the order alternating)
creates the small-files workload's files, --no-fsync, into a new directory
after a cold remount, with periodic writeback off: what is counted is the
lookup, the inode and block allocation, the directory insert and the page
cache writes of every file, plus the idle time of the inode-table blocks
read in (the same count on both peers; the guest clock follows the host's
while the vCPU idles, a few ms).  The ratio of a round is ext2-4k's time over
mpagefs-4k's (higher = mpagefs cheaper); the report gives the median and
range over the rounds.
"""
import json
from pathlib import Path

from mdtable import table
from shape import summary

PEERS = ("mpagefs-4k", "ext2-4k")


def steps(peers, cfg):
    """[(label, [commands])] for the create cost rounds on PEERS (Peer objects
    named as in PEERS, mounted at /mnt/NAME); cfg: cc_rounds, small_files,
    small_size.  Periodic writeback is off during the rounds and back after."""
    by_name = {p.name: p for p in peers}
    missing = [n for n in PEERS if n not in by_name]
    if missing:
        raise ValueError(f"create cost: no peer {', '.join(missing)}")
    sysctl = "/proc/sys/vm/dirty_writeback_centisecs"
    out = [("create cost: periodic writeback off",
            [f"cat {sysctl} > $OUT/res/ccost.writeback", f"echo 0 > {sysctl}"])]
    rounds = cfg["cc_rounds"]
    for r in range(1, rounds + 1):
        order = PEERS if r % 2 else tuple(reversed(PEERS))
        for name in order:
            p = by_name[name]
            d = f"/mnt/{p.name}/c{r}"
            out.append((f"create cost round {r}/{rounds}: {name}",
                        [p.cold(), f"mkdir {d}",
                         f"mpagectl workload many-small-files {d} --count {cfg['small_files']} "
                         f"--size {cfg['small_size']} --seed {r} --no-fsync --json "
                         f"> $OUT/res/ccost.{name}.{r}.json",
                         f"grep -m1 elapsed_ns $OUT/res/ccost.{name}.{r}.json",
                         "sync"]))
    out.append(("create cost: periodic writeback back on", [f"cat $OUT/res/ccost.writeback > {sysctl}"]))
    return out


def collect(res, cfg):
    """The rounds' figures from the guest's result directory RES, or None:
    {"files", "rounds": [{peer: elapsed ns}], "ns_per_create": {peer: stats},
    "ratio": stats of ext2-4k / mpagefs-4k per round}."""
    rounds = []
    for r in range(1, cfg.get("cc_rounds", 0) + 1):
        row = {}
        for name in PEERS:
            f = Path(res) / f"ccost.{name}.{r}.json"
            if f.exists():
                row[name] = json.loads(f.read_text())["elapsed_ns"]
        if row:
            rounds.append(row)
    if not rounds:
        return None
    files = cfg["small_files"]
    out = {"files": files, "rounds": rounds, "ns_per_create": {}}
    for name in PEERS:
        v = [r[name] / files for r in rounds if name in r]
        if v:
            out["ns_per_create"][name] = summary(v)
    v = [r["ext2-4k"] / r["mpagefs-4k"] for r in rounds if len(r) == len(PEERS)]
    out["ratio"] = summary(v) if v else None
    return out


def markdown(cc):
    if not cc:
        return ""
    L = [f"Guest CPU of a small-file create ({cc['files']} files of the small-files workload, --no-fsync, "
         f"into one new directory per peer after a cold remount; {len(cc['rounds'])} rounds, peers "
         "alternating; guest time under QEMU -icount shift=0: 1 ns = 1 instruction while the vCPU "
         "runs; median (min-max)):", ""]
    L += table(["peer", "guest instructions per create (thousands)"],
               [[n, f"{s['median'] / 1e3:.1f} ({s['min'] / 1e3:.1f}-{s['max'] / 1e3:.1f})"]
                for n, s in cc["ns_per_create"].items()])
    if cc.get("ratio"):
        s = cc["ratio"]
        L += ["", f"ext2-4k / mpagefs-4k per round (higher = mpagefs cheaper): median {s['median']:.2f} "
              f"({s['min']:.2f}-{s['max']:.2f})."]
    return "\n".join(L) + "\n"
