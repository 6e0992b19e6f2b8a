"""Failing disks: dm-flakey under a mounted mpagefs (one job, three cases).

The image (/dev/vdc) is mapped through device-mapper (/dev/mapper/fl) and
mpagefs is mounted on the mapping.  Files written and fsync'ed while the table
is linear are the "before" data.  Then, for each case, the table is switched
(dmsetup suspend / load / resume, the mount stays) to dm-flakey with the
device down all the time and one feature:

- error_all: every read and write fails (6.1's dm-flakey has no error_reads
  feature; without a feature a down device fails all I/O).  A cold read() of
  a file gets EIO (fs/mpage.c's read completion), nothing hangs.
- error_writes: writes fail, reads pass.  A file written and fsync'ed during
  that time gets EIO from the first fsync and 0 from a second fsync on the
  same descriptor with no new writes once the device is back (the kernel's
  errseq: an error is reported once per file description; while the device
  is down every fsync fails anyway, because its cache flush fails).
- drop_writes: writes are silently dropped.  fsync succeeds (the device said
  so); the data is lost, which the test only records.

After each case the table goes back to linear, the filesystem is unmounted,
`mpagectl fsck` runs (and `--repair` when it finds something; after the write
cases it does: the failed inode and bitmap writes never reached the disk, so
the new inodes are half there; the device's own unseen writeback error is
taken first with `sync DEV`, or fsck --repair's fsync would get it), a second
fsck must be clean, the filesystem is mounted again and the "before" files
must have their SHA-256 from before the failure.  The kernel log must stay
clean (no hang, no WARNING: qemu/vm.py checks).

The job runs through lab.vm_job (in a boot shared with other jobs); after the
boot the harness runs `mpagectl fsck` on the image too.  Each check is its own
test of the one job: the run got through every case, per case the recovery
(fsck codes, data intact), and what each failure mode reports.  Nothing
waits by sleeping: the script polls (bounded, 60 s) for failio's "fsync1"
line before it puts the linear table back, and failio waits for the go file
with inotify (bounded, 60 s) before its second fsync.  Measured on the loaded
2-core host: 1 boot before and after, 23 s -> 21-22 s.
"""
from pathlib import Path

import pytest

from lab import GUEST_PRELUDE, GuestJob, build_static, mkfs_mpagefs, vm_job

HERE = Path(__file__).resolve().parent


def build_failio(build):
    """build/failio, (re)built static from tests/vm/failio.c when older."""
    return build_static(HERE / "failio.c", Path(build) / "failio")


# test_power_cut.py imports this fixture.
@pytest.fixture(scope="session")
def failio(build):
    return build_failio(build)


GUEST = GUEST_PRELUDE + r"""
set +e
F=/job/failio
SZ=$(cat /sys/block/vdc/size)
# No udev in the VM: dmsetup makes its own /dev/mapper nodes.
dm() { dmsetup --noudevsync "$@"; }
table() {	# table linear | error_all | FEATURE: switch the mapping under the mount
	case $1 in
	linear) t="0 $SZ linear /dev/vdc 0" ;;
	error_all) t="0 $SZ flakey /dev/vdc 0 0 3600" ;;
	*) t="0 $SZ flakey /dev/vdc 0 0 3600 1 $1" ;;
	esac
	dm suspend --nolockfs fl || { echo "TABLE-FAILED $1"; exit 1; }
	# never leave the device suspended: sync would wait for it forever
	dm load fl --table "$t" || { dm resume fl; echo "TABLE-FAILED $1"; exit 1; }
	dm resume fl || { echo "TABLE-FAILED $1"; exit 1; }
}
recover() {	# recover CASE: linear again, umount, fsck (repair), remount, check
	table linear
	umount /mnt/a || { echo "UMOUNT-FAILED $1"; exit 1; }
	# The device's page cache holds the writeback error of the failed
	# metadata writes, unseen: the first fsync of the device would report
	# it, that of fsck --repair.  Take it here (errseq: once per opener).
	sync /dev/mapper/fl 2>/dev/null
	mpagectl fsck /dev/mapper/fl > $OUT/fsck-$1.txt 2>&1
	echo "FSCK $1 $?"
	mpagectl fsck --repair /dev/mapper/fl >> $OUT/fsck-$1.txt 2>&1
	echo "REPAIR $1 $?"
	mpagectl fsck /dev/mapper/fl >> $OUT/fsck-$1.txt 2>&1
	echo "FSCK2 $1 $?"
	mount -t mpagefs /dev/mapper/fl /mnt/a || { echo "REMOUNT-FAILED $1"; exit 1; }
	sha256sum /mnt/a/before/* | sed "s/^/SHA $1 /"
}
dm create fl --table "0 $SZ linear /dev/vdc 0" && dm mknodes fl || { echo NO-DM; exit 1; }
mount -t mpagefs /dev/mapper/fl /mnt/a || exit 1
mkdir /mnt/a/before
for i in 1 2 3; do $F write /mnt/a/before/k$i $((i * 200000)) $i; done
sync
sha256sum /mnt/a/before/* | sed "s/^/SHA start /"

# error_all (6.1's dm-flakey has no error_reads: down, it fails every read and
# write unless a write feature is given): a cold read gets EIO.
# Data cold, inodes and dentries warm: open needs no I/O, read does.  (Warming
# them by reading k1 and dropping the caches again relied on the per-CPU bh
# LRU keeping the directory and inode-table blocks: true on 6.1, not on 6.12,
# where open then failed with EIO instead of read.)
echo 3 > /proc/sys/vm/drop_caches
stat /mnt/a/before/k2 /mnt/a/before/k3 > /dev/null
table error_all
$F read /mnt/a/before/k2 | sed "s/^/CASE error_all /"
$F read /mnt/a/before/k3 | sed "s/^/CASE error_all /"
recover error_all

# error_writes: writeback fails; fsync reports it once.  The second fsync
# comes after the device is back (while it is down, the cache flush of every
# fsync fails too).
ew() {	# ew NAME SIZE SEED
	rm -f /tmp/go
	: > /tmp/ew.out	# there before the poll's first grep
	FAILIO_GO=/tmp/go $F write $1 $2 $3 > /tmp/ew.out &
	# bounded poll for failio's fsync1 line (60 s: only a hang gets there)
	n=0
	while ! grep -q fsync1 /tmp/ew.out; do
		n=$((n + 1))
		[ $n -le 600 ] || { echo "EW-TIMEOUT $1: no fsync1 line"; break; }
		sleep 0.1
	done
	table linear
	touch /tmp/go
	wait
	sed "s/^/CASE error_writes /" /tmp/ew.out
	table error_writes
}
table error_writes
ew /mnt/a/w1 300000 7
ew /mnt/a/w2 100000 8
recover error_writes

# drop_writes: writes vanish; fsync cannot know.
table drop_writes
$F write /mnt/a/d1 300000 9 | sed "s/^/CASE drop_writes /"
recover drop_writes

umount /mnt/a
dm remove fl
echo ALLDONE
"""


def parse(stdout):
    cases, sha, fsck = {}, {}, {}
    for line in stdout.splitlines():
        p = line.split()
        if p[:1] == ["CASE"] and len(p) >= 5:
            cases.setdefault(p[1], {})[(p[2], p[3])] = p[4]
        elif p[:1] == ["SHA"] and len(p) == 4:
            sha.setdefault(p[1], {})[p[3]] = p[2]
        elif p[:1] and p[0] in ("FSCK", "REPAIR", "FSCK2") and len(p) == 3:
            fsck[(p[0], p[1])] = int(p[2])
    return cases, sha, fsck


def flakey_job(ctx):
    img = mkfs_mpagefs(ctx.mpagectl, ctx.tmp / "fl.img", None, 1024, "16M")
    return GuestJob(GUEST, disks=[img], files={"failio": build_failio(ctx.build)},
                    modules=("dm-mod", "dm-flakey"), timeout=300)


flakey = vm_job(flakey_job, "flakey")


def results(flakey):
    """(cases, sha, fsck) of the job's output, once it ran to its end."""
    r = flakey.r
    assert "ALLDONE" in r.stdout, r.stdout[-3000:]
    return parse(r.stdout)


@pytest.mark.debug_kernel
def test_every_case_ran_without_a_hang(flakey):
    """The script got through the three cases, no bounded wait ran out, and
    there were three "before" files."""
    r = flakey.r
    _, sha, _ = results(flakey)
    assert "EW-TIMEOUT" not in r.stdout and "go TIMEOUT" not in r.stdout, r.stdout[-3000:]
    assert len(sha["start"]) == 3, r.stdout


@pytest.mark.debug_kernel
@pytest.mark.parametrize("case", ["error_all", "error_writes", "drop_writes"])
def test_recovery_keeps_fsynced_data(case, flakey):
    """After the case: fsck (0 clean, 4 found something), --repair (0 nothing
    to do, 1 repaired), a clean fsck, and the "before" files unchanged."""
    r = flakey.r
    _, sha, fsck = results(flakey)
    assert sha.get(case) == sha["start"], f"fsync'ed data changed after {case}:\n{r.stdout}"
    assert fsck[("FSCK", case)] in (0, 4), (case, fsck)
    assert fsck[("REPAIR", case)] in (0, 1), (case, fsck, r.stdout)
    assert fsck[("FSCK2", case)] == 0, (case, fsck)


@pytest.mark.debug_kernel
def test_error_all_cold_read_gets_eio(flakey):
    cases, _, fsck = results(flakey)
    er = cases["error_all"]
    assert er[("k2", "read")] == "EIO" and er[("k3", "read")] == "EIO", er
    # Nothing was written while reads failed: nothing to repair.
    assert fsck[("FSCK", "error_all")] == 0, (fsck, flakey.r.stdout)


@pytest.mark.debug_kernel
def test_error_writes_fsync_reports_eio_once(flakey):
    cases, _, _ = results(flakey)
    ew = cases["error_writes"]
    for f in ("w1", "w2"):
        assert ew[(f, "write")] == "OK", ew      # buffered: the page cache takes it
        assert ew[(f, "fsync1")] == "EIO", ew    # writeback failed: reported ...
        assert ew[(f, "fsync2")] == "OK", ew     # ... once (errseq)


@pytest.mark.debug_kernel
def test_drop_writes_fsync_cannot_know(flakey):
    cases, _, _ = results(flakey)
    dw = cases["drop_writes"]
    assert dw[("d1", "fsync1")] == "OK" and dw[("d1", "fsync2")] == "OK", dw
