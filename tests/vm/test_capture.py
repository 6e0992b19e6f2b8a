"""`mpagectl trace` under heavy load: no record lost, none read unfilled.

relay's read() returns bytes up to the channel's write offset, which
relay_reserve() moves before blktrace fills the record; a capture that reads
the sub-buffer being written can save zeros ("bad magic 0x00000000").  One VM
boot captures a heavy read workload (parallel O_DIRECT and buffered dd
streams on 2 vCPUs plus a busy loop) several times with several relay
sub-buffer sizes (small ones cross many sub-buffer ends), and every capture
must decode, account for every read (C == Q - M - F) and drop nothing.
The boot is the module's (lab.vm_job), whose kernel log must be clean.
"""
import re
from collections import Counter

import pytest

from lab import GUEST_PRELUDE, GuestJob, decode_json, run, vm_job

# (name, mpagectl trace relay options)
CAPTURES = [
    ("default", ""),
    ("small", "-b 4 -n 1024"),
    ("mid", "-b 16 -n 256"),
]
DISK_MB = 96

# Three O_DIRECT streams of 4 KiB reads, two buffered streams (readahead,
# merges) over other parts of the disk $1, all at once.  (A file of the job:
# the host renames the disks of the job's script, not those of its files.)
WORKLOAD = r"""
dd if=$1 of=/dev/null bs=4k count=4096 iflag=direct 2>/dev/null &
dd if=$1 of=/dev/null bs=4k skip=4096 count=4096 iflag=direct 2>/dev/null &
dd if=$1 of=/dev/null bs=4k skip=8192 count=4096 iflag=direct 2>/dev/null &
dd if=$1 of=/dev/null bs=16k skip=2048 count=1024 2>/dev/null &
dd if=$1 of=/dev/null bs=4k skip=16384 count=4096 2>/dev/null &
wait
"""


def captures_job(ctx):
    disk = ctx.tmp / "raw.img"
    with open(disk, "wb") as f:
        f.truncate(DISK_MB << 20)
    (ctx.tmp / "load.sh").write_text(WORKLOAD)
    script = GUEST_PRELUDE + "while :; do :; done &\nbusy=$!\n"
    for name, opts in CAPTURES:
        script += f"""
sync
echo 3 > /proc/sys/vm/drop_caches
mpagectl trace -d /dev/vdc -o "$OUT/{name}" {opts} -- sh /job/load.sh /dev/vdc 2> "$OUT/{name}.log" || {{
	cat "$OUT/{name}.log"; exit 1; }}
cat "$OUT/{name}.log"
"""
    script += "kill $busy\n"
    return GuestJob(script, disks=[disk], files={"load.sh": ctx.tmp / "load.sh"}, timeout=600)


capture_job = vm_job(captures_job, "capture_job")

# -w SECONDS (blktrace's stopwatch): without a command the trace ends by
# itself; with one, the command gets SIGINT and its status (130) is ours.  A
# stopwatch that never fires hangs the job until its timeout.
STOPWATCH = GUEST_PRELUDE + r"""
set +e
dd if=/dev/vdc of=/dev/null bs=4k count=256 iflag=direct 2>/dev/null &
mpagectl trace -d /dev/vdc -o "$OUT/sw" -w 2 2> "$OUT/sw.log"; echo "rc_sw $?"
wait
mpagectl trace -d /dev/vdc -o "$OUT/swcmd" -w 1 -- sleep 600 2> "$OUT/swcmd.log"; echo "rc_swcmd $?"
"""


def stopwatch_job(ctx):
    disk = ctx.tmp / "sw.img"
    with open(disk, "wb") as f:
        f.truncate(4 << 20)
    return GuestJob(STOPWATCH, disks=[disk], timeout=120)


stopwatch = vm_job(stopwatch_job, "stopwatch")


@pytest.fixture
def captures(capture_job):
    """The job's $OUT on the host: NAME.log and the NAME.blktrace.N files."""
    assert capture_job.r.status == 0, capture_job.r.stdout
    return capture_job.out


@pytest.mark.parametrize("name", [c[0] for c in CAPTURES])
def test_capture_is_complete_and_sound(captures, mpagectl, name):
    log = (captures / f"{name}.log").read_text()
    m = re.search(r"(\d+) events, (\d+) bytes in .*, (\d+) dropped", log)
    assert m, log
    assert int(m.group(3)) == 0, log
    # Every record decodes (the text decoder stops at the first bad one).
    p = run([mpagectl, "decode", captures / name], check=False)
    assert p.returncode == 0, p.stderr[-2000:]
    events = decode_json(mpagectl, captures / name)
    assert len(events) == int(m.group(1))
    reads = Counter(e["action"] for e in events if "R" in e["rwbs"] and e["action"] in "QMFC")
    # Thousands of reads of the disk, each queued bio merged or completed.
    assert reads["Q"] > 10000, reads
    assert reads["C"] == reads["Q"] - reads["M"] - reads["F"], reads
    # Both CPUs' files hold records: the readers ran while tracing on each.
    sizes = [f.stat().st_size for f in sorted(captures.glob(f"{name}.blktrace.*"))]
    assert len(sizes) == 2 and all(s > 0 for s in sizes), sizes


def test_stopwatch_stops_the_trace(stopwatch, mpagectl):
    r = stopwatch.r
    assert "rc_sw 0" in r.stdout, r.stdout
    log = (stopwatch.out / "sw.log").read_text()
    assert "stopwatch expired after 2 s, stopping" in log, log
    assert run([mpagectl, "decode", stopwatch.out / "sw"], check=False).returncode == 0
    assert "rc_swcmd 130" in r.stdout, r.stdout
    log = (stopwatch.out / "swcmd.log").read_text()
    assert "stopwatch expired, sending SIGINT to the command" in log, log
    assert run([mpagectl, "decode", stopwatch.out / "swcmd"], check=False).returncode == 0
