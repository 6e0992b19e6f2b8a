#!/usr/bin/env python3
"""make demo: the BH_Boundary example of fs/mpage.c's comment, measured in a VM.

A 17-block file at 1 KiB blocks, laid out data 0-11, IND, data 12-16, is read
cold on mpagefs with boundary=on and boundary=off and on ext2 (built from the
kernel's own linux-source) on the same layout, with blktrace running, once per
kernel (--kernel SERIES=BUILD, default: Debian 12's 6.1 and, when built, 6.12
from bookworm-backports; one VM boot each). The queued bios are explained
against each image's metadata and printed side by side in the notation of the
comment.
"""
import os
import argparse
import shutil
import sys
from pathlib import Path

TOP = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TOP / "qemu"))
sys.path.insert(0, str(TOP / "tests" / "vm"))
from lab import (GUEST_PRELUDE, block_map, mkfs_ext2, mkfs_mpagefs,  # noqa: E402
                 notation, parse_stats, rand_bytes, run, sha256)
from vm import run_vm  # noqa: E402

SCRIPT = GUEST_PRELUDE + r"""
for b in on off; do
	mount -t mpagefs -o ro,boundary=$b /dev/vdc /mnt/a
	echo 1 > /sys/fs/mpagefs/vdc/reset
	trace_read /dev/vdc /mnt/a/f17 mpagefs-boundary-$b
	echo "== stats $b"
	stats /dev/vdc
	sha256sum /mnt/a/f17
	umount /mnt/a
done
mount -t ext2 -o ro /dev/vdd /mnt/b
trace_read /dev/vdd /mnt/b/f17 ext2
umount /mnt/b
"""


def read_seed(kernel, build, mpagectl, demo, mp, e2, content):
    """One boot of KERNEL (a series): the three cold reads; (VmResult, out dir)."""
    os.environ["MPAGEFS_KERNEL_SERIES"] = kernel      # qemu/vm.py boots this series
    r = run_vm(build=str(build), script=SCRIPT, disks=[str(mp), str(e2)],
               out_dir=str(demo / f"vm-{kernel}"), timeout=300)
    if r.status != 0:
        print(r.stdout)
        sys.exit(f"demo: the guest script failed on {kernel} (status {r.status}); "
                 f"see {demo / f'vm-{kernel}'}")
    if r.stdout.count(sha256(content)) != 2:
        sys.exit(f"demo: /f17 did not read back correctly on {kernel}")
    return r, Path(r.out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default=str(TOP / "build"),
                    help="where mpagectl and the demo's files are (default build/)")
    ap.add_argument("--kernel", action="append", metavar="SERIES=BUILD",
                    help="a kernel series and the build directory of its modules and "
                         "initramfs (repeatable; default 6.1=build and, if built, "
                         "6.12=build/k6.12)")
    args = ap.parse_args()
    build = Path(args.build)
    kernels = dict(k.split("=", 1) for k in args.kernel) if args.kernel else \
        {"6.1": str(build), **({"6.12": str(build / "k6.12")}
                               if (build / "k6.12" / "initramfs.cpio.gz").exists() else {})}
    mpagectl = build / "mpagectl"
    demo = build / "demo"
    if demo.exists():
        shutil.rmtree(demo)
    src = demo / "src"
    src.mkdir(parents=True)
    content = rand_bytes(17 * 1024, seed=17)
    (src / "f17").write_bytes(content)
    mp = mkfs_mpagefs(mpagectl, demo / "mpagefs.img", src, 1024, "8M")
    e2 = mkfs_ext2(demo / "ext2.img", {"f17": src / "f17"}, 1024, "8M")

    print("mpagefs demo: the BH_Boundary example of fs/mpage.c, measured in a QEMU VM")
    m = block_map(mpagectl, mp, "/f17")
    first = min([r["physical"] for r in m["runs"]] + [i["physical"] for i in m["indirect"]])
    print(f"  /f17: 17 blocks of 1 KiB at disk blocks {first}-{first + 17}: "
          "data 0-11, IND, data 12-16 (as in the comment)")
    runs = {}
    for kernel, kbuild in kernels.items():
        print(f"  booting Debian's {kernel} kernel (TCG), reading /f17 cold three times "
              "under blktrace ...", flush=True)
        runs[kernel] = read_seed(kernel, Path(kbuild), mpagectl, demo, mp, e2, content)

    rows = [
        ("mpagefs boundary=on", mp, "mpagefs-boundary-on"),
        ("mpagefs boundary=off", mp, "mpagefs-boundary-off"),
        ("ext2 (reference)", e2, "ext2"),
    ]
    print()
    print("  Bios queued for /f17, in submit order; numbers are disk blocks relative to")
    print("  the file's first block (12 is the indirect block), one [...] per bio:")
    print()
    for label, img, prefix in rows:
        for kernel, (r, out) in runs.items():
            print(f"  {kernel:<5} {label:<22} {notation(mpagectl, img, out / prefix, '/f17')}")
    print()
    print('  mpage.c\'s comment (16 data blocks there, 17 here): without the boundary hint')
    print('  the order is "12 0 1 2 3 4 5 6 7 8 9 10 11 13 14 15 16": the indirect block')
    print('  is read, and waited for, before the data that precedes it on disk.')
    print()
    for kernel, (r, out) in runs.items():
        stats = {}
        for part in r.stdout.split("== stats ")[1:]:
            b, body = part.split("\n", 1)
            stats[b] = parse_stats(body)
        for b in ("on", "off"):
            s = stats.get(b, {})
            print(f"  {kernel:<5} get_block (boundary={b}): {s.get('get_block_calls')} calls, "
                  f"{s.get('blocks_mapped')} blocks mapped, {s.get('boundary_set')} boundary hints")
    kernel, (r, out) = next(iter(runs.items()))
    print()
    print(f"  Explained, mpagefs boundary=on on {kernel} (every queued bio, all of the device):")
    txt = run([mpagectl, "explain", mp, out / "mpagefs-boundary-on",
               "--actions", "Q"]).stdout
    for line in txt.splitlines():
        print("    " + line)
    for kernel, (r, out) in runs.items():
        for label, img, prefix in rows:
            (demo / f"{kernel}-{prefix}.explain.txt").write_text(
                run([mpagectl, "explain", img, out / prefix]).stdout)
    print()
    print(f"  Artefacts in {demo}:")
    print(f"    traces (blktrace format, blkparse -i <prefix>): {demo}/vm-<kernel>/out/<name>.blktrace.*")
    print(f"    explanations: {demo}/<kernel>-*.explain.txt")
    print(f"    kernel logs: {demo}/vm-<kernel>/console.log")


if __name__ == "__main__":
    main()
