"""The generic netlink family "mpagefs" under fire, and the tracepoints.

One VM boot on a fresh 1 KiB-block image:

- tracepoints: a cold read of a contiguous file gives mpagefs_get_block lines
  in the documented format (mpagefs_genl.h) with create 0, a write gives
  mpagefs_alloc_block lines, an unlink mpagefs_free_blocks lines;
- `genlfuzz check` (tests/vm/genlfuzz.c, raw NETLINK_GENERIC sockets, no
  libnl): GET_STATS/LIST answer, malformed and missing attributes give EINVAL
  with an extended ack message, an unknown device ENODEV, maxmap out of range
  EINVAL, MPAGEFS_MAX_FAULTS faults then ENOSPC, CLEAR, RESET;
- `genlfuzz unpriv`: as uid 65534 (its own socket, and a socket root opened)
  SET_POLICY, INJECT, RESET_STATS, CLEAR_FAULTS give EPERM, GET_STATS, LIST
  and GET_FAULTS work;
- 10,000 seeded random messages as root and 3,000 as uid 65534 (random
  commands and attributes, nested garbage, truncated headers, faults and
  policies with random values on the real mount and on random devices) while
  a small read/write/unlink workload runs on the mount and meets the injected
  faults;
- meanwhile a second disk is mounted and unmounted in a loop, and a quarter
  of the messages name it (the mount registry, faults freed at unmount);
- then faults cleared, policy restored, a file written before the fuzz reads
  back intact, unmount, `rmmod mpagefs` succeeds (nothing leaked or busy), the
  image is fsck-clean and the kernel log clean (the harness: lab.vm_job, the
  module's one boot); the module is loaded again for whatever runs after.
"""
import re
from pathlib import Path

import pytest

from lab import GUEST_PRELUDE, GuestJob, build_static, mkfs_mpagefs, rand_bytes, sha256, vm_job

HERE = Path(__file__).resolve().parent

ROOT_FUZZ = 10000
UNPRIV_FUZZ = 3000
PACE_US = 8000      # every 16 root messages, so the workload meets the faults

GET_BLOCK_RE = re.compile(
    r"mpagefs_get_block: dev (\d+),(\d+) ino (\d+) lblk (\d+) max (\d+) create ([01]) "
    r"ret (-?\d+) pblk (\d+) len (\d+) boundary ([01]) new ([01])$")
ALLOC_RE = re.compile(r"mpagefs_alloc_block: dev (\d+),(\d+) ino (\d+) goal (\d+) pblk (\d+) ret (-?\d+)$")
FREE_RE = re.compile(r"mpagefs_free_blocks: dev (\d+),(\d+) ino (\d+) pblk (\d+) count (\d+)$")


def build_genlfuzz(build):
    """build/genlfuzz, (re)built from genlfuzz.c when older than it or the header."""
    return build_static(HERE / "genlfuzz.c", build / "genlfuzz",
                        deps=[HERE.parents[1] / "kmod" / "mpagefs_genl.h"])


SCRIPT = GUEST_PRELUDE + r"""
F=/job/genlfuzz
D=/dev/vdc
M=/mnt/a
mount -t mpagefs $D $M
DEV=$(stat -c %d $M)
echo "DEV $DEV"

# --- tracepoints ---
T=/sys/kernel/tracing
[ -e $T/trace ] || mount -t tracefs tracefs $T
cat /job/cold > $M/cold
sync
echo 3 > /proc/sys/vm/drop_caches
echo > $T/trace
echo 1 > $T/events/mpagefs/enable
cat $M/cold > /dev/null
dd if=/dev/zero of=$M/written bs=1k count=40 conv=fsync 2>/dev/null
rm $M/written
sync
echo 0 > $T/events/mpagefs/enable
grep mpagefs_ $T/trace | sed 's/.*\(mpagefs_[a-z_]*: \)/\1/' > $OUT/trace.txt
echo > $T/trace

# --- deterministic checks ---
cp /job/keep $M/keep
sync
$F check $DEV > $OUT/check.txt 2>&1 && echo "check rc 0" || echo "check rc $?"
$F unpriv $DEV > $OUT/unpriv.txt 2>&1 && echo "unpriv rc 0" || echo "unpriv rc $?"
$F maxmap $DEV 5 > /dev/null && grep " $M " /proc/mounts > $OUT/mounts-maxmap5.txt
$F maxmap $DEV 0 > /dev/null
# the mount option has the same limit as SET_POLICY
mount -o remount,maxmap=65537 $M 2>/dev/null && echo "remount-65537 rc 0" || echo "remount-65537 rc 1"
mount -o remount,maxmap=65536 $M && echo "remount-65536 rc 0" || echo "remount-65536 rc 1"
$F maxmap $DEV 0 > /dev/null

# failed get_block calls and allocations during the fuzz, whoever resets stats
echo 'ret != 0' > $T/events/mpagefs/mpagefs_get_block/filter
echo 'ret != 0' > $T/events/mpagefs/mpagefs_alloc_block/filter
echo 1 > $T/events/mpagefs/mpagefs_get_block/enable
echo 1 > $T/events/mpagefs/mpagefs_alloc_block/enable

# --- fuzz, with a workload meeting the faults ---
rm -f /tmp/stop
(
	set +e
	i=0
	e=0
	while [ ! -e /tmp/stop ]; do
		dd if=/dev/zero of=$M/w$((i % 4)) bs=4k count=$((1 + i % 24)) 2>/dev/null || e=$((e + 1))
		cat $M/w$(((i + 1) % 4)) > /dev/null 2>&1 || e=$((e + 1))
		[ $((i % 3)) = 0 ] && { sync $M/w$((i % 4)) || e=$((e + 1)); }
		[ $((i % 5)) = 0 ] && echo 3 > /proc/sys/vm/drop_caches
		rm -f $M/w$(((i + 2) % 4))
		i=$((i + 1))
	done
	echo "workload rounds $i errors $e"
) > $OUT/workload.txt 2>&1 &
WL=$!
# a second mount coming and going under the fuzz (registry, faults freed at unmount)
mount -t mpagefs /dev/vdd /mnt/b
DEV2=$(stat -c %d /mnt/b)
umount /mnt/b
(
	set +e
	n=0
	while [ ! -e /tmp/stop ]; do
		mount -t mpagefs /dev/vdd /mnt/b && n=$((n + 1))
		echo $n > /mnt/b/n 2>/dev/null
		umount /mnt/b
	done
	echo "remounts $n"
) > $OUT/remounts.txt 2>&1 &
RM=$!
export GENLFUZZ_DEV2=$DEV2
$F fuzz $DEV 1 """ + str(ROOT_FUZZ) + r""" root """ + str(PACE_US) + r""" > $OUT/fuzz-root.txt 2>&1 && echo "fuzz-root rc 0" || echo "fuzz-root rc $?"
$F fuzz $DEV 2 """ + str(UNPRIV_FUZZ) + r""" drop > $OUT/fuzz-unpriv.txt 2>&1 && echo "fuzz-unpriv rc 0" || echo "fuzz-unpriv rc $?"
touch /tmp/stop
wait $WL
wait $RM
echo 0 > $T/events/mpagefs/enable
grep -c 'mpagefs_get_block:.*ret -' $T/trace > $OUT/failed-get-block.txt || true
grep -c 'mpagefs_alloc_block:.*ret -28' $T/trace > $OUT/failed-alloc.txt || true
$F restore $DEV > $OUT/restore.txt 2>&1 && echo "restore rc 0" || echo "restore rc $?"
cat /sys/fs/mpagefs/vdc/stats > $OUT/stats.txt
cat /proc/mounts | grep " $M " > $OUT/mounts.txt
sync
echo 3 > /proc/sys/vm/drop_caches
sha256sum $M/keep > $OUT/keep.sha
umount $M
rmmod mpagefs && echo "rmmod rc 0" || echo "rmmod rc $?"
# Leave the VM as the boot found it for the jobs after this one.
echo > $T/trace
loadmod mpagefs && echo "loadmod rc 0" || echo "loadmod rc $?"
"""


def parse_fuzz(text):
    out = {"errno": {}}
    for line in text.splitlines():
        f = line.split()
        if len(f) < 2 or f[0] != "FUZZ":
            continue
        if f[1] == "errno":
            out["errno"][f[2]] = int(f[3])
        elif f[1] == "sent":
            out.update({k: int(v) for k, v in zip(f[1::2], f[2::2])})
        elif f[1] == "optional":
            out["optional"], out["optional_answered"] = int(f[2]), int(f[4])
        else:
            out[f[1]] = int(f[2])
    return out


def fuzz_job(ctx):
    image = mkfs_mpagefs(ctx.mpagectl, ctx.tmp / "fuzz.img", block_size=1024, size="32M")
    image2 = mkfs_mpagefs(ctx.mpagectl, ctx.tmp / "cycle.img", block_size=4096, size="8M")
    cold = ctx.tmp / "cold"
    cold.write_bytes(rand_bytes(300 * 1024, 41))
    keep = ctx.tmp / "keep"
    keep.write_bytes(rand_bytes(70 * 1024, 42))
    return GuestJob(SCRIPT, disks=[image, image2],
                    files={"genlfuzz": build_genlfuzz(ctx.build), "cold": cold, "keep": keep},
                    timeout=600, data=dict(keep=keep))


fuzz = vm_job(fuzz_job, "fuzz")


def rc(fuzz):
    """{step: exit status} from the job's "STEP rc N" lines."""
    assert fuzz.r.status == 0, fuzz.r.stdout
    return dict(re.findall(r"^(\S+) rc (\d+)$", fuzz.r.stdout, re.M))


# One boot, one job; each group of checks is its own test.

@pytest.mark.debug_kernel
def test_genl_fuzz_tracepoints(fuzz):
    """tracepoints, in the documented format"""
    trace = (fuzz.out / "trace.txt").read_text().splitlines()
    gb = [GET_BLOCK_RE.match(line) for line in trace if line.startswith("mpagefs_get_block:")]
    assert gb and all(gb), [line for line in trace if line.startswith("mpagefs_get_block:")][:5]
    reads = [m for m in gb if m.group(6) == "0" and m.group(7) == "0" and int(m.group(9)) > 0]
    assert reads, trace[:20]
    # a contiguous 300-block file read cold: runs of many blocks, not one per block
    assert max(int(m.group(9)) for m in reads) >= 16, trace[:20]
    assert any(m.group(6) == "1" and m.group(11) == "1" for m in gb), "no allocating get_block"
    allocs = [ALLOC_RE.match(line) for line in trace if line.startswith("mpagefs_alloc_block:")]
    assert len(allocs) >= 40 and all(allocs), trace[-20:]
    assert all(m.group(6) == "0" and int(m.group(5)) > 0 for m in allocs)
    frees = [FREE_RE.match(line) for line in trace if line.startswith("mpagefs_free_blocks:")]
    assert frees and all(frees)
    assert sum(int(m.group(5)) for m in frees) >= 40


@pytest.mark.debug_kernel
def test_genl_deterministic_checks(fuzz):
    status = rc(fuzz)
    check = (fuzz.out / "check.txt").read_text()
    assert status.get("check") == "0", check
    assert "FAIL" not in check and check.count("CHECK ") >= 30, check
    unpriv = (fuzz.out / "unpriv.txt").read_text()
    assert status.get("unpriv") == "0", unpriv
    assert unpriv.count(" ok") >= 15 and "FAIL" not in unpriv, unpriv


@pytest.mark.debug_kernel
def test_genl_fuzz_root(fuzz):
    """every message that had to be answered was, exactly once"""
    status = rc(fuzz)
    root = parse_fuzz((fuzz.out / "fuzz-root.txt").read_text())
    assert status.get("fuzz-root") == "0", (fuzz.out / "fuzz-root.txt").read_text()
    assert root["sent"] == ROOT_FUZZ
    assert root["acks"] == root["expect_ack"] and root["missing"] == 0 and root["unexpected"] == 0
    assert root["expect_ack"] >= ROOT_FUZZ * 8 // 10
    assert root["admin_ok"] > 100, root          # the valid-looking ones got through
    assert root["errno"].get("EINVAL", 0) > 1000, root
    assert root["errno"].get("ENODEV", 0) > 0 and root["errno"].get("OK", 0) > 0, root


@pytest.mark.debug_kernel
def test_genl_fuzz_unprivileged(fuzz):
    status = rc(fuzz)
    unp = parse_fuzz((fuzz.out / "fuzz-unpriv.txt").read_text())
    assert status.get("fuzz-unpriv") == "0", (fuzz.out / "fuzz-unpriv.txt").read_text()
    assert unp["sent"] == UNPRIV_FUZZ
    assert unp["acks"] == unp["expect_ack"] and unp["missing"] == 0 and unp["unexpected"] == 0
    assert unp["eperm"] > 100, unp
    assert unp["admin_ok"] == 0, unp


@pytest.mark.debug_kernel
def test_genl_fuzz_workload_met_faults(fuzz):
    """the workload and the remount loop ran under the fuzz and met faults"""
    out = fuzz.out
    assert int(re.search(r"workload rounds (\d+)", (out / "workload.txt").read_text()).group(1)) > 0
    assert int(re.search(r"remounts (\d+)", (out / "remounts.txt").read_text()).group(1)) > 0
    failed_get_block = int((out / "failed-get-block.txt").read_text())
    failed_alloc = int((out / "failed-alloc.txt").read_text())
    assert failed_get_block + failed_alloc > 0


@pytest.mark.debug_kernel
def test_genl_policy_limits_and_restore(fuzz):
    """maxmap by netlink and by the mount option; afterwards all is restored,
    the file written before the fuzz intact, the module unloads (and loads)"""
    status, out = rc(fuzz), fuzz.out
    assert ",maxmap=5" in (out / "mounts-maxmap5.txt").read_text()
    assert status.get("remount-65537") == "1" and status.get("remount-65536") == "0"
    assert status.get("restore") == "0"
    mounts = (out / "mounts.txt").read_text()
    assert "maxmap" not in mounts and "boundary=off" not in mounts and "scatter" not in mounts, mounts
    assert (out / "keep.sha").read_text().split()[0] == sha256(fuzz.keep)
    assert status.get("rmmod") == "0", fuzz.r.stdout
    assert status.get("loadmod") == "0", fuzz.r.stdout
