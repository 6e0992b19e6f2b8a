#!/usr/bin/env python3
"""shell.py - `make shell`: the test VM as an interactive shell, with a formatted
mpagefs disk (build/shell.img) mounted read-only at /mnt.

The image is made once (delete it, or pass --rebuild, to get a fresh one) with
    build/mpagectl mkfs --block-size 1024 --size 64M --populate build/shell-sample IMG
from a small sample tree: a few text files from /usr/share/doc, a 17-block file laid
out like fs/mpage.c's comment (data 0-11, IND, data 12-16) and one that needs a
double-indirect block.  The VM is the one the tests use (qemu/vm.py, mode "shell"):
same kernel, initramfs, modules, disk order (the image is /dev/vdc).
Ctrl-A X quits QEMU; `poweroff -f` (or leaving the shell) stops the VM.
"""
import argparse
import random
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from vm import VmError, run_shell  # noqa: E402

BLOCK = 1024

GUEST_SETUP = r"""
if mount -t mpagefs -o ro /dev/vdc /mnt; then
	mounted="/dev/vdc is mounted read-only at /mnt (mount -t mpagefs -o ro /dev/vdc /mnt)"
else
	mounted="mounting /dev/vdc FAILED (see dmesg); try: mount -t mpagefs -o ro /dev/vdc /mnt"
fi
cat <<EOF

==================== mpagefs shell ====================
$mounted
Things to try:
  ls -l /mnt; cat /mnt/README
  echo 3 > /proc/sys/vm/drop_caches          # cold page cache before a read
  mpagectl trace -d /dev/vdc -o /tmp/t -- cat /mnt/seventeen-blocks.bin >/dev/null
                                             # blktrace through the ioctl interface
  mpagectl --help                            # decode / explain / check the capture
  cat /sys/fs/mpagefs/*/stats                # get_block counters of the mount
  umount /mnt; mount -t mpagefs -o ro,boundary=off,maxmap=1 /dev/vdc /mnt
  dmesg | tail; dmesg -n 1                   # kernel log; quieten the console
Leave with: poweroff -f   (or Ctrl-A X)
=======================================================
EOF
"""

README = """mpagefs sample tree (made by qemu/shell.py on the host)

seventeen-blocks.bin  17 blocks of 1 KiB: data 0-11 in the inode's direct
                      pointers, then the indirect block, then data 12-16; the
                      example in fs/mpage.c's comment ("12 0 1 2 ... 11 13 14 15 16")
double-indirect.bin   300 blocks: direct, indirect and double-indirect mapped
doc/                  a few text files copied from /usr/share/doc
"""


def make_sample(dest):
    """The tree --populate copies in.  File contents are deterministic."""
    shutil.rmtree(dest, ignore_errors=True)
    (dest / "doc").mkdir(parents=True)
    (dest / "README").write_text(README)
    rnd = random.Random(17)
    (dest / "seventeen-blocks.bin").write_bytes(rnd.randbytes(17 * BLOCK))
    (dest / "double-indirect.bin").write_bytes(rnd.randbytes(300 * BLOCK))
    copied = 0
    for src in sorted(Path("/usr/share/doc").glob("*/copyright")):
        if src.is_file() and src.stat().st_size < 64 * 1024:
            shutil.copyfile(src, dest / "doc" / f"{src.parent.name}.copyright")
            copied += 1
            if copied == 8:
                break


def make_image(build, image):
    mpagectl = build / "mpagectl"
    if not mpagectl.exists():
        raise SystemExit(f"shell.py: {mpagectl} missing (make userspace)")
    sample = build / "shell-sample"
    make_sample(sample)
    tmp = image.with_name(image.name + ".tmp")
    tmp.unlink(missing_ok=True)
    cmd = [str(mpagectl), "mkfs", "--block-size", str(BLOCK), "--size", "64M",
           "--populate", str(sample), str(tmp)]
    print("shell.py: " + " ".join(cmd))
    if subprocess.run(cmd).returncode != 0:
        tmp.unlink(missing_ok=True)
        raise SystemExit("shell.py: mpagectl mkfs failed")
    tmp.replace(image)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default=str(HERE.parent / "build"))
    ap.add_argument("--image", help="mpagefs image to mount (default build/shell.img, "
                    "made on first use)")
    ap.add_argument("--rebuild", action="store_true", help="remake build/shell.img")
    ap.add_argument("--mem", default="1G")
    ap.add_argument("--module", action="append", default=[],
                    help="extra module to load (e.g. vfat, dm-flakey)")
    args = ap.parse_args()
    build = Path(args.build).resolve()

    image = Path(args.image) if args.image else build / "shell.img"
    if not args.image and (args.rebuild or not image.exists()):
        make_image(build, image)
    print(f"shell.py: booting the VM with {image} as /dev/vdc (Ctrl-A X quits QEMU)")
    try:
        sys.exit(run_shell(build, [image], GUEST_SETUP, mem=args.mem, modules=args.module))
    except VmError as e:
        raise SystemExit(f"shell.py: {e}")


if __name__ == "__main__":
    main()
