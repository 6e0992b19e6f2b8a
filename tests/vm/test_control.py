"""The control plane, measured in a VM: `mpagectl` over the generic netlink family.

Three jobs, run in one VM boot (lab.vm_job):

* read: a 2 MiB contiguous file read cold with the default policy and with
  `mpagectl set M maxmap=1` (counters from `mpagectl stats --json` against what
  blktrace saw and against read_ahead_kb), both captured with `mpagectl trace
  --gb-trace` and joined by `mpagectl explain --gb-trace`; the seed example
  (17 blocks at 1 KiB) read with boundary on/off flipped by `mpagectl set` on
  the mounted filesystem and by the mount option, compared in mpage.c's
  notation.
* faults: injected EIO through read (cat, dd) and through fsync (a page
  dirtied through mmap over a hole, then a create-side get_block fault, then
  fsync), injected ENOSPC through write; faults listed with their hits and
  cleared; remount and SHA-256 of the untouched files; an unprivileged user
  (uid 65534) can read stats and mounts but not set, inject or reset; the
  messages for a path that is not an mpagefs mount and for an unloaded module;
  `mpagectl stats --watch` deltas while a file is read (after the first
  sample: the job waits for the first interval's line, no sleep).
* counters: a job that moves every counter, then each counter read through
  its sysfs file, the "stats" file and netlink (`mpagectl stats --json`),
  which must agree; then stats=off (the lab's get_block wrapper on its fast
  path): data read and written right, counters frozen, the tracepoint still
  firing; stats=on counts again.

After the boot every mpagefs image must pass `mpagectl fsck`, and the kernel
log must be clean (a problem fails every test of the boot, naming the job).
"""
import json
import math
import re

import pytest

from lab import (GUEST_PRELUDE, GuestJob, block_map, build_static, decode_json, explain_json, explain_lines, mkfs_mpagefs,
                 notation, rand_bytes, run, sha256, vm_job)

BIG = 2 << 20          # the contiguous file of the read checks
BS = 1024

# Cold read: page cache, dentries and inodes dropped, and the block device's
# buffers (an indirect block can stay in the per-CPU buffer-head LRU
# otherwise, see Documentation/read-path.rst), while the fs stays mounted.
COLD = r"""
cold() {
	sync
	echo 3 > /proc/sys/vm/drop_caches
	blockdev --flushbufs "$1"
}
"""


def sections(stdout):
    """Lines "== name" start a section; {name: text}."""
    out, name = {}, None
    for line in stdout.splitlines():
        if line.startswith("== "):
            name = line[3:].strip()
            out[name] = ""
        elif name:
            out[name] += line + "\n"
    return out


def first_json(text):
    """The first JSON value of a section (commands after it may print more)."""
    return json.JSONDecoder().raw_decode(text.lstrip())[0]


def data_bios(events, path):
    return [e for e in events
            if any(s["kind"] == "data" and s.get("path") == path for s in e["segments"])]


def data_blocks(events, path):
    return sum(s["count"] for e in events for s in e["segments"]
               if s["kind"] == "data" and s.get("path") == path)


def job_view(job):
    """What the tests read of a job: r, out, the job's data and its sections."""
    return dict(r=job.r, out=job.out, sec=sections(job.r.stdout),
                **{k: v for k, v in vars(job).items() if k not in ("r", "out")})


# --- job 1: counters, policy, tracepoint join ----------------------------------

def read_job(ctx):
    tmp = ctx.tmp
    src = tmp / "src"
    src.mkdir()
    (src / "f17").write_bytes(rand_bytes(17 * BS, seed=17))
    (src / "big").write_bytes(rand_bytes(BIG, seed=2))
    img = mkfs_mpagefs(ctx.mpagectl, tmp / "read.img", src, BS, "8M")
    script = GUEST_PRELUDE + COLD + r"""
M=/mnt/a
mount -t mpagefs -o ro /dev/vdc $M
# The job's disk as the VM names it (vdc when the job runs first in its boot).
echo "== dev"
basename /dev/vdc
echo "== ra"
cat /sys/block/vdc/queue/read_ahead_kb
echo "== mounts"
mpagectl mounts --json
for m in 0 1; do
	echo "== set maxmap=$m"
	mpagectl set $M maxmap=$m --json
	cold /dev/vdc
	mpagectl reset $M > /dev/null
	mpagectl trace -d /dev/vdc -o "$OUT/big$m" --gb-trace "$OUT/big$m.gb" -- cat $M/big \
		> /dev/null 2> "$OUT/big$m.log"
	echo "== stats maxmap=$m"
	mpagectl stats $M --json
done
mpagectl set $M maxmap=0 > /dev/null
# The seed example: boundary by the mount option and by netlink.
seed() {
	cold /dev/vdc
	mpagectl trace -d /dev/vdc -o "$OUT/$1" -- cat $M/f17 > /dev/null 2> "$OUT/$1.log"
}
seed opt_on
echo "== set boundary=off"
mpagectl set $M boundary=off
seed nl_off
echo "== mounts after set"
mpagectl mounts --json
umount $M
mount -t mpagefs -o ro,boundary=off /dev/vdc $M
seed opt_off
echo "== set boundary=on"
mpagectl set /dev/vdc boundary=on
seed nl_on
echo "== text stats"
mpagectl stats vdc
umount $M
"""
    return GuestJob(script, disks=[img], timeout=300, data=dict(img=img))


read = vm_job(read_job, "read")


@pytest.fixture
def readvm(read):
    return job_view(read)


def test_mounts_lists_the_mount(readvm):
    mounts = first_json(readvm["sec"]["mounts"])
    assert len(mounts) == 1
    m = mounts[0]
    assert m["dev_name"] == readvm["sec"]["dev"].strip()
    assert m["block_size"] == BS
    assert m["readonly"] is True
    assert m["policy"] == {"boundary": True, "maxmap": 0, "alloc": "contig"}
    after = first_json(readvm["sec"]["mounts after set"])[0]
    assert after["policy"]["boundary"] is False
    assert "boundary=off maxmap=0 alloc=contig" in readvm["sec"]["set boundary=off"]
    assert first_json(readvm["sec"]["set maxmap=1"])["maxmap"] == 1


def test_cold_read_one_get_block_per_window(readvm, mpagectl):
    """Default policy: about one get_block call per readahead window, every
    block mapped exactly once, and the same blocks as blktrace saw read."""
    st = first_json(readvm["sec"]["stats maxmap=0"])
    s = st["stats"]
    ra_kib = int(readvm["sec"]["ra"].split()[0])
    events = explain_json(mpagectl, readvm["img"], readvm["out"] / "big0", "/big")
    bios = data_bios(events, "/big")
    nblocks = BIG // BS
    windows = math.ceil(BIG / (ra_kib * 1024))
    n_ind = len(block_map(mpagectl, readvm["img"], "/big")["indirect"])
    calls = s["get_block_read"]
    print(f"read_ahead_kb {ra_kib}: {windows} windows, {n_ind} indirect blocks, "
          f"{len(bios)} data bios, {calls} get_block calls, {s['blocks_mapped']} blocks mapped")
    assert s["get_block_create"] == 0 and s["holes"] == 0
    # Each window takes one call, plus one more where an indirect block
    # (a discontinuity on disk) cuts a window.
    assert windows <= calls <= windows + n_ind
    assert calls <= len(bios) + 1
    assert s["multi_block"] == calls
    assert st["get_block_calls"] == calls
    # blocks mapped == blocks read == the file's blocks
    assert s["blocks_mapped"] == data_blocks(events, "/big") == nblocks
    assert sum(b["calls"] for b in st["run_hist"]) == calls
    assert st["run_hist"][0]["calls"] == 0          # no call mapped a single block
    assert s["readahead_calls"] >= windows


def test_maxmap_1_one_get_block_per_block(readvm, mpagectl):
    st = first_json(readvm["sec"]["stats maxmap=1"])
    s = st["stats"]
    events = explain_json(mpagectl, readvm["img"], readvm["out"] / "big1", "/big")
    nblocks = BIG // BS
    print(f"maxmap=1: {s['get_block_read']} get_block calls for {nblocks} blocks")
    assert s["get_block_read"] == s["blocks_mapped"] == nblocks
    assert data_blocks(events, "/big") == nblocks
    assert s["multi_block"] == 0
    assert st["run_hist"][0]["calls"] == nblocks
    assert sum(b["calls"] for b in st["run_hist"][1:]) == 0


@pytest.mark.parametrize("maxmap", [0, 1])
def test_gb_trace_join_attributes_every_data_bio(readvm, mpagectl, maxmap):
    """explain --gb-trace: every data bio's blocks come from get_block calls
    of the file's inode that mapped exactly those disk blocks; the trace has
    as many get_block calls as the counter."""
    prefix = readvm["out"] / f"big{maxmap}"
    gb = readvm["out"] / f"big{maxmap}.gb"
    events, summary = explain_lines(run([mpagectl, "explain", readvm["img"], prefix, "--file", "/big",
                                         "--gb-trace", gb, "--json"]).stdout)
    s = first_json(readvm["sec"][f"stats maxmap={maxmap}"])["stats"]
    g = summary["gb_trace"]
    bios = [e for e in events if e["data"]]
    print(f"maxmap={maxmap}: {g}")
    assert g["get_block_calls"] == s["get_block_read"]
    assert g["data_bios"] == len(bios) > 0
    assert g["data_bios_attributed"] == g["data_bios"]
    assert g["unmapped_data_blocks"] == 0
    assert g["get_block_calls_used"] == g["get_block_calls"]
    ino = block_map(mpagectl, readvm["img"], "/big")["ino"]
    # One way to print a device: MAJOR,MINOR as blkparse, in the control
    # commands, the tracepoints and the blktrace decoder alike.
    dev = first_json(readvm["sec"]["mounts"])[0]["dev"]
    assert re.fullmatch(r"\d+,\d+", dev), dev
    assert {ev["dev"] for ev in decode_json(mpagectl, prefix, "Q")} == {dev}
    for e in bios:
        assert e["get_block"] and e["unmapped_blocks"] == []
        mapped = set()
        for c in e["get_block"]:
            assert c["ino"] == ino and c["create"] is False and c["ret"] == 0
            assert c["dev"] == dev
            mapped |= set(range(c["pblk"], c["pblk"] + c["len"]))
            if maxmap:
                assert c["len"] == 1
        bio_blocks = set(range(e["first_block"], e["first_block"] + e["block_count"]))
        assert bio_blocks <= mapped
    # The text form names the calls too.
    text = run([mpagectl, "explain", readvm["img"], prefix, "--file", "/big",
                "--gb-trace", gb]).stdout
    assert "<- get_block ino" in text
    assert f"{g['data_bios']} fully attributed" in text


def test_boundary_flip_by_netlink_equals_mount_option(readvm, mpagectl):
    img, out = readvm["img"], readvm["out"]
    m = block_map(mpagectl, img, "/f17")
    runs = [(r["logical"], r["count"]) for r in m["runs"]]
    assert runs == [(0, 12), (12, 5)] and len(m["indirect"]) == 1   # data 0-11, IND, data 12-16
    nota = {n: notation(mpagectl, img, out / n, "/f17")
            for n in ("opt_on", "nl_off", "opt_off", "nl_on")}
    print("\n".join(f"{k:8} {v}" for k, v in nota.items()))
    on = "[0 1 2 3 4 5 6 7 8 9 10 11] [12] [13 14 15 16 17]"
    off = "[12] [0 1 2 3 4 5 6 7 8 9 10 11] [13 14 15 16 17]"
    assert nota["opt_on"] == nota["nl_on"] == on
    assert nota["opt_off"] == nota["nl_off"] == off


def test_stats_text_table(readvm):
    t = readvm["sec"]["text stats"]
    assert t.startswith(f"{readvm['sec']['dev'].strip()} (")
    assert "get_block calls, create=0" in t
    assert "blocks mapped per call (run-length histogram):" in t


# --- job 2: faults, permissions, messages ----------------------------------------

HELPER = r"""
/* ctlhelp: what busybox cannot do for test_control.py.
 *   ctlhelp mmapw FILE LEN     dirty LEN bytes of FILE through a shared mapping
 *   ctlhelp fsync FILE         fsync(2), prints "fsync ok" or "fsync E<errno>"
 *   ctlhelp asuser UID CMD...  drop to UID/GID (no groups, no capabilities), exec CMD
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc >= 4 && !strcmp(argv[1], "mmapw")) {
		size_t len = strtoul(argv[3], NULL, 0);
		int fd = open(argv[2], O_RDWR);
		char *p;

		if (fd < 0) { perror("open"); return 1; }
		p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (p == MAP_FAILED) { perror("mmap"); return 1; }
		for (size_t i = 0; i < len; i++)
			p[i] = (char)(i * 7 + 1);
		munmap(p, len);
		close(fd);
		printf("mmapw ok\n");
		return 0;
	}
	if (argc == 3 && !strcmp(argv[1], "fsync")) {
		int fd = open(argv[2], O_RDWR);

		if (fd < 0) { perror("open"); return 1; }
		if (fsync(fd)) {
			printf("fsync %s\n", errno == EIO ? "EIO" : strerror(errno));
			return 2;
		}
		printf("fsync ok\n");
		return 0;
	}
	if (argc >= 4 && !strcmp(argv[1], "asuser")) {
		uid_t id = (uid_t)strtoul(argv[2], NULL, 0);

		if (setgroups(0, NULL) || setgid(id) || setuid(id)) { perror("setuid"); return 1; }
		execvp(argv[3], argv + 3);
		perror("exec");
		return 127;
	}
	fprintf(stderr, "usage: ctlhelp mmapw FILE LEN | fsync FILE | asuser UID CMD...\n");
	return 2;
}
"""


def faults_job(ctx):
    tmp = ctx.tmp
    helper_c = tmp / "ctlhelp.c"
    helper_c.write_text(HELPER)
    helper = build_static(helper_c, tmp / "ctlhelp")
    src = tmp / "src"
    src.mkdir()
    files = {"victim": rand_bytes(64 * BS, 1), "keep1": rand_bytes(100 * BS + 7, 2),
             "keep2": rand_bytes(3 * BS, 3)}
    for n, data in files.items():
        (src / n).write_bytes(data)
    img = mkfs_mpagefs(ctx.mpagectl, tmp / "faults.img", src, BS, "8M")
    script = GUEST_PRELUDE + COLD + r"""
set +e
H=/job/ctlhelp
M=/mnt/a
nobody() { $H asuser 65534 "$@"; }
mount -t mpagefs /dev/vdc $M
# No periodic writeback: the dirtied mmap pages wait for fsync.
echo 0 > /proc/sys/vm/dirty_writeback_centisecs
echo 360000 > /proc/sys/vm/dirty_expire_centisecs
mpagectl reset $M
vino=$(stat -c %i $M/victim)

echo "== read EIO"
cold /dev/vdc
mpagectl inject $M get_block --errno EIO --ino $vino --side read
cat $M/victim > /dev/null; echo "cat_rc $?"
dd if=$M/victim of=/dev/null bs=4096; echo "dd_rc $?"
echo "== faults after read"
mpagectl faults $M --json
mpagectl clear $M
sha256sum $M/victim

echo "== fsync EIO"
truncate -s 16384 $M/hole
hino=$(stat -c %i $M/hole)
$H mmapw $M/hole 8192
mpagectl inject $M get_block --errno EIO --ino $hino --side create --json
$H fsync $M/hole; echo "fsync_rc $?"
echo "== faults after fsync"
mpagectl faults $M
mpagectl clear $M

echo "== write ENOSPC"
touch $M/new
nino=$(stat -c %i $M/new)
mpagectl inject $M enospc --ino $nino --json
dd if=/dev/zero of=$M/new bs=4096 count=4 conv=notrunc; echo "dd_rc $?"
echo "== stats after faults"
mpagectl stats $M --json
mpagectl clear $M
echo "== faults after clear"
mpagectl faults $M --json

echo "== watch"
# stats --watch=1 --count 3 samples the counters when it starts and after each
# of 3 intervals, printing (and flushing) one line per interval right after
# its sample.  keep1 is read cold once interval 1's line is out, so after the
# first sample, and the read must be over before the third sample: if the
# third line was already out when cat returned (a very slow machine), the
# watch is run again (at most 5 tries).  No sleep: the job waits for the line.
watch_try=0
while :; do
	watch_try=$((watch_try + 1))
	cold /dev/vdc
	: > /tmp/watch
	mpagectl stats $M --watch=1 --count 3 --json >> /tmp/watch 2> /tmp/watch.err &
	wpid=$!
	n=0
	while [ "$(grep -c '^{' /tmp/watch 2> /dev/null)" -lt 1 ]; do
		n=$((n + 1))
		if [ $n -gt 600 ] || ! kill -0 $wpid 2> /dev/null; then
			echo "watch_error: no interval line after $n polls: $(cat /tmp/watch.err)"
			break
		fi
		usleep 50000
	done
	cat $M/keep1 > /dev/null
	read_done=$(grep -c '^{' /tmp/watch)
	wait $wpid; wrc=$?
	[ "$read_done" -lt 3 ] || [ $watch_try -ge 5 ] && break
done
cat /tmp/watch
echo "watch_rc $wrc tries $watch_try read_done_after $read_done"

echo "== unprivileged"
for cmd in "set $M maxmap=1" "inject $M enospc" "reset $M" "clear $M"; do
	nobody mpagectl $cmd > /dev/null 2> /tmp/err; echo "rc=$? $cmd: $(cat /tmp/err)"
done
nobody mpagectl stats $M --json > /tmp/st; echo "stats_rc $? $(grep -c get_block_read /tmp/st)"
nobody mpagectl mounts > /tmp/mo; echo "mounts_rc $? $(grep -c vdc /tmp/mo)"
nobody mpagectl faults $M > /dev/null; echo "faults_rc $?"
echo "== policy unchanged"
mpagectl mounts --json

echo "== messages"
mpagectl stats /tmp 2>&1; echo "rc=$?"
mpagectl set /proc maxmap=1 2>&1; echo "rc=$?"
mpagectl set $M maxmap=x 2>&1; echo "rc=$?"
mpagectl clear $M 77 2>&1; echo "rc=$?"
mpagectl inject $M get_block --errno EIO --blocks 9-3 2>&1; echo "rc=$?"

echo "== remount"
sync
umount $M
mount -t mpagefs -o ro /dev/vdc $M
sha256sum $M/victim $M/keep1 $M/keep2
stat -c '%n %s %b' $M/hole $M/new
umount $M
rmmod mpagefs; echo "rmmod_rc $?"
echo "== unloaded"
mpagectl stats 2>&1; echo "rc=$?"
mpagectl mounts 2>&1; echo "rc=$?"
# Leave the VM as the boot found it for the jobs after this one.
echo "== reloaded"
loadmod mpagefs; echo "loadmod_rc $?"
"""
    return GuestJob(script, disks=[img], files={"ctlhelp": helper}, timeout=300,
                    data=dict(img=img, files=files))


faults = vm_job(faults_job, "faults")


@pytest.fixture
def faultvm(faults):
    return job_view(faults)


@pytest.mark.debug_kernel
def test_injected_eio_reaches_read(faultvm):
    t = faultvm["sec"]["read EIO"]
    assert "fault 1: get_block -> EIO" in t and "side read" in t
    assert "cat_rc 1" in t
    assert "dd_rc 1" in t
    assert "Input/output error" in faultvm["r"].stdout
    faults = first_json(faultvm["sec"]["faults after read"])
    assert len(faults) == 1 and faults[0]["hits"] >= 2 and faults[0]["errno"] == "EIO"
    # cleared: the same file reads back intact
    assert f"{sha256(faultvm['files']['victim'])}  /mnt/a/victim" in faultvm["sec"]["faults after read"]


@pytest.mark.debug_kernel
def test_injected_eio_reaches_fsync(faultvm):
    t = faultvm["sec"]["fsync EIO"]
    assert "mmapw ok" in t
    assert '"side": "create"' in t
    assert "fsync EIO" in t and "fsync_rc 2" in t
    assert "side create, always, hits" in faultvm["sec"]["faults after fsync"]
    assert "hits 0" not in faultvm["sec"]["faults after fsync"]


@pytest.mark.debug_kernel
def test_injected_enospc_reaches_write(faultvm):
    t = faultvm["sec"]["write ENOSPC"]
    assert '"kind": "enospc"' in t
    assert "No space left on device" in t and "dd_rc 1" in t
    s = first_json(faultvm["sec"]["stats after faults"])["stats"]
    assert s["faults_hit"] >= 4
    assert first_json(faultvm["sec"]["faults after clear"]) == []


@pytest.mark.debug_kernel
def test_after_clearing_files_are_intact(faultvm):
    t = faultvm["sec"]["remount"]
    for name in ("victim", "keep1", "keep2"):
        assert f"{sha256(faultvm['files'][name])}  /mnt/a/{name}" in t
    # The data that never reached the disk left no blocks behind.
    assert "/mnt/a/hole 16384 0" in t
    assert "/mnt/a/new 0 0" in t
    assert "rmmod_rc 0" in t


def test_watch_prints_deltas_per_interval(faultvm):
    t = faultvm["sec"]["watch"]
    assert "watch_rc 0 " in t, t
    # The read was over before the last sample (see the job's comment).
    done = int(t.split("read_done_after ")[1].split()[0])
    assert done < 3, f"keep1's read did not end within the watch in 5 tries:\n{t}"
    lines = [json.loads(ln) for ln in t.splitlines() if ln.startswith("{")]
    assert [ln["interval"] for ln in lines] == [1, 2, 3]
    assert all(0.5 < ln["seconds"] < 5 for ln in lines)
    # keep1 (101 blocks) was read cold during the intervals (after the
    # first sample), and nothing else but the directory's blocks.
    read = sum(ln["stats"]["blocks_mapped"] for ln in lines)
    assert 101 <= read <= 104
    assert sum(ln["stats"]["get_block_create"] for ln in lines) == 0


def test_unprivileged_user_reads_but_cannot_change(faultvm):
    t = faultvm["sec"]["unprivileged"]
    lines = [ln for ln in t.splitlines() if ln.startswith("rc=")]
    assert len(lines) == 4
    for ln in lines:
        assert not ln.startswith("rc=0"), ln
        assert ln.startswith("rc=3 "), ln     # a runtime error (EPERM), not usage
        assert "not permitted:" in ln and "needs CAP_SYS_ADMIN" in ln, ln
    assert "not permitted: SET_POLICY needs CAP_SYS_ADMIN" in t
    assert "not permitted: INJECT needs CAP_SYS_ADMIN" in t
    assert "not permitted: RESET_STATS needs CAP_SYS_ADMIN" in t
    assert "stats_rc 0 1" in t
    assert "mounts_rc 0 1" in t
    assert "faults_rc 0" in t
    assert first_json(faultvm["sec"]["policy unchanged"])[0]["policy"]["maxmap"] == 0


def test_clear_messages(faultvm):
    # mpagectl's exit codes: 2 for a usage error (found before anything is
    # asked of the kernel), 3 for a runtime error (README).
    t = faultvm["sec"]["messages"]
    assert "mpagectl: no such mount: /tmp is not an mpagefs mount\nrc=3" in t
    assert "mpagectl: no such mount: /proc is not an mpagefs mount\nrc=3" in t
    assert re.search(r"maxmap=x: expected a number[^\n]*\n(?:Run with --help[^\n]*\n)?rc=2\n", t), t
    assert re.search(r"CLEAR_FAULTS: no fault with this ID is armed on this mount[^\n]*\nrc=3\n", t), t
    assert re.search(r"block range '9-3': the last block is before the first\n"
                     r"(?:Run with --help[^\n]*\n)?rc=2\n", t), t
    assert re.findall(r"^rc=(\d+)$", t, re.M) == ["3", "3", "2", "3", "2"], t
    u = faultvm["sec"]["unloaded"]
    assert u.count('mpagectl: mpagefs module not loaded (no generic netlink family "mpagefs")\nrc=3') == 2
    assert "loadmod_rc 0" in faultvm["sec"]["reloaded"]


# --- job 3: every counter, through sysfs and netlink; stats=off -----------------

# mmaprand FILE: read every page of FILE through a MADV_RANDOM mapping, which
# makes filemap_fault() read each page with ->read_folio instead of readahead.
COUNT_HELPER = r"""
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct stat st;
	unsigned long sum = 0;
	const unsigned char *p;
	off_t off;
	int fd;

	if (argc != 2 || (fd = open(argv[1], O_RDONLY)) < 0 || fstat(fd, &st)) {
		perror("mmaprand");
		return 1;
	}
	p = mmap(NULL, st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED || madvise((void *)p, st.st_size, MADV_RANDOM)) {
		perror("mmap");
		return 1;
	}
	for (off = 0; off < st.st_size; off += 4096)
		sum += p[off];
	printf("mmaprand %lu\n", sum);
	return 0;
}
"""

# sysfs file -> netlink name (mpagectl stats --json), for every counter file.
COUNTER_NETLINK = {
    "get_block_read_calls": "get_block_read", "get_block_create_calls": "get_block_create",
    "blocks_mapped": "blocks_mapped", "multi_block_calls": "multi_block", "boundary_set": "boundary_set",
    "holes": "holes", "ind_reads": "ind_reads", "blocks_allocated": "blocks_allocated",
    "blocks_freed": "blocks_freed", "inodes_allocated": "inodes_allocated", "inodes_freed": "inodes_freed",
    "readahead_calls": "readahead_calls", "read_folio_calls": "read_folio_calls",
    "writepages_calls": "writepages_calls", "bh_get_block_calls": "bh_get_block", "bh_pages": "bh_pages",
    "faults_hit": "faults_hit",
}


def counters_job(ctx):
    tmp = ctx.tmp
    helper_c = tmp / "cnthelp.c"
    helper_c.write_text(COUNT_HELPER)
    helper = build_static(helper_c, tmp / "cnthelp")
    src = tmp / "src"
    src.mkdir()
    files = {"big": rand_bytes(1 << 20, 31), "mm": rand_bytes(64 * BS, 32)}
    for n, data in files.items():
        (src / n).write_bytes(data)
    img = mkfs_mpagefs(ctx.mpagectl, tmp / "counters.img", src, BS, "8M")
    script = GUEST_PRELUDE + COLD + r"""
M=/mnt/a
T=/sys/kernel/tracing
mount -t mpagefs /dev/vdc $M
S=/sys/fs/mpagefs/$(basename /dev/vdc)
mpagectl reset $M
# Something for every counter: a write of partial pages (write_begin over a
# page's own buffers, allocation, writepages), a hole, a delete, cold reads
# through indirect blocks by readahead and by ->read_folio, an injected fault.
dd if=/dev/urandom of=$M/w bs=1000 count=300 2> /dev/null
sync
truncate -s 65536 $M/sparse
rm $M/w
sync
cold /dev/vdc
cat $M/big $M/sparse > /dev/null
/job/cnthelp $M/mm
mpagectl inject $M get_block --errno EIO --ino $(stat -c %i $M/big) --side read --once > /dev/null
cold /dev/vdc
cat $M/big > /dev/null 2>&1 || true
mpagectl clear $M
# read-only: nothing moves the counters while they are read
mount -o remount,ro $M
echo "== files"
for f in $S/*; do
	case ${f##*/} in stats | run_hist | reset | boundary | maxmap | alloc) ;;
	*) echo "${f##*/} $(cat $f)" ;;
	esac
done
echo "== stats"
cat $S/stats
echo "== run_hist"
cat $S/run_hist
echo "== netlink"
mpagectl stats $M --json

echo "== stats off"
mount -o remount,rw,stats=off $M
grep " $M " /proc/mounts
cat $S/stats > /tmp/s0
cold /dev/vdc
sha256sum $M/big
dd if=/dev/urandom of=$M/new bs=4096 count=64 2> /dev/null
sha256sum $M/new > /tmp/newsum
sync
cold /dev/vdc
sha256sum -c /tmp/newsum
# the tracepoint still sees every call while the counters stand still
echo > $T/trace
echo 1 > $T/events/mpagefs/mpagefs_get_block/enable
cold /dev/vdc
cat $M/big > /dev/null
echo 0 > $T/events/mpagefs/mpagefs_get_block/enable
echo "traced $(grep -c 'mpagefs_get_block:' $T/trace)"
rm $M/new
sync
cat $S/stats > /tmp/s1
cmp -s /tmp/s0 /tmp/s1 && echo "frozen yes" || echo "frozen no"
echo "== stats on"
mount -o remount,stats=on $M
grep " $M " /proc/mounts
cold /dev/vdc
cat $M/big > /dev/null
echo "get_block_calls $(cat $S/get_block_calls) before $(grep '^get_block_calls ' /tmp/s1)"
umount $M
"""
    return GuestJob(script, disks=[img], files={"cnthelp": helper}, timeout=300,
                    data=dict(img=img, files=files))


counters = vm_job(counters_job, "counters")


@pytest.fixture
def countvm(counters):
    return job_view(counters)


def kv_lines(text):
    out = {}
    for line in text.splitlines():
        k, _, v = line.partition(" ")
        if v.strip().lstrip("-").isdigit():
            out[k] = int(v)
    return out


def test_every_counter_reads_the_same_in_sysfs_and_netlink(countvm):
    """Each counter's file, its line of "stats" and its netlink attribute agree,
    after a job that moved every one of them; get_block_calls is read + create."""
    files = kv_lines(countvm["sec"]["files"])
    stats = kv_lines(countvm["sec"]["stats"])
    nl = first_json(countvm["sec"]["netlink"])
    print(files)
    assert set(files) == set(COUNTER_NETLINK) | {"get_block_calls"}
    assert stats == files
    for name, attr in COUNTER_NETLINK.items():
        assert nl["stats"][attr] == files[name], name
        assert files[name] > 0, f"{name}: the job did not move it"
    assert set(nl["stats"]) == set(COUNTER_NETLINK.values())
    assert files["get_block_calls"] == files["get_block_read_calls"] + files["get_block_create_calls"]
    assert nl["get_block_calls"] == files["get_block_calls"]
    assert files["faults_hit"] == 1
    hist = [int(line.split()[1]) for line in countvm["sec"]["run_hist"].split("\n") if line.strip()]
    assert hist == [b["calls"] for b in nl["run_hist"]]


def test_stats_off_freezes_the_counters_not_the_filesystem(countvm):
    """stats=off (the wrapper's fast path when nothing else of the lab is on):
    reads and writes are right, the counters keep their values, the tracepoint
    still fires; stats=on counts again."""
    off = countvm["sec"]["stats off"]
    assert "stats=off" in off.splitlines()[0]
    assert f"{sha256(countvm['files']['big'])}  /mnt/a/big" in off
    assert "/mnt/a/new: OK" in off
    traced = int(re.search(r"traced (\d+)", off).group(1))
    assert traced > 0
    assert "frozen yes" in off
    on = countvm["sec"]["stats on"]
    assert "stats=off" not in on.splitlines()[0]
    m = re.search(r"get_block_calls (\d+) before get_block_calls (\d+)", on)
    assert int(m.group(1)) > int(m.group(2))
