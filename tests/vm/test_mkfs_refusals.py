"""mkfs does not overwrite by accident (README.md, "Command-line convention";
mke2fs's checks): a mounted device is refused whatever names it and even with
-F, an image file mounted through a loop device likewise, an unmounted device
holding a filesystem only with -F; every refusal exits 3 with one line and
writes nothing.  The host side (images holding ext2/3/4, vfat, mpagefs) is
tests/cli/test_convention.py; a mount needs the VM.
"""
import json
import re

from lab import GUEST_PRELUDE, GuestJob, mkfs_mpagefs, run, vm_job

SCRIPT = GUEST_PRELUDE + r"""
set +e
# r CMD...: run CMD, print "rc=N CMD" and its stderr.
r() { "$@" > /tmp/out 2> /tmp/err; echo "rc=$? $*"; cat /tmp/err; }
label() { mpagectl dump "$1" --json | sed -n 's/.*"volume_name": "\(.*\)".*/label \1/p'; }

# The VM's name of the job's disk (vdc when the job has the VM to itself).
echo "DEV /dev/vdc"
echo "== mounted"
mount -t mpagefs /dev/vdc /mnt/a || exit 1
sum_before=$(sha256sum /mnt/a/f | cut -d' ' -f1)
ln -s /dev/vdc /tmp/alias
r mpagectl mkfs -L bad /dev/vdc
r mpagectl mkfs -F -L bad /dev/vdc
r mpagectl mkfs -F -L bad /tmp/alias
r mpagectl mkfs -F -L bad -s 1M /dev/vdc
sync; echo 3 > /proc/sys/vm/drop_caches
[ "$(sha256sum /mnt/a/f | cut -d' ' -f1)" = "$sum_before" ] && echo "file intact"
label /dev/vdc
umount /mnt/a

echo "== unmounted"
r mpagectl mkfs -L bad /dev/vdc
label /dev/vdc
r mpagectl mkfs -F -L fresh /dev/vdc
label /dev/vdc

echo "== loop"
loadmod loop || exit 1
mpagectl mkfs -s 4M -L orig /tmp/l.img > /dev/null || exit 1
losetup /dev/loop0 /tmp/l.img || exit 1
mount -t mpagefs /dev/loop0 /mnt/b || exit 1
r mpagectl mkfs -F -L bad /tmp/l.img
umount /mnt/b
losetup -d /dev/loop0
label /tmp/l.img
r mpagectl mkfs -F -L fresh /tmp/l.img
label /tmp/l.img
"""


def refusals_job(ctx):
    src = ctx.tmp / "src"
    src.mkdir()
    (src / "f").write_bytes(bytes(range(256)) * 64)
    img = mkfs_mpagefs(ctx.mpagectl, ctx.tmp / "m.img", src, 1024, "4M", extra=("-L", "orig"))
    return GuestJob(SCRIPT, disks=[img], timeout=300, data={"img": img})


mkfs_refusals = vm_job(refusals_job, "mkfs_refusals")


def dev(stdout):
    return re.search(r"^DEV (\S+)$", stdout, re.M).group(1)


def sections(stdout):
    out, name = {}, None
    for line in stdout.splitlines():
        m = re.fullmatch(r"== (\S+)", line)
        if m:
            name = m.group(1)
            out[name] = []
        elif name:
            out[name].append(line)
    return {k: "\n".join(v) + "\n" for k, v in out.items()}


def test_mounted_device_is_refused_by_any_name_even_with_force(mkfs_refusals):
    s = sections(mkfs_refusals.r.stdout)["mounted"]
    for name in (dev(mkfs_refusals.r.stdout), "/tmp/alias"):
        assert re.search(rf"^rc=3 mpagectl mkfs (-F )?-L bad (-s 1M )?{re.escape(name)}\n"
                         rf"mpagectl: {re.escape(name)} is mounted on /mnt/a; "
                         r"will not make a filesystem here\n", s, re.M), s
    assert len(re.findall(r"^rc=", s, re.M)) == 4 == len(re.findall(r"^rc=3 ", s, re.M)), s
    assert "file intact" in s
    assert "label orig\n" in s


def test_unmounted_filesystem_needs_force(mkfs_refusals, mpagectl):
    s = sections(mkfs_refusals.r.stdout)["unmounted"]
    d = dev(mkfs_refusals.r.stdout)
    assert (f"rc=3 mpagectl mkfs -L bad {d}\n"
            f"mpagectl: {d} already contains a filesystem (type mpagefs); use -F to overwrite it\n"
            "label orig\n"
            f"rc=0 mpagectl mkfs -F -L fresh {d}\n"
            "label fresh\n") == s, s
    # The disk as the host finds it after the boot (fsck-clean: vm_job checks).
    dump = json.loads(run([mpagectl, "dump", mkfs_refusals.img, "--json"]).stdout)
    assert dump["volume_name"] == "fresh"


def test_image_file_behind_a_mounted_loop_device_is_refused(mkfs_refusals):
    s = sections(mkfs_refusals.r.stdout)["loop"]
    assert ("rc=3 mpagectl mkfs -F -L bad /tmp/l.img\n"
            "mpagectl: /tmp/l.img is mounted on /mnt/b; will not make a filesystem here\n"
            "label orig\n"
            "rc=0 mpagectl mkfs -F -L fresh /tmp/l.img\n"
            "label fresh\n") == s, s
