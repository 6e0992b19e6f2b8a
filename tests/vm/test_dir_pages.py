"""Directories through their own page cache (issue 15 item 7), measured in a VM.

mpagefs reads a directory as ext2 does: through the directory's page cache,
its pages read by fs/mpage.c (readahead of many blocks per bio), each page
validated once and marked checked.  The jobs here read directories cold under
`mpagectl trace` and the tests check, on the host, which directory blocks the
queued bios read (`mpagectl explain`); a corrupt directory block must be
reported once through mpagefs_error() and then refused, each time, without a
new report; the errors= policy applies to it.
"""
import json
import math
import re
from pathlib import Path

import pytest

from lab import GUEST_PRELUDE, GuestJob, explain_json, mkfs_mpagefs, run, vm_job

NAMES = 1500


def _names(n):
    # names of 20 bytes: records of 28 bytes, 36 to a 1 KiB block
    return [f"entry-{i:06d}-abcdefg" for i in range(n)]


def lookups_job(ctx, bs):
    """A directory of NAMES names, every one looked up cold, in reverse
    order (the worst order for the search's start hint), then listed."""
    src = ctx.tmp / "src"
    (src / "d").mkdir(parents=True)
    names = _names(NAMES)
    for name in names:
        (src / "d" / name).write_bytes(b"")
    image = mkfs_mpagefs(ctx.mpagectl, ctx.tmp / "d.img", src, bs, "16M",
                         extra=["--inodes", str(NAMES + 64)])
    (ctx.tmp / "names").write_text("".join(f"/mnt/a/d/{n}\n" for n in reversed(names)))
    script = GUEST_PRELUDE + r"""
mount -t mpagefs -o ro /dev/vdc /mnt/a
sync
echo 3 > /proc/sys/vm/drop_caches
mpagectl trace -d /dev/vdc -o $OUT/look -- sh -c 'stat -c %i $(cat /job/names) > $OUT/inos'
echo "looked up $(wc -l < $OUT/inos)"
sync
echo 3 > /proc/sys/vm/drop_caches
mpagectl trace -d /dev/vdc -o $OUT/list -- sh -c 'ls -a /mnt/a/d | wc -l > $OUT/count'
echo "listed $(cat $OUT/count)"
umount /mnt/a
"""
    return GuestJob(script, disks=[image], files={"names": ctx.tmp / "names"},
                    timeout=900, data=dict(image=image))


lookups = vm_job(lookups_job, "lookups")


def dir_reads(mpagectl, image, prefix):
    """(bios that read blocks of /d, how often each block of /d was read)."""
    bios, reads = 0, {}
    for e in explain_json(mpagectl, image, prefix):
        segs = [s for s in e["segments"] if s["kind"] == "dir" and s.get("path") == "/d"]
        if not segs:
            continue
        bios += 1
        for s in segs:
            for lblk in range(s["logical_first"], s["logical_last"] + 1):
                reads[lblk] = reads.get(lblk, 0) + 1
    return bios, reads


@pytest.mark.parametrize("bs", [1024, 4096])
def test_cold_lookups_read_each_directory_block_once_in_few_bios(lookups, mpagectl, bs):
    """Every block of the directory is read exactly once by a cold sequence of
    1500 lookups, and through readahead: in bios of many blocks (at most one
    per 128 KiB of directory, plus one), not one bio per block as when the
    blocks were read one by one through the block device's buffer cache."""
    r = lookups.r
    assert f"looked up {NAMES}" in r.stdout, r.stdout
    assert f"listed {NAMES + 2}" in r.stdout, r.stdout
    for trace in ("look", "list"):
        bios, reads = dir_reads(mpagectl, lookups.image, Path(r.out) / trace)
        nblocks = max(reads) + 1
        print(f"bs={bs} {trace}: {nblocks} directory blocks read in {bios} bios, "
              f"reads per block {sorted(set(reads.values()))}")
        assert sorted(reads) == list(range(nblocks)), reads
        assert set(reads.values()) == {1}, reads
        assert nblocks * bs >= NAMES * 28
        assert bios <= math.ceil(nblocks * bs / (128 << 10)) + 1, (bios, nblocks)


def corrupt_job(ctx, policy):
    """Directory d of two blocks (4 KiB each) whose second block has a bad
    rec_len; a name in it is looked up three times, the directory listed
    twice and a name created in it, on a mount with errors=POLICY."""
    src = ctx.tmp / "src"
    (src / "d").mkdir(parents=True)
    names = _names(200)
    for name in names:
        (src / "d" / name).write_bytes(b"")
    image = mkfs_mpagefs(ctx.mpagectl, ctx.tmp / "c.img", src, 4096, "8M")
    m = json.loads(run([ctx.mpagectl, "map", image, "/d", "--json"]).stdout)
    blocks = [r["physical"] + i for r in m["runs"] for i in range(r["count"])]
    assert len(blocks) == 2, m
    with open(image, "r+b") as f:
        f.seek(blocks[1] * 4096 + 4)      # rec_len of block 1's first record
        f.write((30).to_bytes(2, "little"))
    late = names[-1]                       # its record is in block 1
    script = GUEST_PRELUDE + rf"""
mount -t mpagefs -o errors={policy} /dev/vdc /mnt/a
for i in 1 2 3; do
	stat -c %i /mnt/a/d/{late} > /dev/null 2> $OUT/err.$i && echo "stat $i ok" || echo "stat $i failed: $(cat $OUT/err.$i)"
done
for i in 1 2; do
	ls /mnt/a/d > /dev/null 2> $OUT/lserr.$i && echo "ls $i ok" || echo "ls $i failed: $(cat $OUT/lserr.$i)"
done
touch /mnt/a/d/new 2> $OUT/touch.err && echo "touch ok" || echo "touch failed: $(cat $OUT/touch.err)"
stat -c %i /mnt/a/d/{names[0]} > /dev/null && echo "first block ok"
grep ' /mnt/a ' /proc/mounts | cut -d' ' -f4 | cut -d, -f1 | sed 's/^/mounted /'
dmesg | grep -c 'bad directory record' | sed 's/^/reports /'
dmesg | grep 'mpagefs (' || true
umount /mnt/a
"""
    return GuestJob(script, disks=[image], fsck=False, data=dict(image=image, policy=policy))


corrupt_dir = vm_job(corrupt_job, "corrupt_dir", params=["continue", "remount-ro"], param="policy")


def test_corrupt_directory_block_is_reported_once_then_refused(corrupt_dir):
    """The bad block is found when its page first comes in and reported then,
    once; every later access to that page fails with EUCLEAN (Structure needs
    cleaning) without a new report (two listings and a create read it again);
    the block before it, on another page, stays readable; errors=remount-ro
    makes the mount read-only at the report."""
    corrupt = corrupt_dir
    out = corrupt.r.stdout
    print(out)
    for i in (1, 2, 3):
        assert re.search(rf"^stat {i} failed: .*Structure needs cleaning", out, re.M), out
    assert "first block ok" in out
    assert "reports 1" in out.splitlines(), out
    assert re.search(r"inode \d+: bad directory record at offset \d+ \(block 1\): rec_len is "
                     r"not a multiple of 4", out), out
    if corrupt.policy == "remount-ro":
        assert "mounted ro" in out.splitlines(), out
        # the create's lookup reads the bad page first, or the write is refused
        assert re.search(r"^touch failed: .*(Read-only file system|Structure needs cleaning)",
                         out, re.M), out
        assert "remounting filesystem read-only" in out
    else:
        assert "mounted rw" in out.splitlines(), out
        # the create may find room in block 0; if it reads block 1 it is refused
        assert re.search(r"^touch (ok|failed: .*Structure needs cleaning)", out, re.M), out


# --- allocation locality and directories that shrink (issue 15 item 8) --------

PLACE_SCRIPT = r"""
mount -t mpagefs /dev/vdc /mnt/a
cd /mnt/a
# a low inode number and blocks right after d's are freed before d/f is made
echo t > t
mkdir d
dd if=/dev/zero of=g bs=1024 count=160 2>/dev/null
dd if=/dev/zero of=far bs=1024 count=2048 2>/dev/null
sync
rm t g
echo f > d/f
# a directory that grows to many blocks and empties again
mkdir e
i=0
while [ $i -lt 300 ]; do : > e/name-of-thirty-two-bytes-$(printf %05d $i); i=$((i + 1)); done
sync
echo "grown $(stat -c %s e)"
df -k /mnt/a | tail -n 1 | awk '{print "used " $3}'
i=0
while [ $i -lt 300 ]; do
	[ $((i % 3)) -eq 0 ] || rm e/name-of-thirty-two-bytes-$(printf %05d $i)
	i=$((i + 1))
done
echo "thinned $(stat -c %s e)"
i=0
while [ $i -lt 300 ]; do rm -f e/name-of-thirty-two-bytes-$(printf %05d $i); i=$((i + 1)); done
echo "emptied $(stat -c %s e)"
sync
df -k /mnt/a | tail -n 1 | awk '{print "used " $3}'
ls -a e | wc -l | sed 's/^/listed /'
: > e/again
echo "again $(stat -c %s e)"
rmdir e 2>&1 || true
rm e/again
rmdir e && echo "rmdir ok"
cd /
umount /mnt/a
"""


def place_job(ctx):
    image = mkfs_mpagefs(ctx.mpagectl, ctx.tmp / "p.img", None, 1024, "16M")
    return GuestJob(GUEST_PRELUDE + PLACE_SCRIPT, disks=[image], timeout=600, data=dict(image=image))


place = vm_job(place_job, "place")


def _ls(mpagectl, image, path):
    """`mpagectl ls` -> {name: inode}"""
    out = {}
    for line in run([mpagectl, "ls", image, path]).stdout.splitlines():
        f = line.split()
        if len(f) >= 7 and f[0].isdigit():
            out[f[6]] = int(f[0])
    return out


def test_new_file_goes_near_its_directory(place, mpagectl):
    """d/f's inode is the first free one after d's (not the lower one t left),
    and its block the start of the first run of 128 KiB of free blocks after
    d's block (the 160 KiB g left), not the block after the filesystem's last allocation
    (after far's 2 MiB)."""
    ino = _ls(mpagectl, place.image, "/d")
    print(ino)
    assert ino["f"] > ino["."], ino
    dblk = json.loads(run([mpagectl, "map", place.image, "/d", "--json"]).stdout)["runs"][0]["physical"]
    fblk = json.loads(run([mpagectl, "map", place.image, "/d/f", "--json"]).stdout)["runs"][0]["physical"]
    far = json.loads(run([mpagectl, "map", place.image, "/far", "--json"]).stdout)["runs"]
    print(f"d at block {dblk}, d/f at {fblk}, far at {far[0]['physical']}..")
    assert dblk < fblk < far[0]["physical"], (dblk, fblk, far[0])


def test_directory_gives_back_its_empty_trailing_blocks(place):
    """A directory grown to many blocks keeps its size while a name in its
    last block is left, gives back every empty block at its end when the
    last names go (down to its first block), grows again, and fsck (run on
    the image after the boot) agrees."""
    out = place.r.stdout
    vals = {line.split()[0]: int(line.split()[1]) for line in out.splitlines()
            if line.split() and line.split()[0] in ("grown", "thinned", "emptied", "again")}
    used = [int(line.split()[1]) for line in out.splitlines() if line.startswith("used ")]
    print(vals, used)
    assert vals["grown"] >= 8 * 1024
    assert vals["thinned"] == vals["grown"]       # name 297 is in the last block
    assert vals["emptied"] == 1024
    assert used[1] <= used[0] - (vals["grown"] - 1024) // 1024
    assert "listed 2" in out.splitlines()
    assert vals["again"] == 1024
    assert "rmdir ok" in out
