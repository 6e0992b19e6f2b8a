"""Host-side helpers for the VM tests: source trees, images, and mpagectl.

Everything here runs on the host. Images are made by `mpagectl mkfs` (mpagefs)
or by mkfs.ext2 + debugfs (the ext2 reference peer), traces are decoded,
explained and checked by `mpagectl` after the VM has brought them back.
"""
import json
import os
import random
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from vm import JobSpec  # conftest.py puts qemu/ on sys.path

# Shell functions every guest script starts with.
GUEST_PRELUDE = r"""
set -e
# trace_read DEV FILE NAME: cold read of FILE while tracing DEV into $OUT/NAME
trace_read() {
	sync
	echo 3 > /proc/sys/vm/drop_caches
	mpagectl trace -d "$1" -o "$OUT/$3" -- cat "$2" > /dev/null
}
# start_blktrace DEV DIR NAME: run blktrace(8) on DEV in the background (pid in
# $bt; stop it with kill -INT $bt, which writes out everything traced) and
# return once it is recording.  blktrace only sees relay data when a whole
# sub-buffer is full, so it runs with 4 KiB sub-buffers (8 of them) and this
# issues O_DIRECT probe reads of DEV until DIR/NAME.blktrace.N holds data
# (bounded: about 60 s, then it fails).  The probes stay in the trace.
start_blktrace() {
	blktrace -d "$1" -D "$2" -o "$3" -b 4 -n 8 > /dev/null 2>&1 &
	bt=$!
	_n=0
	until [ -n "$(find "$2" -name "$3.blktrace.*" -size +0c 2>/dev/null)" ]; do
		_n=$((_n + 1))
		[ $_n -le 1200 ] || { echo "blktrace did not start tracing $1" >&2; return 1; }
		dd if="$1" of=/dev/null bs=4096 count=1 skip=$((_n % 64)) iflag=direct 2>/dev/null
		usleep 50000
	done
}
# stats DEV: the mount's get_block counters, one "name value" per line
stats() {
	cat "/sys/fs/mpagefs/$(basename "$1")/stats"
}
mkdir -p /mnt/a /mnt/b /mnt/c
"""


def rand_bytes(n: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(n)


def write_sparse(path: Path, size: int, chunks):
    """A sparse file of `size` bytes with data only in `chunks` [(offset, bytes)]."""
    with open(path, "wb") as f:
        f.truncate(size)
        for off, data in chunks:
            f.seek(off)
            f.write(data)


def run(cmd, check=True, **kw):
    """Run a host command, capturing text output."""
    return subprocess.run([str(c) for c in cmd], check=check, text=True,
                          capture_output=True, **kw)


def fsck(mpagectl, image):
    """`mpagectl fsck IMAGE`: (exit status, stdout + stderr)."""
    r = run([mpagectl, "fsck", image], check=False)
    return r.returncode, r.stdout + r.stderr


def assert_fsck_clean(mpagectl, image):
    rc, out = fsck(mpagectl, image)
    assert rc == 0, f"fsck {image}:\n{out}"


def build_static(src, exe, deps=()):
    """EXE built static from the C file SRC (gcc -O2 -Wall -Wextra -Werror)
    when missing or older than SRC or any of DEPS; returns EXE.  Written under
    a name of this process's own and renamed into place, so two pytest runs
    (vm-test beside make bench) that build the same helper at once do not
    race."""
    src, exe = Path(src), Path(exe)
    newest = max(Path(p).stat().st_mtime for p in (src, *deps))
    if not exe.exists() or exe.stat().st_mtime < newest:
        tmp = exe.with_name(f"{exe.name}.{os.getpid()}.tmp")
        subprocess.run(["gcc", "-static", "-O2", "-Wall", "-Wextra", "-Werror",
                        "-o", str(tmp), str(src)], check=True)
        tmp.replace(exe)
    return exe


def mkfs_mpagefs(mpagectl, image, src=None, block_size=1024, size="16M", extra=()):
    image = Path(image)
    if image.exists():
        image.unlink()
    cmd = [mpagectl, "mkfs", "--block-size", block_size, "--size", size, *extra]
    if src is not None:
        cmd += ["--populate", src]
    run(cmd + [image])
    return image


def mkfs_ext2(image, files, block_size=1024, size="16M"):
    """An ext2 image holding `files` {name: host path}, written by debugfs.

    debugfs allocates like ext2 does for a sequential write: each indirect
    block right before the data it maps.
    """
    image = Path(image)
    if image.exists():
        image.unlink()
    run(["truncate", "-s", size, image])
    run(["mkfs.ext2", "-q", "-F", "-b", block_size, "-I", "128", image])
    for name, host in files.items():
        run(["debugfs", "-w", "-R", f"write {host} {name}", image])
    return image


def block_map(mpagectl, image, path):
    """`mpagectl map --json`: the file's block map as the image records it."""
    return json.loads(run([mpagectl, "map", image, path, "--json"]).stdout)


def check(mpagectl, image, prefix, path, *rules):
    """`mpagectl check`: returns the CompletedProcess (rc 0 pass, 1 fail)."""
    return run([mpagectl, "check", image, prefix, "--file", path, *rules],
               check=False)


def notation(mpagectl, image, prefix, path):
    """The mpage.c-comment notation of a file's reads, in submit order."""
    return run([mpagectl, "explain", image, prefix, "--file", path,
                "--notation"]).stdout.strip()


def explain_lines(stdout: str):
    """`mpagectl explain --json` (JSON Lines): (event objects, the summary
    object that ends the output)."""
    lines = [json.loads(line) for line in stdout.splitlines() if line.strip()]
    assert lines and lines[-1]["type"] == "summary", "explain --json must end with its summary line"
    return [e for e in lines if e["type"] == "event"], lines[-1]


def explain_json(mpagectl, image, prefix, path=None, actions="Q"):
    cmd = [mpagectl, "explain", image, prefix, "--json", "--actions", actions]
    if path:
        cmd += ["--file", path]
    return explain_lines(run(cmd).stdout)[0]


def decode_json(mpagectl, prefix, actions=None):
    cmd = [mpagectl, "decode", prefix, "--json"]
    if actions:
        cmd += ["--actions", actions]
    out = run(cmd).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def parse_stats(text: str) -> dict:
    out = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            out[parts[0]] = int(parts[1])
    return out


def sha256(path_or_bytes) -> str:
    import hashlib
    if isinstance(path_or_bytes, (bytes, bytearray)):
        return hashlib.sha256(path_or_bytes).hexdigest()
    h = hashlib.sha256()
    with open(path_or_bytes, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def parse_sha_lines(text: str, strip_prefix: str) -> dict:
    """sha256sum output -> {relative path: digest}."""
    out = {}
    for line in text.splitlines():
        parts = line.split(None, 1)
        if len(parts) == 2 and len(parts[0]) == 64 and parts[1].startswith(strip_prefix):
            out[os.path.relpath(parts[1].strip(), strip_prefix)] = parts[0]
    return out


def crc32c(data: bytes) -> int:
    """CRC32C (Castagnoli), seed ~0 and final inversion, as the superblock uses."""
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


# Byte offsets of superblock fields (kmod/mpagefs_fs.h).
SB_FIELDS = {name: 4 * i for i, name in enumerate([
    "magic", "version", "log_block_size", "inode_size", "feature_compat",
    "feature_incompat", "feature_ro_compat", "state", "blocks_count",
    "free_blocks_count", "inodes_count", "free_inodes_count", "block_bitmap",
    "block_bitmap_blocks", "inode_bitmap", "inode_bitmap_blocks", "inode_table",
    "inode_table_blocks", "first_data_block", "root_ino", "mount_count", "errors"])}
SB_CSUM_OFFSET = 252


def super_field(image, field):
    """One 32-bit superblock field of an image (or block device)."""
    with open(image, "rb") as f:
        f.seek(SB_FIELDS[field])
        return int.from_bytes(f.read(4), "little")


def set_super_field(image, field, value, fix_crc=True):
    """Overwrite one 32-bit superblock field; re-seal the checksum if asked."""
    with open(image, "r+b") as f:
        sb = bytearray(f.read(256))
        sb[SB_FIELDS[field]:SB_FIELDS[field] + 4] = int(value).to_bytes(4, "little")
        if fix_crc:
            sb[SB_CSUM_OFFSET:] = crc32c(bytes(sb[:SB_CSUM_OFFSET])).to_bytes(4, "little")
        f.seek(0)
        f.write(sb)


# --- jobs that share one boot per test module -----------------------------------

@dataclass
class GuestJob(JobSpec):
    """What a job factory returns: a guest script written as if it had the VM to
    itself (its disks are /dev/vdc, /dev/vdd, ... in order; qemu/vm.py's
    JobSpec), and what the tests that use it need to know (data: returned as
    attributes of the job's result).

    Only the script is rewritten to the VM's disk names: a file in FILES that
    names a disk must take it from the script (an argument, or $DISKS)."""
    fsck: bool = True          # `mpagectl fsck` every mpagefs disk after the boot
    status: int | None = 0     # the exit status the job must have (None: any)
    data: dict = field(default_factory=dict)


def vm_job(factory, name, params=None, param="param"):
    """A pytest fixture NAME whose value is FACTORY's job, run in a boot shared with
    the jobs of the tests around it (conftest.py's vm_boots: the jobs of all the
    selected tests, in test order, as many per boot as MAX_BATCH_DISKS allows).

    FACTORY(ctx, **params) -> GuestJob, where ctx has tmp (a directory of its own),
    mpagectl, build and top, and params are those of the test's parametrization
    that FACTORY names.  Tests using the same fixture with the same params share
    one run of the job.  The fixture's value: a namespace with r (the VmResult:
    status, stdout, out/ ...) and GuestJob.data's keys.  It raises, failing every
    test of the boot, when the boot's kernel log has a problem (naming the job
    during which it appeared), when the VM or the job did not finish, when the
    job's exit status is not GuestJob.status, or when fsck finds a disk of the
    job unclean.

    PARAMS parametrizes the fixture itself (as pytest.fixture(params=...)): every
    test using it runs once per value, which FACTORY receives as its argument
    PARAM.

    Assign it to a module variable of the same name:  seed = vm_job(seed_job, "seed")
    """
    @pytest.fixture(name=name, params=params, ids=(lambda v: f"{param}{v}") if params else None)
    def fixture(request, vm_boots):
        return vm_boots.result(request.node, name)
    fixture.job_factory = factory
    fixture.job_fixture_name = name
    fixture.job_param = param if params else None
    return fixture
