"""Bad superblocks and bad options are refused with a clear error, never a crash.

One job (lab.vm_job: the module's one VM boot) mounts eight spoilt images and
a good one with four bad options, then the good one as it is.  busybox mount
passes MS_SILENT, so the image without mpagefs's magic is refused without a
log line (as ext2 does for a device that is not ext2; tests/vm/
test_reliability.py checks the line a mount without MS_SILENT gets).
"""
import re

import pytest

from lab import GUEST_PRELUDE, GuestJob, mkfs_mpagefs, set_super_field, super_field, vm_job


def free_blocks_beyond_cap(img):
    """One more free block than the data area can have (the root directory holds one)."""
    set_super_field(img, "free_blocks_count",
                    super_field(img, "blocks_count") - super_field(img, "first_data_block"))


# (name, how to spoil the image, the word expected in the kernel's log line,
# None for no line at all)
CORRUPTIONS = [
    ("magic", lambda img: set_super_field(img, "magic", 0x12345678), None),
    ("checksum", lambda img: set_super_field(img, "inodes_count", 99, fix_crc=False),
     "checksum"),
    ("block_size", lambda img: set_super_field(img, "log_block_size", 16), "block size"),
    ("inode_table", lambda img: set_super_field(img, "inode_table", 1 << 30), "inode"),
    ("blocks_count", lambda img: set_super_field(img, "blocks_count", 1 << 31), "blocks"),
    ("root_ino", lambda img: set_super_field(img, "root_ino", 0), "root"),
    ("incompat", lambda img: set_super_field(img, "feature_incompat", 0x80), "feature"),
    ("free_blocks_cap", free_blocks_beyond_cap, "s_free_blocks_count"),
]

OPTIONS = ["boundary=maybe", "maxmap=abc", "nosuchoption", "maxmap=-1"]


def refusals_job(ctx):
    """Every spoilt image and every bad option mounted once; the good image last."""
    images = []
    for name, spoil, _ in CORRUPTIONS:
        img = mkfs_mpagefs(ctx.mpagectl, ctx.tmp / f"{name}.img", None, 1024, "4M")
        spoil(img)
        images.append(img)
    good = mkfs_mpagefs(ctx.mpagectl, ctx.tmp / "good.img", None, 1024, "4M")
    n = len(CORRUPTIONS)
    devs = [f"/dev/vd{chr(ord('c') + i)}" for i in range(n + 1)]
    # The kernel log names the device as the VM does (the host renames the
    # job's vdc.. when other jobs' disks come first): the job says which is which.
    lines = [f"echo 'DEV {name} {devs[i]}'" for i, (name, _, _) in enumerate(CORRUPTIONS)]
    # Only this job's part of the kernel log (jobs before it share the boot).
    lines.append('echo "<5>test_mount_errors: refusals begin" > /dev/kmsg')
    for i, (name, _, _) in enumerate(CORRUPTIONS):
        lines.append(f'if mount -t mpagefs -o ro {devs[i]} /mnt/a 2>/dev/null; then '
                     f'echo "MOUNTED {name}"; umount /mnt/a; else echo "REFUSED {name}"; fi')
    for opt in OPTIONS:
        lines.append(f'if mount -t mpagefs -o ro,{opt} {devs[n]} /mnt/a 2>/dev/null; then '
                     f'echo "MOUNTED {opt}"; umount /mnt/a; else echo "REFUSED {opt}"; fi')
    lines.append(f"mount -t mpagefs -o ro {devs[n]} /mnt/a && echo GOOD-MOUNTED && umount /mnt/a")
    lines.append("dmesg | sed -n '/test_mount_errors: refusals begin/,$p' | grep -i mpagefs > $OUT/dmesg || true")
    script = GUEST_PRELUDE + "set +e\n" + "\n".join(lines) + "\n"
    # The images are corrupt on purpose: no fsck afterwards.
    return GuestJob(script, disks=images + [good], timeout=300, fsck=False)


refusals = vm_job(refusals_job, "refusals")


@pytest.mark.debug_kernel
def test_bad_superblocks_and_options_are_refused(refusals):
    r = refusals.r
    assert r.status == 0, r.stdout
    for name, _, _ in CORRUPTIONS:
        assert f"REFUSED {name}" in r.stdout
    for opt in OPTIONS:
        assert f"REFUSED {opt}" in r.stdout
    assert "GOOD-MOUNTED" in r.stdout
    dmesg = (refusals.out / "dmesg").read_text().lower()
    devs = dict(re.findall(r"^DEV (\S+) /dev/(\S+)$", r.stdout, re.M))
    for name, _, word in CORRUPTIONS:
        dev = devs[name]
        hits = [l for l in dmesg.splitlines() if f"mpagefs ({dev})" in l]
        if word is None:
            assert not hits, f"a silent mount of {name} logged {hits}"
            continue
        assert hits, f"no log line for {name}"
        assert any(word in l for l in hits), (name, hits)
