"""The read path, measured in a VM: mpage_readahead driven by mpagefs's get_block.

Each job builds images on the host and reads files cold in the VM while
capturing blktrace records with `mpagectl trace`; the tests check the queued (Q)
bios on the host with `mpagectl check` / `explain` against the image's own
metadata. All jobs of this module run in one boot (lab.vm_job); its kernel log
is scanned by the harness and a problem fails every test of the boot.
"""
import math
import os
from pathlib import Path

import pytest

from lab import (GUEST_PRELUDE, GuestJob, block_map, check, decode_json, explain_json,
                 mkfs_ext2, mkfs_mpagefs, notation, parse_sha_lines, parse_stats,
                 rand_bytes, run, sha256, vm_job, write_sparse)


def data_bios(events):
    """Q events of explain --json that read file data, in submit order."""
    return [e for e in events if any(s["kind"] == "data" for s in e["segments"])]


# --- the seed example: mpage.c's comment, 17 blocks at 1 KiB ----------------

def seed_job(ctx):
    """f17 read cold on mpagefs boundary=on/off and on ext2."""
    src = ctx.tmp / "src"
    src.mkdir()
    content = rand_bytes(17 * 1024, seed=17)
    (src / "f17").write_bytes(content)
    mp = mkfs_mpagefs(ctx.mpagectl, ctx.tmp / "mpagefs.img", src, 1024, "8M")
    e2 = mkfs_ext2(ctx.tmp / "ext2.img", {"f17": src / "f17"}, 1024, "8M")
    script = GUEST_PRELUDE + r"""
mount -t mpagefs -o ro,boundary=on /dev/vdc /mnt/a
trace_read /dev/vdc /mnt/a/f17 mp_on
sha256sum /mnt/a/f17
umount /mnt/a
mount -t mpagefs -o ro,boundary=off /dev/vdc /mnt/a
trace_read /dev/vdc /mnt/a/f17 mp_off
sha256sum /mnt/a/f17
umount /mnt/a
mount -t mpagefs -o ro,reqmeta=on /dev/vdc /mnt/a
grep -q 'reqmeta=on' /proc/mounts
trace_read /dev/vdc /mnt/a/f17 mp_meta
umount /mnt/a
mount -t ext2 -o ro /dev/vdd /mnt/b
trace_read /dev/vdd /mnt/b/f17 ext2
umount /mnt/b
# The same read captured by Debian's blktrace binary instead of mpagectl.
mount -t mpagefs -o ro /dev/vdc /mnt/a
sync
echo 3 > /proc/sys/vm/drop_caches
start_blktrace /dev/vdc "$OUT" blktrace
cat /mnt/a/f17 > /dev/null
# SIGINT: blktrace stops tracing and writes out everything traced so far.
kill -INT $bt
wait $bt || true
umount /mnt/a
"""
    return GuestJob(script, disks=[mp, e2], data=dict(mp=mp, e2=e2, content=content))


seed = vm_job(seed_job, "seed")


def test_seed_layout_is_the_comments(seed, mpagectl):
    """mkfs lays f17 out as data 0-11, IND, data 12-16, contiguous."""
    m = block_map(mpagectl, seed.mp, "/f17")
    runs = [(r["logical"], r["physical"], r["count"]) for r in m["runs"]]
    ind = [i for i in m["indirect"] if i["level"] == 1]
    assert len(ind) == 1
    base = runs[0][1]
    assert runs == [(0, base, 12), (12, base + 13, 5)]
    assert ind[0]["physical"] == base + 12


@pytest.mark.debug_kernel
def test_seed_reads_back(seed):
    assert seed.r.stdout.count(sha256(seed.content)) == 2


@pytest.mark.debug_kernel
def test_boundary_on_submits_data_before_indirect(seed, mpagectl):
    p = check(mpagectl, seed.mp, seed.r.out / "mp_on", "/f17",
              "--expect-order", "data:0-11,IND,data:12-16")
    assert p.returncode == 0, p.stdout + p.stderr


@pytest.mark.debug_kernel
def test_boundary_off_reads_indirect_first(seed, mpagectl):
    p = check(mpagectl, seed.mp, seed.r.out / "mp_off", "/f17",
              "--expect-order", "IND,data:0-11,data:12-16")
    assert p.returncode == 0, p.stdout + p.stderr
    # The two orders really differ: the boundary order does not hold here.
    p = check(mpagectl, seed.mp, seed.r.out / "mp_off", "/f17",
              "--expect-order", "data:0-11,IND,data:12-16")
    assert p.returncode == 1, p.stdout + p.stderr


@pytest.mark.debug_kernel
def test_ext2_shows_the_same_order_as_mpagefs(seed, mpagectl):
    p = check(mpagectl, seed.e2, seed.r.out / "ext2", "/f17",
              "--expect-order", "data:0-11,IND,data:12-16")
    assert p.returncode == 0, p.stdout + p.stderr
    ours = notation(mpagectl, seed.mp, seed.r.out / "mp_on", "/f17")
    theirs = notation(mpagectl, seed.e2, seed.r.out / "ext2", "/f17")
    print(f"mpagefs boundary=on: {ours}\next2:                {theirs}")
    assert ours == theirs
    off = notation(mpagectl, seed.mp, seed.r.out / "mp_off", "/f17")
    assert off != ours


def test_reqmeta_tags_metadata_reads_and_keeps_them_apart(seed, mpagectl):
    """reqmeta=on marks the indirect read REQ_META ("RM") and the block layer then
    never merges it with the data before it (blk_cgroup_mergeable); by default it
    is a plain read, as ext2's is, and joins the data request [0..11]."""
    def ind_rwbs(name):
        ev = explain_json(mpagectl, seed.mp, seed.r.out / name, "/f17")
        return [e["rwbs"] for e in ev if any(s["kind"] == "IND" for s in e["segments"])]

    def requests(name):
        return [e for e in decode_json(mpagectl, seed.r.out / name, actions="C")
                if e.get("rwbs", "").startswith("R")]

    assert [("M" in r) for r in ind_rwbs("mp_on")] == [False]
    assert [("M" in r) for r in ind_rwbs("mp_meta")] == [True]
    order = "data:0-11,IND,data:12-16"
    for name in ("mp_on", "mp_meta"):
        p = check(mpagectl, seed.mp, seed.r.out / name, "/f17", "--expect-order", order)
        assert p.returncode == 0, p.stdout + p.stderr
    assert len(requests("mp_on")) < len(requests("mp_meta")), \
        (requests("mp_on"), requests("mp_meta"))


def test_decode_matches_blkparse(seed, mpagectl):
    """Our decoding of a real capture equals blkparse's on the same files,
    whether mpagectl or Debian's blktrace captured it."""
    for name in ("mp_on", "mp_off", "ext2", "blktrace"):
        prefix = seed.r.out / name
        ours = decode_json(mpagectl, prefix)
        fmt = "%a %d %S %n %p %c\\n"
        bp = run(["blkparse", "-q", "-i", prefix, "-f", fmt]).stdout
        theirs = []
        for line in bp.splitlines():
            parts = line.split()
            if len(parts) != 6 or not parts[2].isdigit():
                continue  # blkparse's notes and summary lines
            theirs.append((parts[0], parts[1], int(parts[2]), int(parts[3]),
                           int(parts[4]), int(parts[5])))
        mine = [(e["action"], e["rwbs"], e["sector"], e["nr_sectors"], e["pid"],
                 e["cpu"])
                for e in ours if "rwbs" in e]
        assert len(theirs) > 10
        assert mine == theirs


# --- large, fragmented, sparse and odd-sized files ---------------------------

BIG = 16 << 20


def large_job(ctx, bs):
    src = ctx.tmp / "src"
    src.mkdir()
    (src / "big").write_bytes(rand_bytes(BIG, seed=bs))
    mp = mkfs_mpagefs(ctx.mpagectl, ctx.tmp / "mp.img", src, bs, "24M")
    e2 = mkfs_ext2(ctx.tmp / "e2.img", {"big": src / "big"}, bs, "24M")
    script = GUEST_PRELUDE + r"""
mount -t mpagefs -o ro /dev/vdc /mnt/a
echo 1 > /sys/fs/mpagefs/vdc/reset
trace_read /dev/vdc /mnt/a/big mp
stats /dev/vdc
echo "read_ahead_kb $(cat /sys/block/vdc/queue/read_ahead_kb)"
umount /mnt/a
mount -t ext2 -o ro /dev/vdd /mnt/b
trace_read /dev/vdd /mnt/b/big e2
umount /mnt/b
"""
    return GuestJob(script, disks=[mp, e2], timeout=600, data=dict(mp=mp, e2=e2))


large = vm_job(large_job, "large")


@pytest.mark.parametrize("bs", [1024, 4096])
def test_large_contiguous_read_is_window_sized(large, mpagectl, bs):
    r, mp, e2, size = large.r, large.mp, large.e2, BIG
    assert r.status == 0, r.stdout
    ra_kib = parse_stats(r.stdout)["read_ahead_kb"]
    ours = data_bios(explain_json(mpagectl, mp, Path(r.out) / "mp", "/big"))
    theirs = data_bios(explain_json(mpagectl, e2, Path(r.out) / "e2", "/big"))
    largest = max(e["nr_sectors"] for e in ours)
    print(f"bs={bs}: mpagefs {len(ours)} data bios (largest {largest} sectors), "
          f"ext2 {len(theirs)}")
    assert largest == ra_kib * 2          # bios as large as the window allows
    assert len(ours) <= len(theirs)       # and no more of them than ext2 issues
    m = block_map(mpagectl, mp, "/big")
    ideal = math.ceil(size / (ra_kib * 1024)) + len(m["indirect"])
    assert len(ours) <= ideal
    p = check(mpagectl, mp, Path(r.out) / "mp", "/big", "--max-bio-kib", str(ra_kib))
    assert p.returncode == 0, p.stdout + p.stderr
    st = parse_stats(r.stdout)
    # one get_block call maps a whole window, not one block
    assert st["get_block_calls"] <= 2 * len(ours) + len(m["indirect"])
    assert st["multi_block_calls"] >= 1


def expected_read_bios(runs, nblocks, bs, page=4096):
    """The bios mpage issues for a cold read of a file with these runs.

    A page whose blocks are contiguous on disk goes into an mpage bio (runs
    on disk are separated by gaps, so bios never join across pages here); a
    page whose blocks are not contiguous is "confused" and read by
    block_read_full_folio(), one buffer-head bio per block.
    """
    phys = {}
    for r in runs:
        for i in range(r["count"]):
            phys[r["logical"] + i] = r["physical"] + i
    per_page = page // bs
    bios = 0
    for first in range(0, nblocks, per_page):
        blocks = [phys[b] for b in range(first, min(first + per_page, nblocks))]
        contiguous = all(b == blocks[0] + i for i, b in enumerate(blocks))
        bios += 1 if contiguous else len(blocks)
    return bios


def frag_job(ctx, bs, run_len):
    src = ctx.tmp / "src"
    src.mkdir()
    content = rand_bytes(40 * bs + 100, seed=run_len)
    (src / "frag").write_bytes(content)
    mp = mkfs_mpagefs(ctx.mpagectl, ctx.tmp / "mp.img", src, bs, "8M",
                      extra=["--layout", "fragmented", "--frag-run", str(run_len)])
    script = GUEST_PRELUDE + r"""
mount -t mpagefs -o ro /dev/vdc /mnt/a
trace_read /dev/vdc /mnt/a/frag mp
sha256sum /mnt/a/frag
umount /mnt/a
"""
    return GuestJob(script, disks=[mp], data=dict(mp=mp, content=content))


frag = vm_job(frag_job, "frag")


@pytest.mark.parametrize("bs,run_len", [(1024, 1), (1024, 3), (1024, 4), (4096, 1)])
def test_fragmented_file_reads_one_bio_per_run(frag, mpagectl, bs, run_len):
    r, mp, content = frag.r, frag.mp, frag.content
    m = block_map(mpagectl, mp, "/frag")
    assert all(r["count"] <= run_len for r in m["runs"])
    assert r.status == 0, r.stdout
    assert sha256(content) in r.stdout
    bios = data_bios(explain_json(mpagectl, mp, Path(r.out) / "mp", "/frag"))
    nblocks = 41
    want = expected_read_bios(m["runs"], nblocks, bs)
    if bs == 4096 or run_len == 4:
        assert want == len(m["runs"])     # page-aligned runs: one bio per run
    print(f"bs={bs} run={run_len}: {len(bios)} bios for {len(m['runs'])} runs (model {want})")
    assert len(bios) == want
    p = check(mpagectl, mp, Path(r.out) / "mp", "/frag")
    assert p.returncode == 0, p.stdout + p.stderr


def sparse_job(ctx, bs):
    src = ctx.tmp / "src"
    src.mkdir()
    # Data extents in 4 KiB units: the host's SEEK_DATA granularity.
    chunks = [(0, rand_bytes(12 << 10, 1)), (1 << 20, rand_bytes(4 << 10, 2))]
    write_sparse(src / "sparse", (2 << 20) + 100, chunks)
    mp = mkfs_mpagefs(ctx.mpagectl, ctx.tmp / "mp.img", src, bs, "8M")
    script = GUEST_PRELUDE + r"""
mount -t mpagefs -o ro /dev/vdc /mnt/a
echo 1 > /sys/fs/mpagefs/vdc/reset
trace_read /dev/vdc /mnt/a/sparse mp
sha256sum /mnt/a/sparse
stats /dev/vdc
umount /mnt/a
"""
    return GuestJob(script, disks=[mp], data=dict(mp=mp, digest=sha256(src / "sparse")))


sparse = vm_job(sparse_job, "sparse")


@pytest.mark.parametrize("bs", [1024, 4096])
def test_sparse_file_reads_no_holes(sparse, mpagectl, bs):
    r, mp = sparse.r, sparse.mp
    m = block_map(mpagectl, mp, "/sparse")
    allocated = sum(r["count"] for r in m["runs"])
    assert allocated == (16 << 10) // bs
    assert r.status == 0, r.stdout
    assert sparse.digest in r.stdout
    bios = data_bios(explain_json(mpagectl, mp, Path(r.out) / "mp", "/sparse"))
    read_bytes = sum(e["nr_sectors"] * 512 for e in bios)
    assert read_bytes == allocated * bs
    p = check(mpagectl, mp, Path(r.out) / "mp", "/sparse")
    assert p.returncode == 0, p.stdout + p.stderr
    assert parse_stats(r.stdout)["holes"] > 0


# --- every file, every block size --------------------------------------------

def make_tree(root: Path, bs: int):
    """Files of awkward sizes, nested directories, a sparse file past TIND."""
    root.mkdir()
    sizes = [0, 1, 511, bs - 1, bs, bs + 1, 4095, 4097, 17 * 1024, 300 * 1024 + 3,
             (12 + bs // 4) * bs + 5, 3 << 20]
    for i, n in enumerate(sizes):
        (root / f"f{i:02d}_{n}").write_bytes(rand_bytes(n, seed=i))
    d = root / "dir" / "sub"
    d.mkdir(parents=True)
    for i in range(40):
        (d / f"entry-with-a-longer-name-{i:03d}").write_bytes(rand_bytes(i * 37, seed=100 + i))
    (root / "dir" / "empty").mkdir()
    (root / ("n" * 255)).write_bytes(b"long name\n")
    (root / "link").symlink_to("dir/sub")
    # The first byte past the double-indirect range needs the triple-indirect block.
    p = bs // 4
    tind_start = (12 + p + p * p) * bs
    write_sparse(root / "tind", tind_start + 3 * bs,
                 [(0, rand_bytes(bs, 7)), (tind_start, rand_bytes(3 * bs, 8))])
    return tind_start


TAIL_BLOCKS = 3


def tree_job(ctx, bs):
    src = ctx.tmp / "src"
    tind_start = make_tree(src, bs)
    mp = mkfs_mpagefs(ctx.mpagectl, ctx.tmp / "mp.img", src, bs, "48M")
    tail_blocks = TAIL_BLOCKS
    script = GUEST_PRELUDE + rf"""
mount -t mpagefs -o ro /dev/vdc /mnt/a
cd /mnt/a
find . | sort > $OUT/listing
find . -type f ! -name tind | xargs sha256sum
dd if=tind bs={bs} count=1 2>/dev/null | sha256sum | sed 's|-$|tind.head|'
dd if=tind bs={bs} skip={tind_start // bs} count={tail_blocks} 2>/dev/null | sha256sum | sed 's|-$|tind.tail|'
stat -c '%n %s' tind
readlink link
cd /
umount /mnt/a
"""
    return GuestJob(script, disks=[mp], timeout=600,
                    data=dict(mp=mp, src=src, tind_start=tind_start))


tree = vm_job(tree_job, "tree")


@pytest.mark.parametrize("bs", [1024, 2048, 4096])
def test_every_file_reads_back_exactly(tree, mpagectl, bs):
    r, mp, src, tind_start, tail_blocks = tree.r, tree.mp, tree.src, tree.tind_start, TAIL_BLOCKS
    assert any(i["level"] == 3 for i in block_map(mpagectl, mp, "/tind")["indirect"])
    assert r.status == 0, r.stdout
    got = parse_sha_lines(r.stdout, "./")
    want = {}
    for d, _, files in os.walk(src):
        for n in files:
            p = Path(d) / n
            if not p.is_symlink() and n != "tind":
                want[str(p.relative_to(src))] = sha256(p)
    assert {k: v for k, v in got.items() if k in want} == want
    with open(src / "tind", "rb") as f:
        head = f.read(bs)
        f.seek(tind_start)
        tail = f.read(tail_blocks * bs)
    assert f"{sha256(head)}  tind.head" in r.stdout
    assert f"{sha256(tail)}  tind.tail" in r.stdout
    assert f"tind {(src / 'tind').stat().st_size}" in r.stdout
    assert "dir/sub" in r.stdout.splitlines()
    listing = (Path(r.out) / "listing").read_text().split()
    host = ["."]
    for d, dirs, files in os.walk(src):
        host += ["./" + os.path.relpath(os.path.join(d, n), src) for n in dirs + files]
    assert listing == sorted(host)


def maxmap_job(ctx):
    src = ctx.tmp / "src"
    src.mkdir()
    content = rand_bytes(300 * 1024, seed=300)
    (src / "f300").write_bytes(content)
    mp = mkfs_mpagefs(ctx.mpagectl, ctx.tmp / "mp.img", src, 1024, "8M")
    script = GUEST_PRELUDE + r"""
for m in 0 1; do
	mount -t mpagefs -o ro,maxmap=$m /dev/vdc /mnt/a
	echo 1 > /sys/fs/mpagefs/vdc/reset
	trace_read /dev/vdc /mnt/a/f300 maxmap$m
	sha256sum /mnt/a/f300
	echo "== maxmap=$m"
	stats /dev/vdc
	echo "== end"
	umount /mnt/a
done
"""
    return GuestJob(script, disks=[mp], data=dict(content=content))


maxmap = vm_job(maxmap_job, "maxmap")


def test_maxmap_1_maps_one_block_per_call(maxmap):
    r, content = maxmap.r, maxmap.content
    assert r.status == 0, r.stdout
    assert r.stdout.count(sha256(content)) == 2
    sections = {}
    for part in r.stdout.split("== maxmap=")[1:]:
        m, body = part.split("\n", 1)
        sections[int(m)] = parse_stats(body.split("== end")[0])
    many, one = sections[0], sections[1]
    print(f"get_block calls: maxmap=0 {many['get_block_calls']}, maxmap=1 {one['get_block_calls']}")
    assert one["get_block_calls"] >= 300
    assert one["multi_block_calls"] == 0
    assert one["blocks_mapped"] == one["get_block_calls"] - one["holes"]
    assert many["get_block_calls"] * 10 <= one["get_block_calls"]
    assert many["multi_block_calls"] >= 1
