"""Power cuts: SIGKILL QEMU in the middle of write workloads, then repair and check.

CUTS boots (20 by default, MPAGEFS_POWER_CUTS to change; 1 and 4 KiB blocks
alternately), each on a fresh image: the guest mounts it and runs two writers
and a renamer/unlinker on shared directories.  A writer creates a file with
tests/vm/failio.c (seeded content, fsync of the file, then of its directory, as
POSIX asks for a new name), and only after both returned prints
"SYNCED <path> <sha256> <size>" on its stdout (ttyS1, which QEMU writes to the
host file as it goes); an appender grows one log file and prints SYNCEDLOG
after each fsync of it and of the root.  The host SIGKILLs QEMU at a seeded moment between 0.5 and 8 s after
the workload's START line (qemu/vm.py's run_vm(kill_on=, kill_after=)).

Then, on the host: `mpagectl fsck --repair` exits 0 or 1 (consistent after the
repair), a second fsck is clean, and every file reported SYNCED holds exactly
that content (`mpagectl cat`; the log file: its first <size> bytes).  Finally
one VM boot per batch of images mounts each repaired image, walks and reads it,
and writes to it (then the harness's fsck checks it once more).

What a QEMU kill does and does not lose: QEMU's disk is a host file opened with
the default cache=writeback, so every write the guest's block layer completed
is in the host's page cache, which survives QEMU's death; what is lost is what
the guest had not written yet (dirty pages, dirty buffers, inodes, bitmaps,
requests still in the virtqueue).  So this emulates a kernel crash, or a power
cut on a disk without a volatile write cache: the fs's ordering of writes as
the guest issued them, and the fsync contract (fsync returns only after the
data and the metadata that reaches it were written), are what is tested.  A
disk cache that loses completed-but-unflushed writes is not emulated (it would
need the guest's writes recorded between flushes, as dm-log-writes does, and
replayed up to a flush); mpagefs's fsync issues the flush
(generic_file_fsync -> blkdev_issue_flush), which the failing-disk test shows
failing when the device fails it.
"""
import hashlib
import os
import random
import subprocess
from pathlib import Path

import pytest

from lab import GUEST_PRELUDE, mkfs_mpagefs
from test_failing_disk import failio  # noqa: F401  (the session fixture)

HERE = Path(__file__).resolve().parent
CUTS = int(os.environ.get("MPAGEFS_POWER_CUTS", "20"))

WORKLOAD = GUEST_PRELUDE + r"""
set +e
mount -t mpagefs /dev/vdc /mnt/a || exit 1
mkdir -p /mnt/a/w1 /mnt/a/w2 /mnt/a/tmp
/job/failio fsync /mnt/a | grep -q "fsync OK" || exit 1
F=/job/failio
writer() {	# writer DIR SEED: files of 1..300 KiB, each fsync'ed once
	i=0
	while :; do
		i=$((i + 1))
		size=$(( (($2 * 7919 + i * 104729) % 300 + 1) * 1000 + i ))
		p=$1/f$i
		out=$($F write $p $size $(($2 * 100000 + i)))
		if echo "$out" | grep -q "fsync1 OK" && echo "$out" | grep -q "fsyncdir OK"; then
			echo "SYNCED $p $(sha256sum $p | cut -d' ' -f1) $size"
		fi
	done
}
appender() {	# one log file, appended and fsync'ed
	n=0
	while :; do
		n=$((n + 1))
		echo "line $n of the log, padded to make the appends cross blocks $(seq 1 40)" >> /mnt/a/log
		if $F fsync /mnt/a/log | grep -q "fsync OK" && $F fsync /mnt/a | grep -q "fsync OK"; then
			echo "SYNCEDLOG /mnt/a/log $(sha256sum /mnt/a/log | cut -d' ' -f1) $(stat -c %s /mnt/a/log)"
		fi
	done
}
churn() {	# unsynced files created, renamed, truncated and removed
	j=0
	while :; do
		j=$((j + 1))
		dd if=/dev/urandom of=/mnt/a/tmp/t$j bs=1k count=$((j % 64 + 1)) 2>/dev/null
		mv /mnt/a/tmp/t$j /mnt/a/tmp/r$j
		[ $((j % 3)) = 0 ] && truncate -s 100 /mnt/a/tmp/r$j
		[ $j -gt 4 ] && rm -f /mnt/a/tmp/r$((j - 4))
	done
}
writer /mnt/a/w1 SEED1 &
writer /mnt/a/w2 SEED2 &
appender &
churn &
echo START
wait
"""

CHECK = GUEST_PRELUDE + r"""
set +e
i=0
for d in $DISKS; do
	i=$((i + 1))
	mount -t mpagefs $d /mnt/a || { echo "MOUNTFAIL $d"; continue; }
	find /mnt/a -type f -exec cat {} + > /dev/null || echo "READFAIL $d"
	ls -lR /mnt/a > /dev/null || echo "LSFAIL $d"
	echo after-the-cut > /mnt/a/new-$i && mkdir /mnt/a/newdir-$i && rm -rf /mnt/a/tmp ||
		echo "WRITEFAIL $d"
	umount /mnt/a || echo "UMOUNTFAIL $d"
	echo "CHECKED $d"
done
"""


def parse_synced(stdout):
    files, log = {}, None
    for line in stdout.splitlines():
        p = line.split()
        if len(p) == 4 and p[0] == "SYNCED":
            files[p[1].removeprefix("/mnt/a")] = (p[2], int(p[3]))
        elif len(p) == 4 and p[0] == "SYNCEDLOG":
            log = (p[1].removeprefix("/mnt/a"), p[2], int(p[3]))
    return files, log


def cat(mpagectl, image, path):
    return subprocess.run([str(mpagectl), "cat", str(image), path], check=True,
                          capture_output=True).stdout


@pytest.mark.long
def test_power_cut(vm, build, mpagectl, failio, tmp_path, artefacts):  # noqa: F811
    rng = random.Random(20261123)
    images, total_synced = [], 0
    for cut in range(CUTS):
        bs = 1024 if cut % 2 == 0 else 4096
        delay = 0.5 + (8.0 - 0.5) * (cut + rng.random()) / CUTS   # spread over the run
        img = mkfs_mpagefs(mpagectl, tmp_path / f"cut{cut}.img", None, bs, "64M")
        script = WORKLOAD.replace("SEED1", str(2 * cut + 1)).replace("SEED2", str(2 * cut + 2))
        r = vm(script, disks=[str(img)], files={"failio": failio}, timeout=120, fsck=False,
               kill_on=r"^START$", kill_after=delay, out_dir=artefacts / f"cut{cut}")
        where = f"cut {cut} ({bs}-byte blocks, {delay:.2f} s after START)"
        assert r.killed, f"{where}: the workload ended before the cut:\n{r.stdout[-2000:]}"
        files, log = parse_synced(r.stdout)
        fsck = subprocess.run([str(mpagectl), "fsck", "--repair", str(img)],
                              capture_output=True, text=True)
        assert fsck.returncode in (0, 1), f"{where}: fsck --repair:\n{fsck.stdout}{fsck.stderr}"
        again = subprocess.run([str(mpagectl), "fsck", str(img)], capture_output=True, text=True)
        assert again.returncode == 0, f"{where}: second fsck:\n{again.stdout}"
        for path, (digest, size) in files.items():
            data = cat(mpagectl, img, path)
            assert len(data) == size and hashlib.sha256(data).hexdigest() == digest, \
                f"{where}: {path} was fsync'ed with {size} bytes, sha256 {digest}; now " \
                f"{len(data)} bytes, sha256 {hashlib.sha256(data).hexdigest()}"
        if log:
            data = cat(mpagectl, img, log[0])
            assert len(data) >= log[2] and \
                hashlib.sha256(data[:log[2]]).hexdigest() == log[1], \
                f"{where}: the log's first {log[2]} bytes (fsync'ed) changed"
        total_synced += len(files) + (1 if log else 0)
        (artefacts / f"cut{cut}.txt").write_text(
            f"{where}: {len(files)} files synced, log {log}\nfsck --repair exit "
            f"{fsck.returncode}:\n{fsck.stdout}")
        images.append(img)
    assert total_synced >= CUTS, "the workloads fsync'ed (almost) nothing before the cuts"
    # The repaired images are usable: mounted, read, written (and fsck'ed after).
    for first in range(0, len(images), 10):
        batch = images[first:first + 10]
        r = vm(CHECK, disks=[str(i) for i in batch], timeout=300,
               out_dir=artefacts / f"check{first}")
        assert r.status == 0, r.stdout
        assert r.stdout.count("CHECKED") == len(batch), r.stdout
        for word in ("MOUNTFAIL", "READFAIL", "LSFAIL", "WRITEFAIL", "UMOUNTFAIL"):
            assert word not in r.stdout, r.stdout
