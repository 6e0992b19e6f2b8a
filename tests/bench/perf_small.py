#!/usr/bin/python3
"""Profile the small-files cold read-back (or their creation) with perf(1) in the VM, per peer.

    /usr/bin/python3 tests/bench/perf_small.py [--build build] [--out build/bench-perf]
        [--files 3000] [--peers mpagefs-4k,ext2-4k] [--phase read|create]

Debian's linux-perf (the host's /usr/bin/perf, the same 6.1 series as the
guest kernel) is packed with the shared libraries ldd names into a second
cpio archive appended to the project's initramfs (the kernel unpacks
concatenated archives), so the project's initramfs stays as it is.  In the
guest, each peer gets the same files (mpagectl workload many-small-files),
is remounted, and `mpagectl workload seq-read` runs under
`perf record -e cpu-clock -a -g` (TCG has no PMU: the software clock
samples every CPU). With --phase create the creation itself runs under it;
--big-mib writes a big file first. `perf report --stdio` writes the profile, symbols from
/proc/kallsyms (the modules' too), to OUT/vm/out/perf.PEER.txt.
"""
import argparse
import gzip
import re
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
TOP = HERE.parents[1]
sys.path.insert(0, str(TOP / "qemu"))
from vm import run_vm  # noqa: E402


def perf_overlay(out):
    """A gzip'ed newc cpio of /usr/bin/perf and its libraries."""
    root = out / "perf-root"
    shutil.rmtree(root, ignore_errors=True)
    files = [Path("/usr/bin/perf")]
    for line in subprocess.run(["ldd", "/usr/bin/perf"], check=True, text=True,
                               capture_output=True).stdout.splitlines():
        m = re.search(r"(?:=>\s*)?(/\S+)\s+\(0x", line)
        if m:
            files.append(Path(m.group(1)))
    for f in files:
        dest = root / str(f).lstrip("/")
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(f.resolve(), dest)
        dest.chmod(0o755)
    names = "\n".join(str(p.relative_to(root)) for p in sorted(root.rglob("*"))) + "\n"
    cp = subprocess.run(["cpio", "-o", "-H", "newc", "--quiet"], cwd=root, input=names.encode(),
                        check=True, capture_output=True).stdout
    return gzip.compress(cp, 6)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=str(TOP / "build"))
    ap.add_argument("--out", default=None)
    ap.add_argument("--files", type=int, default=3000)
    ap.add_argument("--peers", default="mpagefs-4k,ext2-4k")
    ap.add_argument("--big-mib", type=int, default=0,
                    help="write a file of this many MiB first, remount, then profile (as make bench's disks hold "
                         "its big file before the small files)")
    ap.add_argument("--phase", choices=("read", "create"), default="read",
                    help="profile the cold read-back (default) or the create+write+fsync")
    a = ap.parse_args()
    build = Path(a.build).resolve()
    out = Path(a.out).resolve() if a.out else build / "bench-perf"
    pb = out / "build"
    pb.mkdir(parents=True, exist_ok=True)
    for f in ("mpagectl", "mpagefs.ko", "ext2.ko"):
        shutil.copy(build / f, pb / f)
    (pb / "initramfs.cpio.gz").write_bytes((build / "initramfs.cpio.gz").read_bytes() + perf_overlay(out))
    mpagectl = build / "mpagectl"
    disks, script = [], ["set -e", "mkdir -p $OUT"]
    disk = f"{256 + 2 * a.big_mib}M"
    for i, name in enumerate(a.peers.split(",")):
        fs, bs = name.split("-")
        img = out / f"{name}.img"
        img.unlink(missing_ok=True)
        blk = int(bs[:-1]) * 1024
        if fs == "mpagefs":
            subprocess.run([mpagectl, "mkfs", "--block-size", str(blk), "--size", disk, "--inodes",
                            str(a.files + 100), img], check=True, capture_output=True)
        else:
            subprocess.run(["truncate", "-s", disk, img], check=True)
            subprocess.run(["mkfs.ext2", "-q", "-F", "-b", str(blk), "-I", "128", "-N", str(a.files + 100),
                            img], check=True)
        disks.append(img)
        dev = "/dev/vd" + chr(ord("c") + i)
        m = f"/mnt/{name}"
        record = f"perf record -q -e cpu-clock -a -g -o $OUT/perf.{name}.data -- "
        create = f"mpagectl workload many-small-files {m}/s --count {a.files} --size 4K --seed 1"
        script += [f"mkdir -p {m} && mount -t {fs} {dev} {m}"]
        if a.big_mib:
            script += [f"dd if=/dev/zero of={m}/big bs=1M count={a.big_mib} 2>/dev/null && sync",
                       f"umount {m} && mount -t {fs} {dev} {m}"]
        script += [f"mkdir {m}/s"]
        if a.phase == "create":
            script += [f"{record}{create} --json > $OUT/create.{name}.json",
                       f"grep -m1 elapsed_ns $OUT/create.{name}.json"]
        else:
            script += [
                f"{create} > /dev/null",
                f"umount {m} && mount -t {fs} {dev} {m} && sync && echo 3 > /proc/sys/vm/drop_caches",
                f"{record}mpagectl workload seq-read {m}/s --chunk 64K --json > $OUT/seq-read.{name}.json",
                f"grep -m1 elapsed_ns $OUT/seq-read.{name}.json"]
        script += [
            f"perf report -q -i $OUT/perf.{name}.data --stdio --no-children --sort sym "
            f"--percent-limit 0.5 -g none > $OUT/perf.{name}.txt 2>&1 || true",
            f"rm -f $OUT/perf.{name}.data",
            f"umount {m}",
        ]
    r = run_vm(pb, "\n".join(script) + "\n", disks=disks, out_dir=out / "vm", timeout=3600,
               mem="2G", check=True)
    print(r.stdout)
    for name in a.peers.split(","):
        f = out / "vm" / "out" / f"perf.{name}.txt"
        if f.exists():
            print(f"--- {name}: {f}")
            print("\n".join(f.read_text().splitlines()[:40]))


if __name__ == "__main__":
    main()
