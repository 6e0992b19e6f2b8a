"""Hostile images: mutated images mounted, walked and written, without a crash.

`make check` runs 50 seeds per block size (100 images per kernel), `make
check-long` 250 (MPAGEFS_HOSTILE_SEEDS=250: 500 images), the debug kernel 60 at
1 KiB (KASAN makes each image ~10x slower).

Each block size (1 KiB, 4 KiB) gets one VM boot that runs SEEDS images: for seed
s, the pristine image (disk vdc) is copied onto the work disk (vdd), `mpagectl
mutate /dev/vdd --seed s` corrupts one thing (a superblock field, a bitmap bit,
an inode field or block pointer, an indirect chain made to loop, a directory
record), and tests/vm/hostile.c mounts it ro and then rw, walks every file and
directory (lstat, readdir, readlink, read, a read near the end of a huge file),
writes a little on rw (create + fsync, append, rename, unlink, mkdir, rmdir) and
unmounts.  The host splits the kernel log at hostile.c's marks, so every seed
is one test (`test_hostile_image[1k-seed17]`); to replay seed 17:

    build/artefacts/hostile-1k/base.img is the pristine image;
    cp base.img x.img && build/mpagectl mutate x.img --seed 17 && mount it

Asserted per seed:
- the kernel log of that seed has no oops/BUG/WARNING/hung task/... line
  (qemu/vm.py's KERNEL_LOG_PATTERNS) and the seed finished (a hang or crash
  leaves the later seeds unfinished, and they fail too);
- every failed system call failed with an errno in ALLOWED_ERRNOS;
- every error line of mpagefs names the inode, the block or the superblock
  field it is about;
- when the rw mount logged corruption of an inode, the superblock on the
  device has MPAGEFS_STATE_ERRORS after the unmount (fsck and the next mount
  learn of it);
- the guest's mutation is the host's replay of the same seed (replayable), and
  `mpagectl fsck` on the host reports a problem whenever the mutator says the
  mutation is detectable (the undetectable ones, by construction: timestamps,
  owners, permission bits, the reserved i_flags, s_mount_count and the other
  informational superblock fields, a rename, a regular file's size moved past
  its last block; tests/unit/test_mutate.cpp checks the same on 3000 seeds).
"""
import json
import os
import re
import shutil
import sys
from pathlib import Path

import pytest

from lab import GUEST_PRELUDE, build_static, fsck, mkfs_mpagefs, rand_bytes, run

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "qemu"))
from vm import KernelLogError, VmError, artefacts_root, kernel_log_problems, run_vm  # noqa: E402

# Per block size (see the module doc).
SEEDS = int(os.environ.get("MPAGEFS_HOSTILE_SEEDS",
                           "60" if os.environ.get("MPAGEFS_KERNEL") == "debug" else "50"))
pytestmark = pytest.mark.hostile
BLOCK_SIZES = {"1k": 1024, "4k": 4096}

# errno values an application may see from a corrupt image, and why:
ALLOWED_ERRNOS = {
    "EUCLEAN",    # corruption found in an inode, pointer or directory record
    "EIO",        # what fs/mpage.c and the buffer cache report for a failed mapping/read
    "EINVAL",     # mount(2) of a superblock the VFS or we refuse
    "ENOENT",     # a name that a corrupt or freed directory record no longer resolves
    "ENOTDIR",    # a directory entry whose inode turned into a non-directory
    "EISDIR",     # ... or the reverse
    "ELOOP",      # a directory reached twice (a cycle), refused by d_splice_alias
    "ESTALE",     # an entry naming an inode that is free
    "ENOSPC",     # a bitmap that claims the blocks or inodes are all used
    "EFBIG",      # appending to a file whose (mutated) size is at the limit
    "EMLINK",     # a directory whose link count was set to the maximum
    "EEXIST",     # a create racing with a name a mutated record brought in
    "ENOTEMPTY",  # rmdir of a directory whose records were damaged
    "EROFS",      # a read-write mount refused (unknown ro_compat feature, errors)
}

# A line of mpagefs's about a problem names what it is about.
# (At mount time the object is the superblock: the line names its field or the
# region it describes.)
NAMES_ITS_OBJECT = re.compile(r"\binode \d+|\bblock \d+|\bs_[a-z_]+|superblock|root|"
                              r"feature|block size|checksum|magic|version|bitmap|inode table|"
                              r"inodes|blocks|cleanly unmounted|errors", re.I)
INODE_ERROR = re.compile(r"mpagefs \(vdd\): inode \d+: ")
MARK = re.compile(r"hostile: seed (\d+) mode (ro|rw)")


def base_tree(src: Path):
    """IND at 4 KiB and DIND at 1 KiB, nested directories, symlinks, a hole."""
    src.mkdir()
    (src / "f17").write_bytes(rand_bytes(17 * 1024, 1))
    (src / "f300").write_bytes(rand_bytes(300 * 1024, 2))
    (src / "f5000").write_bytes(rand_bytes(5000 * 1024 // 10, 3))
    (src / "empty").write_bytes(b"")
    os.symlink("f17", src / "link")
    os.symlink("x" * 100, src / "slow")
    (src / "sub" / "deeper").mkdir(parents=True)
    (src / "sub" / "a").write_bytes(b"alpha\n")
    (src / "sub" / "b").write_bytes(b"beta\n")
    (src / "sub" / "deeper" / "c").write_bytes(b"gamma\n")
    with open(src / "sparse", "wb") as f:
        f.truncate(100 * 1024)
        f.seek(50 * 1024)
        f.write(b"middle")


@pytest.fixture(scope="session")
def hostile_exe(build):
    return build_static(HERE / "hostile.c", build / "hostile")


def host_replay(mpagectl, base: Path, work: Path, seed: int):
    """The host's replay of a seed: the mutation (JSON) and fsck's verdict."""
    shutil.copyfile(base, work)
    mut = json.loads(run([mpagectl, "mutate", work, "--seed", seed, "--json"]).stdout)
    rc, out = fsck(mpagectl, work)
    return mut["mutations"], rc, out


class Run:
    """One boot's results, split per seed."""

    def __init__(self, bs, base, stdout, console, problems, error):
        self.bs, self.base, self.error = bs, base, error
        self.err = {}        # seed -> [(mode, op, errno, path)]
        self.done = {}       # seed -> {mode: mounted}
        self.mut = {}        # seed -> description printed in the guest
        self.state = {}      # seed -> s_state after the rw unmount
        for line in stdout.splitlines():
            p = line.split()
            if p[:1] == ["ERR"] and len(p) >= 6:
                self.err.setdefault(int(p[1]), []).append((p[2], p[3], p[4], " ".join(p[5:])))
            elif p[:1] == ["DONE"] and len(p) >= 4:
                self.done.setdefault(int(p[1]), {})[p[2]] = p[3] == "mounted=1"
            elif p[:1] == ["STATE"] and len(p) == 3:
                self.state[int(p[1])] = int(p[2], 16)
            elif p[:1] == ["MUT"] and len(p) >= 2:
                self.mut[int(p[1])] = " ".join(p[2:])
        self.klog = {}       # seed -> kernel lines after its marks
        self.klog_rw = {}    # seed -> the lines of its rw mount
        seed = mode = None
        for line in console.splitlines():
            m = MARK.search(line)
            if m:
                seed, mode = int(m.group(1)), m.group(2)
                continue
            if "hostile: end" in line:
                seed = None
                continue
            if seed is not None:
                self.klog.setdefault(seed, []).append(line.rstrip())
                if mode == "rw":
                    self.klog_rw.setdefault(seed, []).append(line.rstrip())
        self.problems = problems


_runs = {}


@pytest.fixture(scope="module")
def hostile_run(build, mpagectl, hostile_exe, tmp_path_factory):
    def get(name):
        if name in _runs:
            return _runs[name]
        bs = BLOCK_SIZES[name]
        out = artefacts_root(build) / f"hostile-{name}"
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        tmp = tmp_path_factory.mktemp(f"hostile{name}")
        base_tree(tmp / "src")
        base = mkfs_mpagefs(mpagectl, out / "base.img", tmp / "src", bs, "2M")
        work = tmp / "work.img"
        shutil.copyfile(base, work)
        script = GUEST_PRELUDE + f"""set +e
for s in $(seq 0 {SEEDS - 1}); do
	dd if=/dev/vdc of=/dev/vdd bs=64k 2>/dev/null || {{ echo "DDFAIL $s"; exit 1; }}
	echo "MUT $s $(mpagectl mutate /dev/vdd --seed $s 2>&1 | tr '\\n' ' ')"
	/job/hostile /dev/vdd /mnt/a $s || exit 1
done
echo ALLDONE
"""
        error = None
        try:
            r = run_vm(build, script, disks=[str(base), str(work)],
                       files={"hostile": hostile_exe}, out_dir=out / "vm",
                       timeout=60 + 4 * SEEDS)
        except KernelLogError as e:
            r, error = e.result, str(e)
        except VmError as e:
            r, error = e.result, str(e)
            if r is None:
                raise
        console = r.console.read_text(errors="replace") if r.console.exists() else ""
        _runs[name] = Run(bs, base, r.stdout, console, kernel_log_problems(console), error)
        return _runs[name]
    return get


@pytest.mark.debug_kernel
@pytest.mark.parametrize("name", list(BLOCK_SIZES))
def test_hostile_boot(hostile_run, name):
    """The boot as a whole: every seed ran, and the kernel log is clean."""
    r = hostile_run(name)
    assert not r.problems, "kernel log problems:\n" + "\n".join(r.problems[:40])
    assert r.error is None, r.error
    missing = [s for s in range(SEEDS) if set(r.done.get(s, {})) != {"ro", "rw"}]
    assert not missing, f"seeds not finished: {missing[:20]}"


@pytest.mark.debug_kernel
@pytest.mark.parametrize("seed", range(SEEDS), ids=lambda s: f"seed{s}")
@pytest.mark.parametrize("name", list(BLOCK_SIZES))
def test_hostile_image(hostile_run, mpagectl, tmp_path, name, seed):
    r = hostile_run(name)
    klog = r.klog.get(seed, [])
    bad = kernel_log_problems("\n".join(klog))
    assert not bad, f"seed {seed}: kernel log:\n" + "\n".join(klog[:60])
    assert set(r.done.get(seed, {})) == {"ro", "rw"}, \
        f"seed {seed} did not finish (hang or crash; see the hostile-{name} artefacts)"
    wrong = [e for e in r.err.get(seed, []) if e[2] not in ALLOWED_ERRNOS]
    assert not wrong, f"seed {seed} ({r.mut.get(seed)}): unexpected errors {wrong}"
    unnamed = [l for l in klog if "mpagefs (vdd):" in l
               and not NAMES_ITS_OBJECT.search(l.split("mpagefs (vdd):", 1)[1])]
    assert not unnamed, f"seed {seed}: log lines that name no inode or block: {unnamed}"
    # Corruption met on a read-write mount is recorded on disk (as ext2_error).
    # (mpagefs_inode_error's lines: "mpagefs (vdd): inode N: ...")
    if r.done[seed]["rw"] and any(INODE_ERROR.search(l) for l in r.klog_rw.get(seed, [])):
        assert r.state.get(seed, 0) & 0x2, \
            f"seed {seed}: errors logged on the rw mount, s_state {r.state.get(seed)} lacks ERRORS"
    muts, rc, fsck_out = host_replay(mpagectl, r.base, tmp_path / "x.img", seed)
    host = " ".join(f"seed {seed}: {m['description']}" for m in muts)
    assert r.mut.get(seed, "").strip() == host.strip(), "guest and host mutations differ"
    if any(m["detectable"] for m in muts):
        assert rc != 0, f"seed {seed}: fsck found nothing after {host}:\n{fsck_out}"
