"""The write path in a VM: mpage_writepages and the allocating get_block.

One boot per block size (1, 2 and 4 KiB) writes files on a fresh read-write
mount with dd (sequential, crossing the double-indirect level; sparse, past the
triple-indirect level), with O_DIRECT and through mmap (a small static C
helper built on the host, as busybox has neither), shrinks and grows files
with truncate, syncs, unmounts, drops the caches and reads everything back on
a read-only mount.  The host then checks the bytes (sha256 of what it
generated), the ext2-like layout of the sequential file (data 0-11, IND, data,
DIND, IND, data, each indirect block right before the data it maps), the
i_blocks of truncated files and the sysfs allocation counters, and runs
`mpagectl fsck` on the image.  The image is also copied (in the guest) to a
second disk on which everything is deleted: its free counts must come back to
exactly what mkfs wrote.

Other boots: filling the disk gives ENOSPC and never corruption; alloc=scatter
leaves no two new blocks adjacent; the superblock state, mount count and
remount ro<->rw.  The harness fails any test whose kernel log is not clean.
"""
import json
import shutil
from pathlib import Path

import pytest

from lab import (GUEST_PRELUDE, GuestJob, assert_fsck_clean, block_map, build_static, explain_json, mkfs_ext2, mkfs_mpagefs, notation,
                 parse_stats, rand_bytes, run, sha256, vm_job)

# The O_DIRECT and mmap writer.  The pattern is pattern() below.
WIO_C = r"""
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static unsigned char pat(unsigned long long i, unsigned seed)
{
	return (unsigned char)(i * 131 + seed * 7 + (i >> 10));
}

int main(int argc, char **argv)
{
	unsigned long long size, off, i;
	unsigned seed;
	int fd;

	if (argc != 5) {
		fprintf(stderr, "usage: wio odirect|mmap PATH OFFSET+SIZE SEED\n");
		return 2;
	}
	if (sscanf(argv[3], "%llu+%llu", &off, &size) != 2)
		return 2;
	seed = atoi(argv[4]);
	if (!strcmp(argv[1], "odirect")) {
		unsigned char *buf;
		const size_t chunk = 64 << 10;
		unsigned long long done = 0;

		fd = open(argv[2], O_WRONLY | O_CREAT | O_DIRECT, 0644);
		if (fd < 0 || posix_memalign((void **)&buf, 4096, chunk)) {
			perror("open");
			return 1;
		}
		while (done < size) {
			size_t n = size - done < chunk ? size - done : chunk;

			for (i = 0; i < n; i++)
				buf[i] = pat(off + done + i, seed);
			if (pwrite(fd, buf, n, off + done) != (ssize_t)n) {
				perror("pwrite O_DIRECT");
				return 1;
			}
			done += n;
		}
	} else if (!strcmp(argv[1], "mmap")) {
		unsigned char *map;

		fd = open(argv[2], O_RDWR | O_CREAT, 0644);
		if (fd < 0) {
			perror("open");
			return 1;
		}
		if (lseek(fd, 0, SEEK_END) < (off_t)(off + size) &&
		    ftruncate(fd, off + size)) {
			perror("ftruncate");
			return 1;
		}
		map = mmap(NULL, off + size, PROT_READ | PROT_WRITE, MAP_SHARED,
			   fd, 0);
		if (map == MAP_FAILED) {
			perror("mmap");
			return 1;
		}
		for (i = 0; i < size; i++)
			map[off + i] = pat(off + i, seed);
		if (msync(map, off + size, MS_SYNC)) {
			perror("msync");
			return 1;
		}
		munmap(map, off + size);
	} else {
		return 2;
	}
	if (fsync(fd)) {
		perror("fsync");
		return 1;
	}
	return close(fd) ? 1 : 0;
}
"""


def pattern(off: int, size: int, seed: int) -> bytes:
    return bytes(((i * 131 + seed * 7 + (i >> 10)) & 0xFF) for i in range(off, off + size))


def build_wio(d: Path) -> Path:
    (d / "wio.c").write_text(WIO_C)
    return build_static(d / "wio.c", d / "wio")


def dump(mpagectl, image) -> dict:
    return json.loads(run([mpagectl, "dump", image, "--json"]).stdout)


def geometry(bs: int):
    ptrs = bs // 4
    return dict(ptrs=ptrs, seq_blocks=12 + ptrs + 32, tind=12 + ptrs + ptrs * ptrs)


def expected_files(bs: int):
    """{name: bytes} of what the guest script leaves on the disk."""
    g = geometry(bs)
    seq = rand_bytes(g["seq_blocks"] * bs, seed=bs)
    tail = rand_bytes(bs + 100, seed=bs + 1)
    out = {"seq": seq}
    # sparse: one block after a hole at 5, then a block and a bit past the TIND start
    head = rand_bytes(bs, seed=bs + 2)
    sparse = bytearray(g["tind"] * bs + len(tail))
    sparse[5 * bs:6 * bs] = head
    sparse[g["tind"] * bs:] = tail
    out["sparse"] = bytes(sparse)
    # O_DIRECT: a new file of 40 blocks, then 8 blocks rewritten in the middle of seq
    out["odirect"] = pattern(0, 40 * bs, 3)
    ow = bytearray(seq)
    ow[16 * bs:24 * bs] = pattern(16 * bs, 8 * bs, 4)
    out["seq_ow"] = bytes(ow)
    # mmap: 20 blocks written through a shared mapping of a new file, then 3
    # blocks stored into the hole of a sparse file of 30 blocks
    out["mm"] = pattern(0, 20 * bs, 5)
    mmh = bytearray(30 * bs)
    mmh[10 * bs:13 * bs] = pattern(10 * bs, 3 * bs, 6)
    out["mm_hole"] = bytes(mmh)
    # truncate: shrunk into the direct blocks mid-block, then grown to 40 blocks
    tr = bytearray(seq[:5 * bs + 100])
    tr += bytes(40 * bs - len(tr))
    out["tr"] = bytes(tr)
    # truncate inside the double-indirect area, then to 0 and appended
    out["tr2"] = seq[:(12 + g["ptrs"] + 3) * bs]
    out["tr3"] = b"appended after truncation to zero\n"
    return out, seq, tail, head


HASH_WHOLE_MAX = 1 << 30


def expected_sums(files, bs):
    """{name: sha256} as the guest's sums() prints them."""
    want = {}
    for name, data in files.items():
        if len(data) <= HASH_WHOLE_MAX:
            want[name] = sha256(data)
        else:
            want[f"{name}:head"] = sha256(data[:1 << 20])
            want[f"{name}:tail"] = sha256(data[(geometry(bs)["tind"] - (1 << 20) // bs) * bs:])
    return want


def written_job(ctx, bs):
    g = geometry(bs)
    tmp, mpagectl = ctx.tmp, ctx.mpagectl
    wio = build_wio(tmp)
    img = mkfs_mpagefs(mpagectl, tmp / "w.img", None, bs, "32M")
    copy = tmp / "copy.img"
    shutil.copy(img, copy)
    mkfs_info = dump(mpagectl, img)
    files, seq, tail, head = expected_files(bs)
    (tmp / "seq.bin").write_bytes(seq)
    (tmp / "tail.bin").write_bytes(tail)
    (tmp / "head.bin").write_bytes(head)
    (tmp / "tr3.bin").write_bytes(files["tr3"])
    script = GUEST_PRELUDE + f"""
BS={bs}
# sums: sha256sum of every file; of a file past HASH_WHOLE_MAX bytes (the sparse
# file at 4 KiB: 4 GiB, nearly all hole) its first MiB and its last MiB plus
# the data after it, as "NAME:head" and "NAME:tail": reading the whole hole
# under TCG costs minutes and only repeats what the smaller sizes read.
sums() {{
	for f in *; do
		if [ "$(stat -c %s "$f")" -le {HASH_WHOLE_MAX} ]; then
			sha256sum "$f"
		else
			echo "$(dd if="$f" bs=1M count=1 2> /dev/null | sha256sum | cut -d' ' -f1)  $f:head"
			echo "$(dd if="$f" bs=$BS skip={g['tind'] - (1 << 20) // bs} 2> /dev/null | sha256sum | cut -d' ' -f1)  $f:tail"
		fi
	done
}}
mount -t mpagefs /dev/vdc /mnt/a
cd /mnt/a
dd if=/job/seq.bin of=seq bs=$BS 2> /dev/null
dd if=/job/head.bin of=sparse bs=$BS seek=5 2> /dev/null
dd if=/job/tail.bin of=sparse bs=$BS seek={g['tind']} conv=notrunc 2> /dev/null
/job/wio odirect odirect 0+{40 * bs} 3
cp /job/seq.bin seq_ow
sync
/job/wio odirect seq_ow {16 * bs}+{8 * bs} 4
/job/wio mmap mm 0+{20 * bs} 5
truncate -s {30 * bs} mm_hole
/job/wio mmap mm_hole {10 * bs}+{3 * bs} 6
cp /job/seq.bin tr
cp /job/seq.bin tr2
cp /job/seq.bin tr3
sync
truncate -s {5 * bs + 100} tr
truncate -s {40 * bs} tr
truncate -s {(12 + g['ptrs'] + 3) * bs} tr2
truncate -s 0 tr3
cat /job/tr3.bin >> tr3
sums > $OUT/sums_live
stat -c '%n %b %B' * > $OUT/blocks_live
cd /
stats /dev/vdc > $OUT/stats
df -k /mnt/a > $OUT/df
umount /mnt/a
echo 3 > /proc/sys/vm/drop_caches
mount -t mpagefs -o ro /dev/vdc /mnt/a
cd /mnt/a
sums > $OUT/sums_remount
stat -c '%n %b %B' * > $OUT/blocks_remount
cd /
umount /mnt/a
# a copy of the image on which everything is deleted
dd if=/dev/vdc of=/dev/vdd bs=1M 2> /dev/null
mount -t mpagefs /dev/vdd /mnt/b
rm /mnt/b/*
ls -a /mnt/b > $OUT/ls_after_rm
umount /mnt/b
"""
    return GuestJob(script, disks=[img, copy], timeout=500,
                    files={name: tmp / name for name in ("seq.bin", "tail.bin", "head.bin", "tr3.bin")}
                    | {"wio": wio},
                    data=dict(bs=bs, g=g, img=img, copy=copy, files=files, mkfs=mkfs_info))


written = vm_job(written_job, "written", params=[1024, 2048, 4096], param="bs")


@pytest.mark.debug_kernel
def test_bytes_read_back_after_remount(written):
    """write(2), O_DIRECT, mmap and truncate results read back byte-exact,
    live and after umount + drop_caches + remount."""
    want = expected_sums(written["files"], written["bs"])
    for f in ("sums_live", "sums_remount"):
        got = {name: digest for digest, name in
               (line.split() for line in (written["out"] / f).read_text().splitlines())}
        assert got == want, f


def test_sequential_layout_is_ext2s(written, mpagectl):
    """dd writes the file contiguously, each indirect block right before the
    data it maps: data 0-11, IND, data 12.., DIND, IND, data."""
    g, m = written["g"], block_map(mpagectl, written["img"], "/seq")
    first = m["runs"][0]["physical"]
    assert [(r["logical"], r["physical"], r["count"]) for r in m["runs"]] == [
        (0, first, 12),
        (12, first + 13, g["ptrs"]),
        (12 + g["ptrs"], first + 13 + g["ptrs"] + 2, 32),
    ]
    assert [(i["kind"], i["physical"]) for i in m["indirect"]] == [
        ("IND", first + 12), ("DIND", first + 13 + g["ptrs"]), ("IND", first + 14 + g["ptrs"])]


def test_sparse_file_crosses_tind(written, mpagectl):
    """A write past the triple-indirect start allocates TIND, DIND, IND and
    the data, and nothing for the holes."""
    g, m = written["g"], block_map(mpagectl, written["img"], "/sparse")
    kinds = sorted(i["kind"] for i in m["indirect"])
    assert kinds == ["DIND", "IND", "TIND"]
    assert [(r["logical"], r["count"]) for r in m["runs"]] == [(5, 1), (g["tind"], 2)]


@pytest.mark.debug_kernel
def test_truncate_frees_blocks(written):
    """i_blocks after shrinking: only the blocks below the new size (and the
    indirect blocks still needed) stay; growing leaves a hole."""
    bs, g = written["bs"], written["g"]
    for f in ("blocks_live", "blocks_remount"):
        blocks = {}
        for line in (written["out"] / f).read_text().splitlines():
            name, n, unit = line.split()
            blocks[name] = int(n) * int(unit) // bs
        assert blocks["tr"] == 6, f              # 5 full blocks + the partial one
        assert blocks["tr2"] == 12 + 1 + g["ptrs"] + 2 + 3, f
        assert blocks["tr3"] == 1, f
        assert blocks["seq"] == g["seq_blocks"] + 3, f
        # writeback allocates every block of a dirty page (inside i_size):
        # blocks 10-12 dirty their whole pages; 12 and up need the IND block
        per_page = max(1, 4096 // bs)
        lo, hi = 10 // per_page * per_page, (12 // per_page + 1) * per_page
        assert blocks["mm_hole"] == hi - lo + 1, f
        assert blocks["sparse"] == 1 + 2 + 3, f


@pytest.mark.debug_kernel
def test_image_is_clean(written, mpagectl):
    assert_fsck_clean(mpagectl, written["img"])
    assert_fsck_clean(mpagectl, written["copy"])


def test_counters_and_free_counts(written, mpagectl):
    """The sysfs counters agree with the superblock's free counts, and
    statfs with both."""
    st = parse_stats((written["out"] / "stats").read_text())
    mk, now = written["mkfs"], dump(mpagectl, written["img"])
    used = mk["free_blocks_count"] - now["free_blocks_count"]
    assert st["blocks_allocated"] - st["blocks_freed"] == used
    assert st["inodes_allocated"] - st["inodes_freed"] == \
        mk["free_inodes_count"] - now["free_inodes_count"] == len(written["files"])
    assert st["get_block_create_calls"] > 0 and st["blocks_freed"] > 0
    df = (written["out"] / "df").read_text().splitlines()[1].split()
    assert int(df[3]) * 1024 // written["bs"] == now["free_blocks_count"]
    assert now["state"] & 1, "not marked clean after umount"
    assert now["mount_count"] == 1   # the read-only remount does not count


def test_delete_everything_restores_mkfs_counts(written, mpagectl):
    assert (written["out"] / "ls_after_rm").read_text().split() == [".", ".."]
    mk, after = written["mkfs"], dump(mpagectl, written["copy"])
    assert after["free_blocks_count"] == mk["free_blocks_count"]
    assert after["free_inodes_count"] == mk["free_inodes_count"]
    assert after["used_blocks_in_bitmap"] == mk["used_blocks_in_bitmap"]


# --- the order of writeback, against ext2 ------------------------------------

def wb_order_job(ctx):
    (ctx.tmp / "f300").write_bytes(rand_bytes(300 * 1024, seed=300))
    mp = mkfs_mpagefs(ctx.mpagectl, ctx.tmp / "mp.img", None, 1024, "8M")
    sc = mkfs_mpagefs(ctx.mpagectl, ctx.tmp / "sc.img", None, 1024, "8M")
    e2 = mkfs_ext2(ctx.tmp / "e2.img", {}, 1024, "8M")
    return GuestJob(GUEST_PRELUDE + """
t() { sync; mpagectl trace -d "$1" -o "$OUT/$2" -- dd if=/job/f300 of="$3/f300" bs=1024 conv=fsync; }
mount -t mpagefs /dev/vdc /mnt/a
mount -t mpagefs -o alloc=scatter /dev/vdd /mnt/b
mount -t ext2 /dev/vde /mnt/c
t /dev/vdc mp /mnt/a
t /dev/vdd sc /mnt/b
t /dev/vde e2 /mnt/c
umount /mnt/a /mnt/b /mnt/c
""", disks=[mp, sc, e2], files={"f300": ctx.tmp / "f300"}, data=dict(mp=mp, sc=sc, e2=e2))


wb_order = vm_job(wb_order_job, "wb_order")


def test_writeback_order_matches_ext2(wb_order, mpagectl):
    """dd conv=fsync of a 300-block file at 1 KiB: mpage_writepages issues the
    data in ascending order in as few bios as ext2, and each BH_Boundary
    write of the next indirect block (write_boundary_block) comes right after
    the data before it: the same submission order as ext2's, then a cache
    flush.  With alloc=scatter every data bio is one block (no merging)."""
    mp, sc, e2, out = wb_order.mp, wb_order.sc, wb_order.e2, wb_order.out
    ours = notation(mpagectl, mp, out / "mp", "/f300")
    assert ours == notation(mpagectl, e2, out / "e2", "/f300")
    assert ours.startswith("[0 1 2 3 4 5 6 7 8 9 10 11] [12] [13 14 ")
    assert ours.endswith("298 299 300 301 302] [270]")

    def data(img, prefix):
        return [e for e in explain_json(mpagectl, img, out / prefix, "/f300")
                if "W" in e["rwbs"] and any(s["kind"] == "data" for s in e["segments"])]
    d_mp, d_e2 = data(mp, "mp"), data(e2, "e2")
    assert [e["sector"] for e in d_mp] == sorted(e["sector"] for e in d_mp)
    assert len(d_mp) <= len(d_e2)
    assert sum(e["block_count"] for e in d_mp) == 300
    flushes = [e for e in explain_json(mpagectl, mp, out / "mp") if e["rwbs"].startswith("F")]
    assert flushes, "fsync issued no cache flush"
    d_sc = data(sc, "sc")
    assert len(d_sc) == 300 and all(e["block_count"] == 1 for e in d_sc)
    for img in (mp, sc):
        assert_fsck_clean(mpagectl, img)


# --- a full disk ----------------------------------------------------------

def enospc_job(ctx):
    img = mkfs_mpagefs(ctx.mpagectl, ctx.tmp / "full.img", None, 1024, "2M", extra=["--inodes", "64"])
    mk = dump(ctx.mpagectl, img)
    copy = shutil.copy(img, ctx.tmp / "copy.img")
    return GuestJob(GUEST_PRELUDE + """
mount -t mpagefs /dev/vdc /mnt/a
if dd if=/dev/urandom of=/mnt/a/big bs=4k 2> $OUT/dd.err; then echo "dd did not fail"; exit 1; fi
cat $OUT/dd.err
if echo x > /mnt/a/small 2> $OUT/small.err; then
	sync
	test "$(cat /mnt/a/small)" = x
fi
i=0
while [ $i -lt 100 ]; do touch /mnt/a/e$i 2>> $OUT/inodes.err || break; i=$((i+1)); done
echo "empty files: $i"
df -k /mnt/a
sync
sha256sum /mnt/a/big > $OUT/sum
umount /mnt/a
echo 3 > /proc/sys/vm/drop_caches
mount -t mpagefs -o ro /dev/vdc /mnt/a
sha256sum -c $OUT/sum
umount /mnt/a
dd if=/dev/vdc of=/dev/vdd bs=1M 2> /dev/null
mount -t mpagefs /dev/vdd /mnt/a
rm -f /mnt/a/*
umount /mnt/a
""", disks=[img, copy], data=dict(img=img, mk=mk, copy=Path(copy)))


enospc = vm_job(enospc_job, "enospc")


def test_enospc_is_not_corruption(enospc, mpagectl):
    """dd until the disk is full fails with ENOSPC; what was written reads
    back, the image is clean, and deleting gives every block back."""
    img, mk = enospc.img, enospc.mk
    assert "No space left on device" in (enospc.out / "dd.err").read_text()
    assert "No space left on device" in (enospc.out / "inodes.err").read_text()
    full = dump(mpagectl, img)
    # at most the blocks of a path (IND + data) that could not be completed
    assert full["free_blocks_count"] <= 3
    assert full["free_inodes_count"] == 0
    assert_fsck_clean(mpagectl, img)
    emptied = enospc.copy
    assert_fsck_clean(mpagectl, emptied)
    after = dump(mpagectl, emptied)
    assert (after["free_blocks_count"], after["free_inodes_count"]) == \
        (mk["free_blocks_count"], mk["free_inodes_count"])


# --- alloc=scatter, superblock state, remount ---------------------------------

def scatter_job(ctx):
    img = mkfs_mpagefs(ctx.mpagectl, ctx.tmp / "s.img", None, 1024, "8M")
    return GuestJob(GUEST_PRELUDE + """
st() { mpagectl dump /dev/vdc --json | tr -d ' \\n' | sed 's/.*"mount_count":\\([0-9]*\\).*"state":\\([0-9]*\\).*/mc=\\1 state=\\2/'; echo; }
mount -t mpagefs -o alloc=scatter /dev/vdc /mnt/a
grep -o 'alloc=scatter' /proc/mounts
echo "rw: $(st)"
dd if=/dev/urandom of=/mnt/a/sc bs=1k count=40 2> /dev/null
sync
mount -o remount,ro /mnt/a
echo "remount ro: $(st)"
if touch /mnt/a/nope 2> /dev/null; then echo "write on ro"; exit 1; fi
mount -o remount,rw,alloc=contig /mnt/a
echo "remount rw: $(st)"
dd if=/dev/urandom of=/mnt/a/co bs=1k count=40 2> /dev/null
umount /mnt/a
echo "umount: $(st)"
""", disks=[img], data=dict(img=img))


scatter = vm_job(scatter_job, "scatter")


def test_scatter_state_and_remount(scatter, mpagectl):
    """alloc=scatter leaves a gap after every new block; the on-disk state is
    "not clean" while mounted read-write and clean again after remount,ro and
    umount; the mount count counts read-write mounts."""
    r, img = scatter.r, scatter.img
    lines = dict(line.split(": ", 1) for line in r.stdout.splitlines() if ": mc=" in line)
    assert lines == {"rw": "mc=1 state=0", "remount ro": "mc=1 state=1",
                     "remount rw": "mc=2 state=0", "umount": "mc=2 state=1"}
    sc = block_map(mpagectl, img, "/sc")
    phys = [r["physical"] + k for r in sc["runs"] for k in range(r["count"])]
    assert all(r["count"] == 1 for r in sc["runs"])
    assert all(b - a >= 2 for a, b in zip(phys, phys[1:]))
    co = block_map(mpagectl, img, "/co")
    assert [r["count"] for r in co["runs"]] == [12, 28]
    assert_fsck_clean(mpagectl, img)


# --- several writers at once ------------------------------------------------

def parallel_job(ctx, bs):
    img = mkfs_mpagefs(ctx.mpagectl, ctx.tmp / "p.img", None, bs, "32M")
    (ctx.tmp / "src").write_bytes(rand_bytes(700 * 1024, seed=bs))
    return GuestJob(GUEST_PRELUDE + """
mount -t mpagefs /dev/vdc /mnt/a
w() {
	n=$1
	i=0
	while [ $i -lt 12 ]; do
		dd if=/job/src of=f$n bs=$((1024 * (n + 1))) count=$((20 + i * 13)) 2> /dev/null
		dd if=/job/src of=f$n bs=1k seek=$((i * 7)) count=3 conv=notrunc 2> /dev/null
		truncate -s $((i * 5000)) f$n
		cat /job/src >> f$n
		/job/wio odirect d$n 0+$((4096 * (i + 1))) $n
		/job/wio mmap m$n $((i * 1000))+5000 $n
		[ $((i % 3)) -eq 1 ] && rm f$n d$n m$n
		i=$((i + 1))
	done
	sha256sum f$n d$n m$n > $OUT/sum$n
}
s() {
	mkdir sub
	for r in 1 2 3; do
		i=0
		while [ $i -lt 150 ]; do echo $i > sub/x$i; i=$((i + 1)); done
		rm sub/x*
	done
	rmdir sub
}
cd /mnt/a
w 0 & w 1 & w 2 & w 3 & s &
wait
cat $OUT/sum* > $OUT/sums
sync
cd /
umount /mnt/a
echo 3 > /proc/sys/vm/drop_caches
mount -t mpagefs -o ro /dev/vdc /mnt/a
cd /mnt/a
sha256sum -c $OUT/sums
ls
cd /
umount /mnt/a
""", disks=[img], files={"src": ctx.tmp / "src", "wio": build_wio(ctx.tmp)}, timeout=600,
                    data=dict(img=img))


parallel = vm_job(parallel_job, "parallel")


@pytest.mark.parametrize("bs", [1024, 4096])
def test_parallel_writers_leave_a_clean_image(parallel, mpagectl, bs):
    """Four writers in the same directory (appends, overwrites, truncates,
    deletes, O_DIRECT, mmap) and one filling and emptying a subdirectory, at
    the same time: every surviving file has the bytes its writer left, and
    the image is clean with exact free counts."""
    r, img = parallel.r, parallel.img
    assert r.stdout.count(": OK") == 12
    assert_fsck_clean(mpagectl, img)
