"""The control plane, measured in a VM: `mpagectl` over the generic netlink family.

Two VM boots:

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
  messages for a path that is not an mpagefs mount and for an unloaded module.

After each boot every mpagefs image must pass `mpagectl fsck`.
"""
import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lab import (GUEST_PRELUDE, block_map, explain_json, mkfs_mpagefs, notation,
                 rand_bytes, run, sha256)

TOP = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(TOP / "qemu"))
from vm import run_vm  # noqa: E402

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


def fsck_clean(mpagectl, image):
    p = subprocess.run([str(mpagectl), "fsck", str(image)], capture_output=True, text=True)
    assert p.returncode == 0, f"fsck of {image}:\n{p.stdout}{p.stderr}"


def boot(build, name, script, disks, timeout=300, files=None):
    out = build / "artefacts" / "test_control" / name
    if out.exists():
        shutil.rmtree(out)
    r = run_vm(build=str(build), script=script, disks=[str(d) for d in disks],
               out_dir=str(out), timeout=timeout, files=files)
    return r, Path(r.out)


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


# --- boot 1: counters, policy, tracepoint join ---------------------------------

@pytest.fixture(scope="module")
def readvm(build, mpagectl, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("control-read")
    src = tmp / "src"
    src.mkdir()
    (src / "f17").write_bytes(rand_bytes(17 * BS, seed=17))
    (src / "big").write_bytes(rand_bytes(BIG, seed=2))
    img = mkfs_mpagefs(mpagectl, tmp / "read.img", src, BS, "8M")
    script = GUEST_PRELUDE + COLD + r"""
M=/mnt/a
mount -t mpagefs -o ro /dev/vdc $M
echo "== ra"
cat /sys/block/vdc/queue/read_ahead_kb
echo "== mounts"
mpagectl mounts --json
for m in 0 1; do
	echo "== set maxmap=$m"
	mpagectl set $M maxmap=$m --json
	cold /dev/vdc
	mpagectl reset $M > /dev/null
	mpagectl trace --dev /dev/vdc --out "$OUT/big$m" --gb-trace "$OUT/big$m.gb" -- cat $M/big \
		> /dev/null 2> "$OUT/big$m.log"
	echo "== stats maxmap=$m"
	mpagectl stats $M --json
done
mpagectl set $M maxmap=0 > /dev/null
# The seed example: boundary by the mount option and by netlink.
seed() {
	cold /dev/vdc
	mpagectl trace --dev /dev/vdc --out "$OUT/$1" -- cat $M/f17 > /dev/null 2> "$OUT/$1.log"
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
    r, out = boot(build, "read", script, [img])
    assert r.status == 0, r.stdout
    fsck_clean(mpagectl, img)
    return dict(r=r, out=out, img=img, sec=sections(r.stdout))


def test_mounts_lists_the_mount(readvm):
    mounts = first_json(readvm["sec"]["mounts"])
    assert len(mounts) == 1
    m = mounts[0]
    assert m["dev_name"] == "vdc"
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
    j = json.loads(run([mpagectl, "explain", "--image", readvm["img"], prefix, "--file", "/big",
                        "--gb-trace", gb, "--json"]).stdout)
    s = first_json(readvm["sec"][f"stats maxmap={maxmap}"])["stats"]
    g = j["gb_trace"]
    bios = [e for e in j["events"] if e["data"]]
    print(f"maxmap={maxmap}: {g}")
    assert g["get_block_calls"] == s["get_block_read"]
    assert g["data_bios"] == len(bios) > 0
    assert g["data_bios_attributed"] == g["data_bios"]
    assert g["unmapped_data_blocks"] == 0
    assert g["get_block_calls_used"] == g["get_block_calls"]
    ino = block_map(mpagectl, readvm["img"], "/big")["ino"]
    dev = first_json(readvm["sec"]["mounts"])[0]["dev"]
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
    text = run([mpagectl, "explain", "--image", readvm["img"], prefix, "--file", "/big",
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
    assert t.startswith("vdc (")
    assert "get_block calls, create=0" in t
    assert "blocks mapped per call (run-length histogram):" in t


# --- boot 2: faults, permissions, messages ---------------------------------------

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


@pytest.fixture(scope="module")
def faultvm(build, mpagectl, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("control-faults")
    helper_c = tmp / "ctlhelp.c"
    helper_c.write_text(HELPER)
    helper = tmp / "ctlhelp"
    subprocess.run(["gcc", "-static", "-O2", "-Wall", "-Wextra", "-Werror", "-o", str(helper),
                    str(helper_c)], check=True)
    src = tmp / "src"
    src.mkdir()
    files = {"victim": rand_bytes(64 * BS, 1), "keep1": rand_bytes(100 * BS + 7, 2),
             "keep2": rand_bytes(3 * BS, 3)}
    for n, data in files.items():
        (src / n).write_bytes(data)
    img = mkfs_mpagefs(mpagectl, tmp / "faults.img", src, BS, "8M")
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
cold /dev/vdc
(sleep 1.5; cat $M/keep1 > /dev/null) &
mpagectl stats $M --watch=1 --count 3 --json
wait

echo "== unprivileged"
for cmd in "set $M maxmap=1" "inject $M enospc" "reset $M" "stats --reset $M" "clear $M"; do
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
"""
    r, out = boot(build, "faults", script, [img], files={"ctlhelp": str(helper)})
    assert r.status == 0, r.stdout
    fsck_clean(mpagectl, img)
    return dict(r=r, out=out, img=img, sec=sections(r.stdout), files=files)


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
    lines = [json.loads(ln) for ln in faultvm["sec"]["watch"].splitlines() if ln.startswith("{")]
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
    assert len(lines) == 5
    for ln in lines:
        assert not ln.startswith("rc=0"), ln
        assert "not permitted:" in ln and "needs CAP_SYS_ADMIN" in ln, ln
    assert "not permitted: SET_POLICY needs CAP_SYS_ADMIN" in t
    assert "not permitted: INJECT needs CAP_SYS_ADMIN" in t
    assert "not permitted: RESET_STATS needs CAP_SYS_ADMIN" in t
    assert "stats_rc 0 1" in t
    assert "mounts_rc 0 1" in t
    assert "faults_rc 0" in t
    assert first_json(faultvm["sec"]["policy unchanged"])[0]["policy"]["maxmap"] == 0


def test_clear_messages(faultvm):
    t = faultvm["sec"]["messages"]
    assert "mpagectl: no such mount: /tmp is not an mpagefs mount\nrc=1" in t
    assert "mpagectl: no such mount: /proc is not an mpagefs mount\nrc=1" in t
    assert "maxmap=x: expected a number" in t
    assert "CLEAR_FAULTS: no fault with this ID is armed on this mount" in t
    assert "block range '9-3': the last block is before the first" in t
    assert t.count("rc=1") == 5
    u = faultvm["sec"]["unloaded"]
    assert u.count('mpagectl: mpagefs module not loaded (no generic netlink family "mpagefs")\nrc=1') == 2
