"""The guest side of `make bench`: one sh script, generated here from the plan,
run once in the VM (qemu/vm.py).  Every step is written out (no loops in sh),
so the script in build/bench/vm/job.sh is the exact record of what ran.

Each step prints "bench: [i/N] ..." before it runs and the JSON line of
`mpagectl bench-io` (or a summary of `mpagectl workload`) after, on the job's
stdout (ttyS1), which the host tails to show progress.
"""
import shlex

import createcost
import gbcost

PRELUDE = r"""set -e
export LC_ALL=C
# cold NAME FSTYPE DEV [OPTS]: unmount and mount NAME again (cold inode, indirect and FAT
# blocks), then sync and drop every clean cache.
cold() {
	if [ "$2" != raw ]; then
		umount "/mnt/$1"
		mount -t "$2" ${4:+-o "$4"} "$3" "/mnt/$1"
	fi
	sync
	echo 3 > /proc/sys/vm/drop_caches
}
step() { echo "bench: $*"; }
# traced_failed BASE: `mpagectl trace -- CMD` failed.  If CMD itself ran (its
# JSON is there) only the capture is lost: say so and go on (the host leaves
# that trace out of the shapes); otherwise stop.
traced_failed() {
	echo "bench: WARNING: $(tail -n 1 "$1.err")"
	grep -q '"op"' "$1.json" 2>/dev/null || exit 1
	echo "capture failed" > "$1.trace-failed"
}
mkdir -p $OUT/res $OUT/trace
"""


# What --workloads may select; the figures of WORKLOADS (report.py) by group.
WORKLOAD_GROUPS = ("seq-read", "seq-write", "rand-read", "small", "churn")


class Peer:
    """A filesystem (or the raw device) on one disk of the VM."""

    def __init__(self, name, fstype, block, dev=None, image=None, small=True):
        self.name = name
        self.fstype = fstype        # mpagefs | ext2 | vfat | raw
        self.block = block          # filesystem block (vfat: cluster) size
        self.dev = dev              # /dev/vdX in the guest
        self.image = image          # host path
        self.small = small          # takes part in the small-files workload
        # vfat: Debian's default iocharset (utf8) is not in the initramfs.
        self.opts = "iocharset=iso8859-1" if fstype == "vfat" else ""

    @property
    def raw(self):
        return self.fstype == "raw"

    def cold(self):
        return f"cold {self.name} {self.fstype} {self.dev} {self.opts}".rstrip()

    def path(self, name):
        return self.dev if self.raw else f"/mnt/{self.name}/{name}"


CHURN_DIRS, CHURN_FILES, CHURN_ROUNDS = 4, 24, 8


def churn_plan(seed=1):
    """The churn workload (--workloads churn): deterministic, so the host knows
    which files are left.  Returns (commands relative to the peer's mount
    point DIR, the files left).  Phase 1: CHURN_DIRS directories of
    CHURN_FILES files each, grown together by appends of 4-32 KiB, file after
    file and round after round (their allocations interleave); phase 2:
    every other file is removed; phase 3: as many new files of 8-256 KiB are
    written whole into the holes that leaves."""
    import random
    rnd = random.Random(seed)
    cmds, left = [], []
    files = [f"c{d}/f{i:03d}" for d in range(CHURN_DIRS) for i in range(CHURN_FILES)]
    cmds += [f"mkdir DIR/c{d}" for d in range(CHURN_DIRS)]
    for _ in range(CHURN_ROUNDS):
        for f in files:
            kib = rnd.choice((4, 8, 16, 32))
            cmds.append(f"dd if=/dev/zero of=DIR/{f} bs=1K count={kib} oflag=append conv=notrunc 2>/dev/null")
    for i, f in enumerate(files):
        if i % 2:
            cmds.append(f"rm DIR/{f}")
        else:
            left.append(f)
    for i in range(len(files) // 2):
        f = f"c{i % CHURN_DIRS}/n{i:03d}"
        kib = rnd.choice((8, 16, 32, 64, 128, 256))
        cmds.append(f"dd if=/dev/zero of=DIR/{f} bs=1K count={kib} 2>/dev/null")
        left.append(f)
    return cmds, left


def script(peers, cfg):
    """The guest script for `peers` (with .dev set) and the config dict:
    size (bytes of the big file), repeats, rand_ops, threads, small_files,
    small_size, read_block, write_block, and optionally workloads (the
    groups to run, of WORKLOAD_GROUPS; all when absent) and small_batches
    (the timed small-files create in that many batches, peers taking turns;
    default 1)."""
    lines = [PRELUDE]
    groups = set(cfg.get("workloads") or WORKLOAD_GROUPS)
    q = shlex.quote
    steps = []

    def add(label, cmds):
        steps.append((label, cmds))

    # Device limits and the environment, for the ideal and the report.
    info = ["uname -r > $OUT/res/uname.txt", "nproc > $OUT/res/nproc.txt"]
    for p in peers:
        d = p.dev.split("/")[-1]
        info.append(f"for f in read_ahead_kb max_sectors_kb max_hw_sectors_kb max_segments "
                    f"logical_block_size scheduler; do echo \"$f $(cat /sys/block/{d}/queue/$f)\"; "
                    f"done > $OUT/res/queue.{p.name}.txt")
    add("device limits", info)
    # Mount every filesystem; write vfat's big file (its layout is vfat's own).
    mounts = []
    for p in peers:
        if not p.raw:
            mounts.append(f"mkdir -p /mnt/{p.name} && mount -t {p.fstype} {'-o ' + p.opts + ' ' if p.opts else ''}{p.dev} /mnt/{p.name}")
    add("mount", mounts)
    for p in peers:
        if p.fstype == "vfat":
            add(f"prepare {p.name}: write big ({cfg['size'] >> 20} MiB, untimed)",
                [f"mpagectl bench-io seq-write {p.path('big')} --bytes {cfg['size']} "
                 f"--block {cfg['write_block']} > $OUT/res/prep.{p.name}.json"])
    # Every image once through the host's page cache, so no peer pays for
    # the host disk on its first run.
    add("warm the host cache (O_DIRECT read of every disk, untimed)",
        [f"mpagectl bench-io seq-read {p.dev} --direct --block 1M > /dev/null" for p in peers])

    size = cfg["size"]
    for rep in range(1, 0 if cfg.get("gb_only") else cfg["repeats"] + 1):
        # Each repeat starts with the next peer, so that no peer always runs
        # right after the same other one (what the host still has to write
        # back, what the guest has cached) or always first.
        shift = (rep - 1) % len(peers)
        ordered = peers[shift:] + peers[:shift]
        for p in ordered if "seq-read" in groups else ():
            tag = f"{p.name}.{rep}"
            direct = " --direct" if p.raw else ""
            lim = f" --bytes {size}" if p.raw else ""
            add(f"rep {rep} seq-read {p.name}",
                [p.cold(),
                 f"mpagectl trace -d {p.dev} -o $OUT/trace/seq-read.{tag} -- "
                 f"mpagectl bench-io seq-read {p.path('big')} --block {cfg['read_block']}{direct}{lim} "
                 f"> $OUT/res/seq-read.{tag}.json 2> $OUT/res/seq-read.{tag}.err || "
                 f"traced_failed $OUT/res/seq-read.{tag}",
                 f"cat $OUT/res/seq-read.{tag}.json"]
                + ([f"cat /sys/fs/mpagefs/{p.dev.split('/')[-1]}/stats > $OUT/res/seq-read.{tag}.stats"]
                   if p.fstype == "mpagefs" else []))
        for p in ordered if "seq-write" in groups else ():
            tag = f"{p.name}.{rep}"
            direct = " --direct" if p.raw else ""
            add(f"rep {rep} seq-write+fsync {p.name}",
                [p.cold(),
                 f"mpagectl trace -d {p.dev} -o $OUT/trace/seq-write.{tag} -- "
                 f"mpagectl bench-io seq-write {p.path('w')} --bytes {size} --block {cfg['write_block']}{direct} "
                 f"> $OUT/res/seq-write.{tag}.json 2> $OUT/res/seq-write.{tag}.err || "
                 f"traced_failed $OUT/res/seq-write.{tag}",
                 f"cat $OUT/res/seq-write.{tag}.json"]
                + ([f"cat /sys/fs/mpagefs/{p.dev.split('/')[-1]}/stats > $OUT/res/seq-write.{tag}.stats"]
                   if p.fstype == "mpagefs" else [])
                + ([] if p.raw else [f"rm {p.path('w')}", "sync"]))
        for threads in (1, cfg["threads"]) if "rand-read" in groups else ():
            for p in ordered:
                tag = f"{p.name}.{rep}"
                direct = " --direct" if p.raw else ""
                lim = f" --bytes {size}" if p.raw else ""
                name = f"rand-read-t{threads}"
                # Traced like the sequential runs: what each peer brings from
                # the device per 4 KiB read (readahead, metadata) explains its IOPS.
                add(f"rep {rep} {name} {p.name}",
                    [p.cold(),
                     f"mpagectl trace -d {p.dev} -o $OUT/trace/{name}.{tag} -- "
                     f"mpagectl bench-io rand-read {p.path('big')} --block 4K --ops {cfg['rand_ops']} "
                     f"--threads {threads} --seed {rep}{direct}{lim} > $OUT/res/{name}.{tag}.json "
                     f"2> $OUT/res/{name}.{tag}.err || traced_failed $OUT/res/{name}.{tag}",
                     f"cat $OUT/res/{name}.{tag}.json"])
        small = [p for p in ordered if not p.raw and p.small and "small" in groups]

        def create(where, first=0, count=cfg["small_files"]):
            batch = f" --first {first}" if first else ""
            return (f"mpagectl workload many-small-files {where} --count {count}{batch} "
                    f"--size {cfg['small_size']} --seed {rep} --json")
        # The timed create: every peer's files in batches, the peers taking
        # turns (the order reversed every other batch), so that the host's
        # drift over a repeat (its flushes dominate this workload) falls on
        # every peer alike; with --small-batches 1 each peer creates all its
        # files in one go.  The batches of one peer make the same files as
        # one run would (--first), into one directory.
        if small:
            add(f"rep {rep} small-files create: cold mounts, new directories",
                [c for p in small for c in (p.cold(), f"mkdir /mnt/{p.name}/s{rep}")])
            n = cfg["small_files"]
            nb = max(1, min(cfg.get("small_batches", 1), n))
            for k in range(nb):
                first, last = k * n // nb, (k + 1) * n // nb
                order = small if k % 2 == 0 else small[::-1]
                outs = [f"$OUT/res/small-create.{p.name}.{rep}.b{k + 1}.json" for p in order]
                add(f"rep {rep} small-files create+write+fsync batch {k + 1}/{nb}: files {first}-{last - 1} "
                    + " ".join(p.name for p in order),
                    [f"{create(f'/mnt/{p.name}/s{rep}', first, last - first)} > {o}"
                     for p, o in zip(order, outs)]
                    + [f"grep -h -m1 elapsed_ns {' '.join(outs)}"])
        for p in small:
            tag = f"{p.name}.{rep}"
            d = f"/mnt/{p.name}/s{rep}"
            read_back = f"mpagectl workload seq-read {d} --chunk 64K --json"
            # --trace-small: the create is run once more, untimed, into a
            # directory of its own under blktrace (what each fsync writes).
            if cfg.get("trace_small") and rep == 1:
                add(f"rep {rep} small-files create traced (untimed) {p.name}",
                    [p.cold(), f"mkdir {d}t",
                     f"mpagectl trace -d {p.dev} -o $OUT/trace/small-create.{tag} -- "
                     f"{create(d + 't')} > /dev/null 2> $OUT/res/small-create.{tag}.err "
                     f"|| traced_failed $OUT/res/small-create.{tag}"])
            # --trace-small: the read-back under blktrace (which blocks, in
            # what order, how many bios), in a run of its own after the
            # timed one, so the capture does not change the figure.
            add(f"rep {rep} small-files cold read back {p.name}",
                [p.cold(),
                 f"{read_back} > $OUT/res/small-read.{tag}.json",
                 f"grep -m1 elapsed_ns $OUT/res/small-read.{tag}.json"]
                + ([p.cold(),
                    f"mpagectl trace -d {p.dev} -o $OUT/trace/small-read.{tag} -- "
                    f"{read_back} > /dev/null 2> $OUT/res/small-read.{tag}.err "
                    f"|| traced_failed $OUT/res/small-read.{tag}"] if cfg.get("trace_small") and rep == 1 else []))
    # --workloads churn: fragmentation after a churn (the host counts the
    # extents of the files left, per peer, from the images after the run)
    if "churn" in groups and not cfg.get("gb_only"):
        cmds, _ = churn_plan()
        for p in peers:
            if p.fstype not in ("mpagefs", "ext2") or not p.small:
                continue
            d = f"/mnt/{p.name}/churn"
            add(f"churn {p.name}: {len(cmds)} commands (untimed)",
                [p.cold(), f"mkdir {d}"] + [c.replace("DIR", d) for c in cmds] + ["sync"])
    # The guest CPU of a create, under -icount (createcost.py; the get_block
    # cost boot), before the unmount: its rounds remount the peers.
    if cfg.get("cc_rounds"):
        for label, cmds in createcost.steps(peers, cfg):
            add(label, cmds)
    umounts = [f"umount /mnt/{p.name}" for p in peers if not p.raw]
    add("unmount", umounts)
    # The lab's get_block wrapper against a build without it (gbcost.py).
    if cfg.get("gb_rounds"):
        for label, cmds in gbcost.steps(next(p for p in peers if p.name == "mpagefs-4k"), cfg):
            add(label, cmds)

    n = len(steps)
    for i, (label, cmds) in enumerate(steps, 1):
        lines.append(f"step {q(f'[{i}/{n}] {label}')}")
        lines.extend(cmds)
    lines.append("step done")
    return "\n".join(lines) + "\n", n
