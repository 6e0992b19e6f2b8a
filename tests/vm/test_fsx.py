"""mpagectl fsx on a mounted mpagefs: random reads, writes, truncates, mmap
reads/writes, fsync/fdatasync, close/reopen and O_DIRECT, every byte checked
against fsx's shadow copy, the file checked again after close + drop_caches,
then once more by the host from the image after unmount.

The issue's bar is 50,000 ops per block size.  Measured under TCG (2 host
cores shared with other work): 38-97 s of fsx in the guest, 46-115 s of VM wall
time per block size, at most about 2 s per 1,000 ops.  The count and the block sizes are parameters:
MPAGEFS_FSX_OPS (default 50000) and MPAGEFS_FSX_BLOCKS (default "1024 2048 4096").

File sizes reach past the single-indirect level at every block size (1 KiB:
12 + 256 blocks = 268 KiB; 4 KiB: 12 + 1024 blocks = 4.05 MiB) so writes,
truncates and holes exercise double-indirect blocks too.
"""
import json
import os
import re
import shutil
import subprocess
import time

import pytest

from lab import GUEST_PRELUDE, mkfs_mpagefs, run, sha256

OPS = int(os.environ.get("MPAGEFS_FSX_OPS", "50000"))
BLOCKS = [int(b) for b in os.environ.get("MPAGEFS_FSX_BLOCKS", "1024 2048 4096").split()]
SEED = 20261123  # plus the block size: each block size gets its own sequence
# file-size-max per block size: past the start of the double-indirect range.
FILE_SIZE_MAX = {1024: "512K", 2048: "2M", 4096: "6M"}
IMAGE_SIZE = {1024: "32M", 2048: "64M", 4096: "64M"}
# Seconds per 1,000 ops under TCG, with threefold headroom (measured: about 2).
SECONDS_PER_KOP = 6


def fsck_clean(mpagectl, image):
    p = run([mpagectl, "fsck", image], check=False)
    assert p.returncode == 0, f"fsck {image}:\n{p.stdout}{p.stderr}"


@pytest.mark.debug_kernel
@pytest.mark.parametrize("block_size", BLOCKS)
def test_fsx(block_size, vm, mpagectl, tmp_path, artefacts):
    src = tmp_path / "src"
    src.mkdir()
    (src / "fsx.dat").write_bytes(b"")  # fsx truncates it; no create needed
    image = mkfs_mpagefs(mpagectl, tmp_path / "fsx.img", src, block_size, IMAGE_SIZE[block_size])
    fsmax = FILE_SIZE_MAX[block_size]
    fsx_args = (f"-N {OPS} --seed {SEED + block_size} --maxlen 64K --file-size-max {fsmax} "
                f"--direct --direct-align {block_size}")
    script = GUEST_PRELUDE + f"""
mount -t mpagefs /dev/vdc /mnt/a
start=$(date +%s)
mpagectl fsx /mnt/a/fsx.dat {fsx_args} --progress 5000 --drop-caches --json > $OUT/fsx.json
echo "fsx seconds: $(( $(date +%s) - start ))"
sha256sum /mnt/a/fsx.dat
umount /mnt/a
"""
    # The same seed and options on the host (ext4 or tmpfs) must give the same
    # file: fsx's ops do not depend on the filesystem, so mpagefs has to end up
    # with exactly the bytes a reference filesystem has.  Runs while the VM does.
    ref = tmp_path / "fsx.ref"
    reference = subprocess.Popen([str(mpagectl), "fsx", str(ref), *fsx_args.split(), "--progress", "0"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    timeout = 120 + OPS * SECONDS_PER_KOP // 1000
    t0 = time.monotonic()
    try:
        r = vm(script, disks=[str(image)], timeout=timeout)
    finally:
        ref_err = reference.communicate()[1]
    wall = time.monotonic() - t0
    print(f"block size {block_size}: {OPS} ops, VM wall {wall:.0f} s\n{r.stdout}")
    assert r.status == 0, r.stdout
    assert "ops passed, file verified" in r.stdout, r.stdout
    assert "dropped caches" in r.stdout, r.stdout
    assert "O_DIRECT is not supported" not in r.stdout, r.stdout
    summary = json.loads((r.out / "fsx.json").read_text())
    assert summary["ok"] and summary["ops"] == OPS
    assert all(summary["counts"][k] > 0 for k in
               ("read", "write", "truncate", "mapread", "mapwrite", "dread", "dwrite"))

    # The image, after unmount, holds what the guest read back.
    guest_sha = re.search(r"^([0-9a-f]{64})  /mnt/a/fsx.dat$", r.stdout, re.M)
    assert guest_sha, r.stdout
    shutil.copy(image, artefacts / "fsx.img")
    host = tmp_path / "fsx.host"
    with open(host, "wb") as f:
        subprocess.run([str(mpagectl), "cat", str(image), "/fsx.dat"], check=True, stdout=f)
    assert sha256(host) == guest_sha.group(1)

    assert reference.returncode == 0, ref_err
    if "O_DIRECT is not supported" not in ref_err:  # else other ops: nothing to compare
        assert sha256(ref) == guest_sha.group(1)

    fsck_clean(mpagectl, image)



# --- mpagectl workload: each named workload, read back after a remount -------

WORKLOADS = {
    # name: extra options (sizes reach the double-indirect range at 1 KiB)
    "seq-write": "--size 3M --count 2",
    "rand-write": "--size 1M --chunk 4K",
    "append": "--size 2M --chunk 8K",
    "sparse-write": "--size 8M --chunk 4K",
    "many-small-files": "--count 300 --size 6K --chunk 2K",
}


def workload_files(report):
    return {f["name"]: f for f in report["files"]}


@pytest.mark.parametrize("block_size", [1024, 4096])
def test_workloads_read_back_after_remount(block_size, vm, mpagectl, tmp_path):
    """Every workload's files hold, after umount + drop_caches + mount, exactly
    the digests the workload reported; the image is clean in fsck and the
    host reads the same bytes from it."""
    image = mkfs_mpagefs(mpagectl, tmp_path / "w.img", None, block_size, "64M")
    runs = "\n".join(
        f"mkdir /mnt/a/{name}\n"
        f"mpagectl workload {name} /mnt/a/{name} --seed {i + 1} {opts} --json > $OUT/{name}.json"
        for i, (name, opts) in enumerate(WORKLOADS.items()))
    reads = "\n".join(f"mpagectl workload seq-read /mnt/a/{name} --json > $OUT/{name}.read.json"
                      for name in WORKLOADS)
    script = GUEST_PRELUDE + f"""
mount -t mpagefs /dev/vdc /mnt/a
{runs}
umount /mnt/a
echo 3 > /proc/sys/vm/drop_caches
mount -t mpagefs /dev/vdc /mnt/a
{reads}
umount /mnt/a
"""
    r = vm(script, disks=[str(image)], timeout=900)
    assert r.status == 0, r.stdout
    for name in WORKLOADS:
        wrote = json.loads((r.out / f"{name}.json").read_text())
        read = json.loads((r.out / f"{name}.read.json").read_text())
        assert wrote["workload"] == name and wrote["bytes"] > 0 and wrote["fsyncs"] == len(wrote["files"]) + 1
        print(f"{block_size}: {name}: {len(wrote['files'])} files, {wrote['bytes']} bytes, "
              f"{wrote['ops']} ops, {wrote['elapsed_ns'] / 1e6:.0f} ms")
        assert workload_files(read) == workload_files(wrote), name
    # The host's reader agrees with the guest on one file per workload.
    for name in WORKLOADS:
        wrote = json.loads((r.out / f"{name}.json").read_text())
        f = wrote["files"][0]
        data = subprocess.run([str(mpagectl), "cat", str(image), f"/{name}/{f['name']}"], check=True,
                              stdout=subprocess.PIPE).stdout
        assert len(data) == f["size"] and sha256(data) == f["sha256"], name
    fsck_clean(mpagectl, image)


def test_parallel_writers_leave_a_clean_image(vm, mpagectl, tmp_path):
    """Five workloads in one directory and fsx on a file next to them, all at
    once: every file reads back as reported after a remount, fsck is clean."""
    image = mkfs_mpagefs(mpagectl, tmp_path / "p.img", None, 1024, "64M")
    starts = "\n".join(
        f"mpagectl workload {name} /mnt/a/shared --seed {i + 11} {opts} --json > $OUT/{name}.json &\n"
        'pids="$pids $!"'
        for i, (name, opts) in enumerate(WORKLOADS.items()))
    script = GUEST_PRELUDE + f"""
mount -t mpagefs /dev/vdc /mnt/a
mkdir /mnt/a/shared
mpagectl fsx /mnt/a/shared/fsx.dat -N 5000 --seed 5 --file-size-max 1M --direct --progress 0 &
pids=$!
{starts}
fail=0
for pid in $pids; do wait $pid || fail=1; done
[ $fail = 0 ] || {{ echo "a writer failed"; exit 1; }}
umount /mnt/a
echo 3 > /proc/sys/vm/drop_caches
mount -t mpagefs /dev/vdc /mnt/a
mpagectl workload seq-read /mnt/a/shared --json > $OUT/read.json
umount /mnt/a
"""
    r = vm(script, disks=[str(image)], timeout=900)
    assert r.status == 0, r.stdout
    assert "5000 ops passed, file verified" in r.stdout, r.stdout
    read = workload_files(json.loads((r.out / "read.json").read_text()))
    expected = {}
    for name in WORKLOADS:
        expected.update(workload_files(json.loads((r.out / f"{name}.json").read_text())))
    assert len(expected) == 2 + 1 + 1 + 1 + 300
    assert set(read) == set(expected) | {"fsx.dat"}
    for name, f in expected.items():
        assert read[name] == f, name
    fsck_clean(mpagectl, image)
