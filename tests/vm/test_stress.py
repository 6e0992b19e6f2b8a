"""Concurrency and memory pressure: many processes on shared directories in a small VM.

A VM with 256 MiB of memory runs, for STRESS_SECONDS (90 by default;
MPAGEFS_STRESS_SECONDS to change), on one mpagefs at 1 KiB blocks:
- 4 shell workers on one shared directory, each mixing at random: writes of
  1..200 KiB (dd), appends, reads of every file (cat), truncates to a random
  size, creates, renames over existing names, unlinks, mkdir/rmdir;
- 2 `mpagectl fsx` instances (random reads, writes, truncates, mapped I/O,
  checked against their model: a wrong byte fails them) on their own files;
- memory pressure: a process allocating and touching 96 MiB over and over
  (dd with a 96 MiB buffer) and drop_caches every 2 s, so reclaim, writeback
  and the workers race.
Then every worker is stopped, the filesystem is unmounted, `rmmod mpagefs` must
succeed (no inode or buffer left behind), the harness's fsck of the image must
be clean and the kernel log must be clean (under the debug kernel, kmemleak
must list no leak).
"""
import os

import pytest

from lab import GUEST_PRELUDE, mkfs_mpagefs

SECONDS = int(os.environ.get("MPAGEFS_STRESS_SECONDS", "90"))

SCRIPT = GUEST_PRELUDE + r"""
set +e
mount -t mpagefs /dev/vdc /mnt/a || exit 1
S=/mnt/a/shared
mkdir -p $S /mnt/a/fsx
worker() {	# worker ID: random operations on shared names f0..f39, d0..d9
	ops=0
	while [ ! -e /tmp/stop ]; do
		n=$((RANDOM % 40)); m=$((RANDOM % 40)); ops=$((ops + 1))
		case $((RANDOM % 10)) in
		0|1) dd if=/dev/urandom of=$S/f$n bs=1k count=$((RANDOM % 200 + 1)) 2>/dev/null ;;
		2) dd if=/dev/urandom bs=1k count=$((RANDOM % 16 + 1)) 2>/dev/null >> $S/f$n ;;
		3|4) cat $S/f$n > /dev/null 2>&1 ;;
		5) [ -f $S/f$n ] && truncate -s $((RANDOM * 7)) $S/f$n ;;
		6) mv $S/f$n $S/f$m 2>/dev/null ;;
		7) rm -f $S/f$n ;;
		8) mkdir $S/d$((n % 10)) 2>/dev/null; touch $S/d$((n % 10))/x$m 2>/dev/null ;;
		9) rm -rf $S/d$((n % 10)) 2>/dev/null; ls -l $S > /dev/null ;;
		esac
	done
	echo "WORKER $1 ops=$ops"
}
for w in 1 2 3 4; do worker $w & done
for i in 1 2; do
	( n=0
	  while [ ! -e /tmp/stop ]; do
		n=$((n + 1))
		mpagectl fsx /mnt/a/fsx/f$i --ops 3000 --seed $((i * 1000 + n)) --maxlen 64K \
			--file-size-max 2M > /tmp/fsx$i.out 2>&1 || { echo "FSX-FAILED $i $n"; cat /tmp/fsx$i.out; }
	  done
	  echo "FSX $i runs=$n" ) &
done
( while [ ! -e /tmp/stop ]; do dd if=/dev/zero of=/dev/null bs=96M count=2 2>/dev/null; done ) &
( while [ ! -e /tmp/stop ]; do echo 3 > /proc/sys/vm/drop_caches; sleep 2; done ) &
sleep SECONDS
touch /tmp/stop
wait
grep -E "^(MemTotal|MemFree)" /proc/meminfo
umount /mnt/a; echo "UMOUNT $?"
rmmod mpagefs; echo "RMMOD $?"
"""


@pytest.mark.long
@pytest.mark.debug_kernel
def test_stress(vm, mpagectl, tmp_path):
    img = mkfs_mpagefs(mpagectl, tmp_path / "stress.img", None, 1024, "64M")
    r = vm(SCRIPT.replace("SECONDS", str(SECONDS)), disks=[str(img)], mem="256M",
           timeout=SECONDS + 300)
    assert r.status == 0, r.stdout[-3000:]
    assert "FSX-FAILED" not in r.stdout, r.stdout[-5000:]
    workers = [l for l in r.stdout.splitlines() if l.startswith("WORKER ")]
    assert len(workers) == 4, r.stdout[-3000:]
    assert all(int(l.split("ops=")[1]) > 20 for l in workers), workers
    fsx = [l for l in r.stdout.splitlines() if l.startswith("FSX ")]
    assert len(fsx) == 2 and all(int(l.split("runs=")[1]) >= 1 for l in fsx), r.stdout[-3000:]
    assert "UMOUNT 0" in r.stdout, r.stdout[-3000:]
    assert "RMMOD 0" in r.stdout, r.stdout[-3000:]
