"""The defects of issue 15 (a review against fs/ext2), each tried as a user would.

One boot runs every job of this module (lab.vm_job):

- wrap: a sparse 4 TiB image (1 KiB blocks, s_blocks_count 2^32 - 1) whose
  last bitmap block is full from the allocation goal on, with one metadata
  block (a block-bitmap block) marked free below s_first_data_block.  A
  32-bit bitmap scan wrapped from 2^32 to block 0 and handed that metadata
  block out as file data.
- full_inodes: a crafted sparse image of 2^32 - 1 inodes, inode bitmap full,
  free count 1: creating a file must fail with ENOSPC; the 32-bit inode
  scan wrapped and looped forever.
- ro_repair: mounted read-only, block 0 repaired underneath with
  `mpagectl fsck --repair` (its free count had been 5 off), remounted
  read-write, a file written: fsck must then be clean.  The in-memory copy of
  the superblock used to overwrite the repair.
- truncate: sparse files of every depth truncated to sizes that leave an
  indirect block (IND, DIND, TIND) mapping nothing; the blocks each file
  holds must equal ext2's (the real fs/ext2 module) after the same commands.
- boundary: gb_uptodate=on, a 17-block file read cold under the
  mpagefs_get_block trace event: BH_Boundary only on answers that end at the
  last pointer of their pointer block.
- reset_caps: the sysfs `reset` file as uid 0 with every capability dropped
  (util-linux setpriv): refused, the counters kept; with CAP_SYS_ADMIN reset.
- errors_*: the errors= policy on an image with a corrupt indirect pointer,
  under writes: continue stays read-write, remount-ro turns read-only, both
  record MPAGEFS_STATE_ERRORS on disk at once; the default comes from the
  superblock's s_errors (mkfs writes continue; 0 means remount-ro, as ext2).
  panic is not triggered here (the harness fails a boot whose log has a
  panic): only that the option is accepted and shown.
- silent: a mount with MS_SILENT of a device that is not an mpagefs logs
  nothing; without it one line.
"""
import re
from pathlib import Path

import pytest

from lab import (GUEST_PRELUDE, GuestJob, build_static, fsck, mkfs_ext2, mkfs_mpagefs, run,
                 set_super_field, super_field, vm_job)

INODE_SIZE = 128
I_BLOCKS_OFF = 60          # struct mpagefs_inode: i_blocks
I_BLOCK_OFF = 64           # i_block[0]
STATE_ERRORS = 0x2


class Image:
    """Byte-level access to an mpagefs image (block size and layout from its superblock)."""

    def __init__(self, path):
        self.path = Path(path)
        self.bs = 1 << super_field(path, "log_block_size")
        self.bbitmap = super_field(path, "block_bitmap")
        self.itable = super_field(path, "inode_table")
        self.first_data = super_field(path, "first_data_block")
        self.blocks = super_field(path, "blocks_count")

    def read(self, off, n):
        with open(self.path, "rb") as f:
            f.seek(off)
            return f.read(n)

    def write(self, off, data):
        with open(self.path, "r+b") as f:
            f.seek(off)
            f.write(data)

    def inode_off(self, ino):
        return self.itable * self.bs + (ino - 1) * INODE_SIZE

    def i_block(self, ino, i):
        return int.from_bytes(self.read(self.inode_off(ino) + I_BLOCK_OFF + 4 * i, 4), "little")

    def set_i_block(self, ino, i, blk):
        self.write(self.inode_off(ino) + I_BLOCK_OFF + 4 * i, blk.to_bytes(4, "little"))

    def block(self, blk):
        return self.read(blk * self.bs, self.bs)

    def set_used(self, blk, used):
        off = self.bbitmap * self.bs + blk // 8
        byte = self.read(off, 1)[0]
        byte = byte | (1 << (blk % 8)) if used else byte & ~(1 << (blk % 8))
        self.write(off, bytes([byte]))


def ino_of(mpagectl, image, path):
    return int(re.search(r'"ino":\s*(\d+)', run([mpagectl, "map", image, path, "--json"]).stdout)[1])


# --- 1. the bitmap scan near 2^32 blocks ---------------------------------------

WRAP_META = 5   # a block-bitmap block (they are blocks 1 .. 524288)


def wrap_job(ctx):
    src = ctx.tmp / "src"
    src.mkdir()
    (src / "f").write_bytes(b"f" * 2048)
    (src / "g").write_bytes(b"g" * 2048)
    img = mkfs_mpagefs(ctx.mpagectl, ctx.tmp / "huge.img", src, 1024, "4096G",
                       extra=["--inodes", "16"])
    im = Image(img)
    assert im.blocks == 2**32 - 1, im.blocks
    f, g = ino_of(ctx.mpagectl, img, "/f"), ino_of(ctx.mpagectl, img, "/g")
    # g's two blocks move to the last two blocks, f's second block just
    # before them: the next block of f has its goal at blocks_count - 2, and
    # from there to the end of the last bitmap block everything is in use.
    moves = [(g, 0, im.blocks - 2), (g, 1, im.blocks - 1), (f, 1, im.blocks - 3)]
    for ino, i, new in moves:
        old = im.i_block(ino, i)
        im.set_used(old, False)
        im.set_used(new, True)
        im.write(new * im.bs, im.block(old))
        im.set_i_block(ino, i, new)
    # corrupt: a metadata block marked free (the only free bit below the data area)
    meta_before = im.block(WRAP_META)
    im.set_used(WRAP_META, False)
    free_before = super_field(img, "free_blocks_count")
    script = GUEST_PRELUDE + """
mount -t mpagefs /dev/vdc /mnt/a
dd if=/dev/urandom of=/mnt/a/f bs=1024 seek=2 count=1 conv=notrunc 2> $OUT/dd.err
sync
umount /mnt/a
echo WRAP-DONE
"""
    # No fsck: mpagectl fsck keeps a 4-byte owner per block (16 GiB here).
    return GuestJob(script, disks=[img], timeout=600, fsck=False,
                    data=dict(img=img, f=f, meta_before=meta_before, free_before=free_before))


wrap = vm_job(wrap_job, "wrap")


def test_allocation_near_2_32_blocks_stays_in_the_data_area(wrap, mpagectl):
    """The next block of f (goal 2^32 - 3, nothing free up to the end) comes
    from the data area, never from the metadata block marked free at block 5,
    which keeps its bytes.  The kernel's accounting agrees with what it did
    (mpagectl fsck cannot check 2^32 blocks: it keeps 4 bytes per block):
    the new block is marked in use, the free count one less, i_blocks one
    more, and the superblock marked clean."""
    assert "WRAP-DONE" in wrap.r.stdout, wrap.r.stdout
    im = Image(wrap.img)
    got = im.i_block(wrap.f, 2)
    assert im.first_data <= got < im.blocks, \
        f"block 2 of /f went to block {got}, outside the data area [{im.first_data}, {im.blocks})"
    assert im.block(WRAP_META) == wrap.meta_before, "metadata block 5 was overwritten"
    assert im.read(im.bbitmap * im.bs + got // 8, 1)[0] & (1 << (got % 8))
    assert super_field(wrap.img, "free_blocks_count") == wrap.free_before - 1
    i_blocks = int.from_bytes(im.read(im.inode_off(wrap.f) + I_BLOCKS_OFF, 4), "little")
    assert i_blocks == 3, f"i_blocks {i_blocks} for 3 blocks"
    assert super_field(wrap.img, "state") == 1


def craft_full_inode_bitmap(path):
    """An image (4 KiB blocks, about 550 GB sparse) of 2^32 - 1 inodes whose
    inode bitmap is full while s_free_inodes_count says 1: mkfs cannot make
    it (its inode table is 512 GiB), so it is written here field by field.
    Returns (blocks_count, first_data_block)."""
    bs, inodes, data = 4096, 2**32 - 1, 64
    per = 8 * bs
    ibb = -(-inodes // per)
    itb = -(-inodes * INODE_SIZE // bs)
    bbb = 1
    while True:
        blocks = 1 + bbb + ibb + itb + data
        if -(-blocks // per) == bbb:
            break
        bbb = -(-blocks // per)
    ibitmap, itable = 1 + bbb, 1 + bbb + ibb
    first_data = itable + itb
    used = first_data + 1                       # metadata and the root directory
    with open(path, "wb") as f:
        f.truncate(blocks * bs)
        # block bitmap: blocks 0 .. first_data, and the padding past the end
        f.seek(bs)
        f.write(b"\xff" * (used // 8) + bytes([(1 << (used % 8)) - 1]))
        f.seek(bs + blocks // 8)
        f.write(bytes([0xff & ~((1 << (blocks % 8)) - 1)]) + b"\xff" * (bbb * bs - blocks // 8 - 1))
        # inode bitmap: every bit set
        f.seek(ibitmap * bs)
        chunk = b"\xff" * (1 << 20)
        for _ in range(ibb * bs // len(chunk)):
            f.write(chunk)
        # the root inode and its directory block
        root = bytearray(INODE_SIZE)
        root[0:2] = (0o40755).to_bytes(2, "little")
        root[2:4] = (2).to_bytes(2, "little")
        root[16:24] = bs.to_bytes(8, "little")
        root[I_BLOCKS_OFF:I_BLOCKS_OFF + 4] = (1).to_bytes(4, "little")
        root[I_BLOCK_OFF:I_BLOCK_OFF + 4] = first_data.to_bytes(4, "little")
        f.seek(itable * bs)
        f.write(root)
        dot = (1).to_bytes(4, "little") + (12).to_bytes(2, "little") + bytes([1, 2]) + b".\0\0\0"
        dotdot = (1).to_bytes(4, "little") + (bs - 12).to_bytes(2, "little") + bytes([2, 2]) + b".."
        f.seek(first_data * bs)
        f.write(dot + dotdot)
        # the superblock, sealed by set_super_field
        sb = [0x4D504746, 1, 12, INODE_SIZE, 0, 0, 0, 1, blocks, blocks - used, inodes, 1,
              1, bbb, ibitmap, ibb, itable, itb, first_data, 1, 0, 1]
        f.seek(0)
        f.write(b"".join(v.to_bytes(4, "little") for v in sb))
    set_super_field(path, "errors", 1)
    return blocks, first_data


def full_inodes_job(ctx):
    img = ctx.tmp / "inodes.img"
    craft_full_inode_bitmap(img)
    script = GUEST_PRELUDE + """
mount -t mpagefs /dev/vdc /mnt/a
set +e
touch /mnt/a/x 2> $OUT/touch.err
echo "touch rc $?"
set -e
umount /mnt/a
dmesg | grep 'mpagefs (' > $OUT/dmesg.txt || true
"""
    # No fsck: it would read 2^32 inodes.  A hang is what this tests against:
    # the timeout ends the job (and fails the boot) if the scan never returns.
    return GuestJob(script, disks=[img], timeout=300, fsck=False, data=dict(img=img))


full_inodes = vm_job(full_inodes_job, "full_inodes")


def test_full_inode_bitmap_near_2_32_inodes_is_enospc(full_inodes):
    """With s_inodes_count 2^32 - 1 and every bit of the inode bitmap set,
    creating a file scans the bitmap once and fails with ENOSPC (a 32-bit
    cursor wrapped past the last bitmap block to 0 and scanned forever,
    holding s_alloc_lock); the disagreement with the free count is reported
    and recorded, and the count written back is 0."""
    out = full_inodes.r.stdout
    assert re.search(r"^touch rc [1-9]", out, re.M), out
    assert "No space left on device" in (full_inodes.out / "touch.err").read_text()
    dmesg = (full_inodes.out / "dmesg.txt").read_text()
    assert "inode bitmap is full but s_free_inodes_count is 1" in dmesg, dmesg
    assert super_field(full_inodes.img, "free_inodes_count") == 0
    assert super_field(full_inodes.img, "state") == 1 | STATE_ERRORS


# --- 2. a repair made under a read-only mount ------------------------------------

def ro_repair_job(ctx):
    img = mkfs_mpagefs(ctx.mpagectl, ctx.tmp / "rep.img", None, 1024, "8M")
    set_super_field(img, "free_blocks_count", super_field(img, "free_blocks_count") - 5)
    script = GUEST_PRELUDE + """
mount -t mpagefs -o ro /dev/vdc /mnt/a
set +e
mpagectl fsck --repair /dev/vdc > $OUT/repair.txt 2>&1
echo "repair rc $?"
set -e
mount -o remount,rw /mnt/a
dd if=/dev/urandom of=/mnt/a/new bs=1024 count=10 2>/dev/null
sync
df -k /mnt/a | tail -1 > $OUT/df
umount /mnt/a
"""
    # the harness's fsck after the boot is the check (GuestJob.fsck)
    return GuestJob(script, disks=[img], timeout=300, data=dict(img=img))


ro_repair = vm_job(ro_repair_job, "ro_repair")


def test_repair_under_a_read_only_mount_survives_remount_rw(ro_repair, mpagectl):
    """fsck --repair fixed the free count while mounted read-only (exit 1);
    the read-write remount and the write after it keep that repair: the
    harness's fsck of the image after the boot is clean (the fixture fails
    otherwise), and so is this one."""
    assert "repair rc 1" in ro_repair.r.stdout, (ro_repair.out / "repair.txt").read_text()
    rc, out = fsck(mpagectl, ro_repair.img)
    assert rc == 0, out


# --- 3. truncate frees indirect blocks that map nothing ---------------------------

# (file, blocks written (1 KiB each), size truncated to, in blocks); 1 KiB
# blocks: IND maps 12..267, DIND 268..65803, TIND from 65804.
TRUNCATES = [
    ("ind", [0, 20], 15),            # IND left empty
    ("ind_kept", [12, 20], 15),      # IND still maps block 12
    ("dind", [0, 400], 300),         # the case: DIND and its IND empty
    ("dind_half", [0, 300, 700], 600),   # DIND keeps IND#0, IND#1 empty
    ("tind", [0, 65900], 65810),     # TIND, its DIND and IND empty
    ("tind_top", [0, 65804 + 65536 + 10], 65804 + 65536),  # TIND[1]'s branch empty
]


def truncate_job(ctx):
    mp = mkfs_mpagefs(ctx.mpagectl, ctx.tmp / "tr.img", None, 1024, "16M")
    e2 = mkfs_ext2(ctx.tmp / "tr-e2.img", {}, 1024, "16M")
    lines = []
    for name, blocks, size in TRUNCATES:
        for b in blocks:
            lines.append(f"dd if=/dev/urandom of=$d/{name} bs=1024 count=1 seek={b} "
                         "conv=notrunc 2>/dev/null")
        lines.append(f"truncate -s {size * 1024} $d/{name}")
    body = "\n\t".join(lines)
    names = " ".join(n for n, _, _ in TRUNCATES)
    script = GUEST_PRELUDE + f"""
seq() {{
	d=$1
	{body}
	sync
	for n in {names}; do echo "$2 $n $(stat -c %b $d/$n)"; done
	df -k $d | tail -1 | sed "s/^/$2 df /"
}}
mount -t mpagefs /dev/vdc /mnt/a
mount -t ext2 /dev/vdd /mnt/b
seq /mnt/a mpagefs
seq /mnt/b ext2
umount /mnt/a /mnt/b
"""
    return GuestJob(script, disks=[mp, e2], timeout=300, data=dict(img=mp))


truncate = vm_job(truncate_job, "truncate")


@pytest.mark.parametrize("name", [t[0] for t in TRUNCATES])
def test_truncate_holds_the_blocks_ext2_holds(truncate, name):
    """After the same writes and truncate, the file holds as many sectors on
    mpagefs as on ext2: no indirect block that maps nothing is kept (the
    harness's fsck checks i_blocks and the bitmap against the maps)."""
    got = dict(re.findall(rf"^(\w+) {name} (\d+)$", truncate.r.stdout, re.M))
    assert set(got) == {"mpagefs", "ext2"}, truncate.r.stdout
    assert got["mpagefs"] == got["ext2"], f"{name}: mpagefs {got['mpagefs']} sectors, ext2 {got['ext2']}"


# --- 4. BH_Boundary with gb_uptodate=on -------------------------------------------

def boundary_job(ctx):
    src = ctx.tmp / "src"
    src.mkdir()
    (src / "f17").write_bytes(bytes(range(256)) * 4 * 17)
    img = mkfs_mpagefs(ctx.mpagectl, ctx.tmp / "b.img", src, 1024, "8M")
    script = GUEST_PRELUDE + """
T=/sys/kernel/tracing
[ -e $T/trace ] || mount -t tracefs tracefs $T
mount -t mpagefs -o ro,gb_uptodate=on /dev/vdc /mnt/a
echo 3 > /proc/sys/vm/drop_caches
echo > $T/trace
echo 1 > $T/events/mpagefs/mpagefs_get_block/enable
cat /mnt/a/f17 > /dev/null
echo 0 > $T/events/mpagefs/mpagefs_get_block/enable
grep 'mpagefs_get_block:' $T/trace | sed 's/.*mpagefs_get_block: //' > $OUT/trace.txt
umount /mnt/a
"""
    return GuestJob(script, disks=[img], timeout=300)


boundary = vm_job(boundary_job, "boundary")


def test_gb_uptodate_sets_boundary_only_at_a_boundary(boundary):
    """Every get_block answer with BH_Boundary ends at block 11 (the last
    direct pointer) or at the last pointer of an indirect block; a run that
    emulate.c trimmed to one block in the middle carries no boundary."""
    lines = (boundary.out / "trace.txt").read_text().splitlines()
    answers = []
    for line in lines:
        m = re.search(r"lblk (\d+) .* ret (-?\d+) pblk \d+ len (\d+) boundary (\d)", line)
        if m and int(m[2]) == 0 and int(m[3]) > 0:
            answers.append((int(m[1]), int(m[3]), int(m[4])))
    assert answers, lines
    assert any(n == 1 and lblk < 11 for lblk, n, _ in answers), \
        f"no trimmed one-block answer: gb_uptodate did not act {answers}"

    def at_boundary(last):
        return last == 11 or (last >= 12 and (last - 12) % 256 == 255)
    wrong = [a for a in answers if a[2] and not at_boundary(a[0] + a[1] - 1)]
    assert not wrong, f"BH_Boundary on answers (lblk, len, boundary) not ending at a boundary: {wrong}"


# --- 5. the sysfs reset file needs CAP_SYS_ADMIN ----------------------------------

def reset_caps_job(ctx):
    src = ctx.tmp / "src"
    src.mkdir()
    (src / "f").write_bytes(b"x" * 20000)
    img = mkfs_mpagefs(ctx.mpagectl, ctx.tmp / "r.img", src, 1024, "8M")
    script = GUEST_PRELUDE + """
mount -t mpagefs -o ro /dev/vdc /mnt/a
S=/sys/fs/mpagefs/$(basename /dev/vdc)
cat /mnt/a/f > /dev/null
echo "before $(cat $S/get_block_calls)"
set +e
/usr/bin/setpriv --inh-caps=-all --bounding-set=-all -- /bin/sh -c \
	"grep ^CapEff /proc/self/status; echo 1 > $S/reset" > $OUT/nocap.txt 2>&1
echo "nocap rc $?"
set -e
echo "after-nocap $(cat $S/get_block_calls)"
echo 1 > $S/reset
echo "after-root $(cat $S/get_block_calls)"
umount /mnt/a
"""
    return GuestJob(script, disks=[img], timeout=300)


reset_caps = vm_job(reset_caps_job, "reset_caps")


def test_sysfs_reset_needs_cap_sys_admin(reset_caps):
    """uid 0 without capabilities cannot reset the counters (EPERM, as
    netlink's RESET_STATS); uid 0 with them can."""
    out = reset_caps.r.stdout
    nocap = (reset_caps.out / "nocap.txt").read_text()
    assert "CapEff:\t0000000000000000" in nocap, nocap
    before = int(re.search(r"^before (\d+)$", out, re.M)[1])
    assert before > 0, out
    assert "nocap rc 0" not in out, nocap
    assert "not permitted" in nocap, nocap
    assert int(re.search(r"^after-nocap (\d+)$", out, re.M)[1]) >= before, out
    assert int(re.search(r"^after-root (\d+)$", out, re.M)[1]) == 0, out


# --- 6. the errors= policy ---------------------------------------------------------

def corrupt_image(ctx, name, extra=()):
    """A 20-block file /f whose IND entry for block 17 points into the block
    bitmap.  The data block it pointed to is given back (bitmap, free count,
    i_blocks), so the pointer is the image's only fault."""
    src = ctx.tmp / f"src-{name}"
    src.mkdir()
    (src / "f").write_bytes(b"e" * 20 * 1024)
    img = mkfs_mpagefs(ctx.mpagectl, ctx.tmp / f"{name}.img", src, 1024, "8M", extra=extra)
    im = Image(img)
    ino = ino_of(ctx.mpagectl, img, "/f")
    entry = im.i_block(ino, 12) * im.bs + 4 * (17 - 12)
    old = int.from_bytes(im.read(entry, 4), "little")
    im.write(entry, (1).to_bytes(4, "little"))
    im.set_used(old, False)
    i_blocks = im.inode_off(ino) + I_BLOCKS_OFF
    im.write(i_blocks, (int.from_bytes(im.read(i_blocks, 4), "little") - 1).to_bytes(4, "little"))
    set_super_field(img, "free_blocks_count", super_field(img, "free_blocks_count") + 1)
    return img


# The workload meets the corrupt pointer by writing block 17, then goes on writing.
ERRORS_SCRIPT = GUEST_PRELUDE + """
mount -t mpagefs @OPTS@ /dev/vdc /mnt/a
grep " /mnt/a " /proc/mounts | sed 's/^/before: /'
# blocks and an inode allocated that no sync has counted in block 0 yet
dd if=/dev/zero of=/mnt/a/pre bs=1024 count=8 2>/dev/null
set +e
dd if=/dev/zero of=/mnt/a/f bs=1024 seek=17 count=1 conv=notrunc 2>> $OUT/err.txt
echo "dd17 rc $?"
echo after > /mnt/a/later 2>> $OUT/err.txt
echo "later rc $?"
set -e
grep " /mnt/a " /proc/mounts | sed 's/^/after: /'
# on the disk itself, not in the page cache
echo "state $(dd if=/dev/vdc bs=512 count=1 iflag=direct 2>/dev/null | od -An -tu4 -j28 -N4 | tr -d ' ')"
# back to read-write (no repair in between): the in-core counts go on
mount -o remount,rw /mnt/a
echo again > /mnt/a/again
umount /mnt/a
dmesg | grep 'mpagefs (' > $OUT/dmesg.txt || true
"""

ERRORS_CASES = {
    # name: (mkfs --errors, s_errors forced afterwards, mount options, read-only after?)
    "continue_default": ("continue", None, "", False),
    "remount_ro_option": ("continue", None, "-o errors=remount-ro", True),
    "remount_ro_mkfs": ("remount-ro", None, "", True),
    "unset_is_remount_ro": ("continue", 0, "", True),
    "continue_option": ("remount-ro", None, "-o errors=continue", False),
}


def errors_job(ctx, case):
    mkfs_errors, forced, opts, _ = ERRORS_CASES[case]
    img = corrupt_image(ctx, case, extra=["--errors", mkfs_errors])
    if forced is not None:
        set_super_field(img, "errors", forced)
    return GuestJob(ERRORS_SCRIPT.replace("@OPTS@", opts), disks=[img], timeout=300, fsck=False,
                    data=dict(img=img, case=case))


errors = vm_job(errors_job, "errors", params=list(ERRORS_CASES), param="case")


def test_errors_policy_under_writes(errors, mpagectl):
    """The write of block 17 fails (EUCLEAN) and is logged through
    mpagefs_error(); MPAGEFS_STATE_ERRORS is on disk before the unmount;
    continue keeps the mount read-write and the next write works,
    remount-ro turns it read-only (the next create fails with EROFS).  A
    remount read-write after that keeps the free counts of the allocations
    made before the error (block 0 had not been synced since)."""
    case = errors.case
    read_only_after = ERRORS_CASES[case][3]
    out = errors.r.stdout
    err = (errors.out / "err.txt").read_text()
    dmesg = (errors.out / "dmesg.txt").read_text()
    assert re.search(r"^before: \S+ /mnt/a mpagefs rw[,\s]", out, re.M), out
    assert "dd17 rc 0" not in out, out
    assert re.search(r"mpagefs \(vd\w+\): inode \d+: entry 5 of single-indirect block", dmesg), dmesg
    state = int(re.search(r"^state (\d+)$", out, re.M)[1])
    assert state & STATE_ERRORS, f"s_state {state:#x} lacks ERRORS while still mounted"
    if read_only_after:
        assert re.search(r"^after: \S+ /mnt/a mpagefs ro[,\s]", out, re.M), out
        # busybox sh reports the failed redirection on the script's own output
        assert "later rc 1" in out and "Read-only file system" in out, (out, err)
        assert "remounting filesystem read-only" in dmesg, dmesg
    else:
        assert re.search(r"^after: \S+ /mnt/a mpagefs rw[,\s]", out, re.M), out
        assert "later rc 0" in out, err
        assert "remounting" not in dmesg, dmesg
    # fsck finds the corrupt pointer and the recorded errors, and nothing
    # else: the free counts written at the unmount agree with the bitmaps
    rc, fsck_out = fsck(mpagectl, errors.img)
    assert rc != 0 and "ERRORS" in fsck_out, fsck_out
    assert "free-blocks" not in fsck_out and "free-inodes" not in fsck_out, fsck_out


def options_job(ctx):
    plain = mkfs_mpagefs(ctx.mpagectl, ctx.tmp / "o.img", None, 1024, "4M")
    panic = mkfs_mpagefs(ctx.mpagectl, ctx.tmp / "p.img", None, 1024, "4M",
                         extra=["--errors", "panic"])
    script = GUEST_PRELUDE + """
show() { grep " /mnt/a " /proc/mounts | sed "s/^/$1: /"; }
mount -t mpagefs -o ro /dev/vdc /mnt/a && show default && umount /mnt/a
mount -t mpagefs -o ro,errors=panic /dev/vdc /mnt/a && show panic && umount /mnt/a
mount -t mpagefs -o ro,errors=remount-ro /dev/vdc /mnt/a && show ro
mount -o remount,errors=continue /mnt/a && show remount-continue && umount /mnt/a
mount -t mpagefs -o ro /dev/vdd /mnt/a && show mkfs-panic && umount /mnt/a
if mount -t mpagefs -o ro,errors=sometimes /dev/vdc /mnt/a 2>/dev/null; then echo "bad accepted"; fi
"""
    return GuestJob(script, disks=[plain, panic], timeout=300)


options = vm_job(options_job, "options")


def test_errors_option_is_parsed_and_shown(options):
    """errors= takes continue, remount-ro and panic, changes on remount, and
    /proc/mounts shows it when it is not the superblock's s_errors (as ext2)."""
    out = options.r.stdout

    def opts(label):
        m = re.search(rf"^{label}: \S+ /mnt/a mpagefs (\S+) ", out, re.M)
        assert m, out
        return m[1].split(",")
    assert not any(o.startswith("errors=") for o in opts("default"))
    assert "errors=panic" in opts("panic")
    assert "errors=remount-ro" in opts("ro")
    assert not any(o.startswith("errors=") for o in opts("remount-continue"))
    assert not any(o.startswith("errors=") for o in opts("mkfs-panic"))
    assert "bad accepted" not in out


# --- silent probes ------------------------------------------------------------------

def silent_job(ctx):
    zero = ctx.tmp / "zero.img"
    run(["truncate", "-s", "4M", zero])
    mountcall = build_static(Path(__file__).with_name("mountcall.c"), ctx.tmp / "mountcall")
    script = GUEST_PRELUDE + """
echo "DEV $(basename /dev/vdc)"
echo "<5>test_reliability: silent begin" > /dev/kmsg
/job/mountcall /dev/vdc /mnt/a mpagefs silent | sed 's/^/silent: /'
mount /dev/vdc /mnt/a 2>/dev/null && umount /mnt/a || echo "busybox probe refused"
echo "<5>test_reliability: loud begin" > /dev/kmsg
/job/mountcall /dev/vdc /mnt/a mpagefs loud | sed 's/^/loud: /'
echo "<5>test_reliability: loud end" > /dev/kmsg
dmesg > $OUT/dmesg.txt
"""
    return GuestJob(script, disks=[zero], files={"mountcall": mountcall}, timeout=300,
                    fsck=False)


silent = vm_job(silent_job, "silent")


def test_silent_mount_of_a_foreign_device_logs_nothing(silent):
    """mount(2) with MS_SILENT (mount(8) probing types, busybox mount) of a
    device without mpagefs's magic is refused with EINVAL and no log line;
    without MS_SILENT the same refusal logs why."""
    out = silent.r.stdout
    dev = re.search(r"^DEV (\S+)$", out, re.M)[1]
    assert "silent: mount EINVAL" in out and "loud: mount EINVAL" in out, out
    log = (silent.out / "dmesg.txt").read_text()
    quiet = log.split("test_reliability: silent begin", 1)[1].split("test_reliability: loud begin")[0]
    loud = log.split("test_reliability: loud begin", 1)[1].split("test_reliability: loud end")[0]
    assert f"mpagefs ({dev})" not in quiet, quiet
    assert f"mpagefs ({dev}): not an mpagefs" in loud, loud
