#!/usr/bin/env python3
"""mkinitramfs.py - build the initramfs the test VM boots (build/initramfs.cpio.gz).

Contents:
  /init                    qemu/init (mounts, loads modules, runs the job, powers off)
  /bin/loadmod             qemu/loadmod (loads a module and its dependencies)
  busybox-static           with every applet linked at its usual path
  /lib/modules/mpagevm/    the .ko files: the virtio stack and our modules (loaded at
                           boot), plus dm-mod, dm-flakey, loop, fat, vfat and two NLS tables
                           that a job loads on request (`loadmod vfat` or run_vm(modules=));
                           compressed modules (6.12's .ko.xz) are shipped decompressed,
                           so busybox's insmod loads them all
  /etc/mpagevm/modules     one line per loadable module: "name file..." with the files in
                           load order (dependencies first; a leading '?' marks a soft
                           dependency whose failure is tolerated, e.g. crc32c-intel on a
                           CPU without SSE4.2)
  /etc/mpagevm/boot        the module names /init loads at boot, in order
  /usr/bin/mpagectl        build/mpagectl with the shared libraries and loader ldd names
  /usr/sbin/blktrace, /usr/sbin/dmsetup  Debian's, with their libraries
  /usr/bin/setpriv         util-linux's (busybox's /bin/setpriv lacks --bounding-set)

Modules the kernel has built in are written as "name =builtin" in /etc/mpagevm/modules,
which loadmod accepts without loading anything: Debian's 6.12 has the whole virtio stack
but virtio_blk built in (modules.builtin of /lib/modules/KVER), 6.1 has it as modules.

The cpio archive is written here in Python (newc format) so that /dev/console can be a
device node without needing mknod on the host, and so the archive is reproducible
(sorted entries, fixed mtimes).

--kernel-tree TREE builds the initramfs for a kernel built from source (the debug kernel
of qemu/debug-kernel/build.sh) instead of Debian's: modules come from TREE, and modules
listed in TREE/modules.builtin (virtio, dm, ext2, vfat... in the debug kernel) are written
as "name =builtin" in /etc/mpagevm/modules, which loadmod accepts without loading
anything.  --mpagectl names the mpagectl binary when it is not in --build.

Modules built by this project (build/mpagefs.ko, build/ext2.ko) and build/mpagectl are
optional at build time: a missing one is skipped with a warning, so the harness itself
works while they are being developed.
"""
import argparse
import gzip
import lzma
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent

# Loaded at boot, in this order (each also pulls in its own dependencies).
BOOT_KERNEL_MODULES = ["virtio_ring", "virtio", "virtio_pci_modern_dev",
                       "virtio_pci_legacy_dev", "virtio_pci", "virtio_blk"]
# Built by this project; loaded at boot after the virtio stack when present.
BOOT_BUILD_MODULES = ["ext2", "mpagefs"]
# Shipped but loaded only when a job asks for them.
ON_REQUEST_MODULES = ["dm-mod", "dm-flakey", "loop", "fat", "vfat", "nls_cp437", "nls_iso8859-1"]

MOD_DIR = "lib/modules/mpagevm"
# Module file suffixes: plain, and the compressions kmod knows (Debian's 6.12 uses xz).
KO_SUFFIXES = (".ko", ".ko.xz", ".ko.gz", ".ko.zst")


def warn(msg):
    print(f"mkinitramfs: warning: {msg}", file=sys.stderr)


def run(cmd):
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


def is_ko(path):
    return str(path).endswith(KO_SUFFIXES)


def ko_name(path):
    """The uncompressed file name of module PATH: dm-mod.ko.xz -> dm-mod.ko."""
    name = Path(path).name
    return name[:name.rindex(".ko") + 3]


def ko_bytes(path):
    """The contents of module PATH, decompressed."""
    name = str(path)
    if name.endswith(".ko.xz"):
        return lzma.decompress(Path(path).read_bytes())
    if name.endswith(".ko.gz"):
        return gzip.decompress(Path(path).read_bytes())
    if name.endswith(".ko.zst"):
        if not shutil.which("zstd"):
            raise SystemExit(f"mkinitramfs: {path} is zstd-compressed: apt-get install zstd")
        return subprocess.run(["zstd", "-dc", name], check=True, capture_output=True).stdout
    return Path(path).read_bytes()


class Modules:
    """Resolves module names to files and their dependency closure (modinfo)."""

    def __init__(self, kver, build, tree=None):
        self.kver = kver
        self.build = build
        self.tree = tree
        self.files = {}  # module name -> Path of the .ko
        self.builtin = set()
        self.tree_files = {}  # module name -> Path, for modules of TREE
        # modules.builtin lists the built-in modules as kernel/.../NAME.ko (a Debian
        # kernel's in /lib/modules/KVER, the tree's at its top).
        builtin = (tree or Path("/lib/modules") / kver) / "modules.builtin"
        if tree or builtin.exists():
            for line in builtin.read_text().split():
                self.builtin.add(self.norm(Path(line).name.removesuffix(".ko")))
        if tree:
            for line in (tree / "modules.order").read_text().split():
                ko = tree / line.replace(".o", ".ko") if line.endswith(".o") else tree / line
                self.tree_files[self.norm(ko.name.removesuffix(".ko"))] = ko

    @staticmethod
    def norm(name):
        return name.replace("-", "_")

    def is_builtin(self, name):
        return self.norm(name) in self.builtin

    def path(self, name):
        """Path of module NAME: build/NAME.ko for our own, else the kernel package's."""
        if name not in self.files:
            own = self.build / f"{name}.ko"
            if name in BOOT_BUILD_MODULES and own.exists():
                self.files[name] = own
            elif self.tree:
                ko = self.tree_files.get(self.norm(name))
                if not ko or not ko.exists():
                    raise SystemExit(f"mkinitramfs: module {name} is neither built in nor "
                                     f"built as a module in {self.tree}")
                self.files[name] = ko
            else:
                out = run(["modinfo", "-k", self.kver, "-n", name]).split()
                if not out or not is_ko(out[0]):
                    raise SystemExit(f"mkinitramfs: module {name} not found for {self.kver}")
                self.files[name] = Path(out[0])
        return self.files[name]

    def _field(self, path, field):
        return run(["modinfo", "-F", field, str(path)]).strip()

    def _softdep_pre(self, path):
        """Modules named in 'softdep: pre: ...' lines (libcrc32c needs crc32c)."""
        names = []
        for line in self._field(path, "softdep").splitlines():
            m = re.match(r"\s*pre:\s*(.*?)(\s+post:.*)?$", line)
            if m:
                names += m.group(1).split()
        return names

    def closure(self, name):
        """[(optional, Path)] to insmod for NAME, dependencies first, no repeats."""
        order = []
        seen = set()

        def visit(path, optional, stack):
            if path in seen:
                return
            if path in stack:
                raise SystemExit(f"mkinitramfs: dependency cycle at {path}")
            stack = stack | {path}
            # Softdep aliases resolve through modinfo -k (Debian's tree only).
            for alias in ([] if self.tree else self._softdep_pre(path)):
                # An alias may resolve to several modules (crc32c -> crc32c-intel and
                # crc32c_generic): ship all, try all, tolerate failures.
                for p in run(["modinfo", "-k", self.kver, "-n", alias]).split():
                    if is_ko(p):
                        visit(Path(p), True, stack)
            deps = self._field(path, "depends")
            for dep in filter(None, deps.split(",")):
                if not self.is_builtin(dep):
                    visit(self.path(dep), optional, stack)
            seen.add(path)
            order.append((optional, path))

        visit(self.path(name), False, set())
        return order


class Cpio:
    """Minimal writer of the 'newc' cpio format the kernel unpacks."""

    def __init__(self):
        self.entries = {}  # archive path -> (mode, data bytes, rdev)

    def add_dir(self, path, mode=0o755):
        parts = Path(path).parts
        for i in range(1, len(parts) + 1):
            self.entries.setdefault("/".join(parts[:i]), (stat.S_IFDIR | mode, b"", 0))

    def _parent(self, path):
        parent = str(Path(path).parent)
        if parent != ".":
            self.add_dir(parent)

    def add_file(self, path, data, mode=0o644):
        self._parent(path)
        self.entries[path] = (stat.S_IFREG | mode, data, 0)

    def add_symlink(self, path, target):
        self._parent(path)
        self.entries[path] = (stat.S_IFLNK | 0o777, target.encode(), 0)

    def add_chardev(self, path, major, minor, mode=0o600):
        self._parent(path)
        self.entries[path] = (stat.S_IFCHR | mode, b"", os.makedev(major, minor))

    def write(self, out):
        def record(ino, name, mode, data, rdev):
            nameb = name.encode() + b"\0"
            hdr = "070701" + "".join(f"{v:08x}" for v in (
                ino, mode, 0, 0, 1, 0, len(data), 0, 0,
                os.major(rdev), os.minor(rdev), len(nameb), 0))
            buf = hdr.encode() + nameb
            buf += b"\0" * (-len(buf) % 4) + data
            return buf + b"\0" * (-len(buf) % 4)

        with open(out, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
            for ino, name in enumerate(sorted(self.entries), start=1):
                mode, data, rdev = self.entries[name]
                gz.write(record(ino, name, mode, data, rdev))
            gz.write(record(0, "TRAILER!!!", 0, b"", 0))


def stripped(path):
    """Contents of PATH without debug info (a 2.5 MB ext2.ko becomes ~0.2 MB; the
    guest's stack traces use kallsyms, not DWARF); a compressed module decompressed."""
    with tempfile.TemporaryDirectory() as tmp:
        src = path
        if is_ko(path) and not str(path).endswith(".ko"):
            src = Path(tmp) / ("in-" + ko_name(path))
            src.write_bytes(ko_bytes(path))
        dst = Path(tmp) / ko_name(path) if is_ko(path) else Path(tmp) / path.name
        try:
            run(["strip", "--strip-debug", "-o", str(dst), str(src)])
            return dst.read_bytes()
        except (OSError, subprocess.CalledProcessError):
            warn(f"strip failed for {path}, shipping it unstripped")
            return src.read_bytes()


def add_busybox(cpio):
    busybox = shutil.which("busybox")
    if not busybox:
        raise SystemExit("mkinitramfs: busybox not found (make deps installs busybox-static)")
    ldd = subprocess.run(["ldd", busybox], capture_output=True, text=True)
    if "not a dynamic executable" not in ldd.stdout + ldd.stderr:
        raise SystemExit(f"mkinitramfs: {busybox} is dynamically linked (install busybox-static)")
    cpio.add_file("bin/busybox", Path(busybox).read_bytes(), 0o755)
    for applet in run([busybox, "--list-full"]).split():
        if applet != "bin/busybox":
            cpio.add_symlink(applet, "/bin/busybox")


def add_binary(cpio, src, dest):
    """Copy a dynamically linked program and everything ldd says it loads."""
    cpio.add_file(dest, stripped(src), 0o755)
    for line in run(["ldd", str(src)]).splitlines():
        # "libfoo.so.1 => /lib/x86_64-linux-gnu/libfoo.so.1 (0x...)" or
        # "/lib64/ld-linux-x86-64.so.2 (0x...)"; linux-vdso has no file.
        m = re.search(r"(?:=>\s*)?(/\S+)\s+\(0x", line)
        if m:
            lib = m.group(1)
            cpio.add_file(lib.lstrip("/"), Path(lib).resolve().read_bytes(), 0o755)
        elif "=>" in line and "not found" in line:
            raise SystemExit(f"mkinitramfs: {src}: {line.strip()}")


def add_modules(cpio, mods):
    lines, boot = [], []
    wanted = [(n, True) for n in BOOT_KERNEL_MODULES]
    for name in BOOT_BUILD_MODULES:
        if mods.is_builtin(name):
            wanted.append((name, True))
        elif (mods.build / f"{name}.ko").exists():
            wanted.append((name, True))
        else:
            warn(f"{mods.build / (name + '.ko')} missing; the VM will not have {name}")
    wanted += [(n, False) for n in ON_REQUEST_MODULES]
    for name, at_boot in wanted:
        if mods.is_builtin(name):
            lines.append(f"{name} =builtin")
            if at_boot:
                boot.append(name)
            continue
        files = []
        for optional, path in mods.closure(name):
            dest = f"{MOD_DIR}/{ko_name(path)}"
            if dest not in cpio.entries:
                cpio.add_file(dest, stripped(path))
            files.append(("?" if optional else "") + f"/{dest}")
        lines.append(" ".join([name] + files))
        if at_boot:
            boot.append(name)
    cpio.add_file("etc/mpagevm/modules", ("\n".join(lines) + "\n").encode())
    cpio.add_file("etc/mpagevm/boot", ("\n".join(boot) + "\n").encode())


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kver", required=True, help="kernel release the VM boots")
    ap.add_argument("--build", required=True, type=Path, help="build directory")
    ap.add_argument("--out", required=True, type=Path, help="output .cpio.gz")
    ap.add_argument("--kernel-tree", type=Path,
                    help="kernel built from source (debug kernel): its modules and builtins")
    ap.add_argument("--mpagectl", type=Path, help="mpagectl binary (default BUILD/mpagectl)")
    args = ap.parse_args()
    build = args.build.resolve()
    tree = args.kernel_tree.resolve() if args.kernel_tree else None

    cpio = Cpio()
    for d in ("dev", "proc", "sys", "tmp", "run", "mnt", "root", "job", "out", "var/log"):
        cpio.add_dir(d)
    # The kernel opens /dev/console for init before /init can mount devtmpfs.
    cpio.add_chardev("dev/console", 5, 1)
    cpio.add_chardev("dev/null", 1, 3, 0o666)
    add_busybox(cpio)
    cpio.add_file("init", (HERE / "init").read_bytes(), 0o755)
    cpio.add_file("bin/loadmod", (HERE / "loadmod").read_bytes(), 0o755)
    cpio.add_file("etc/mpagevm/kver", (args.kver + "\n").encode())
    add_modules(cpio, Modules(args.kver, build, tree))
    mpagectl = args.mpagectl.resolve() if args.mpagectl else build / "mpagectl"
    if mpagectl.exists():
        add_binary(cpio, mpagectl, "usr/bin/mpagectl")
        # The names mkfs(8) and fsck(8) look for; mpagectl dispatches on argv[0].
        for name in ("mkfs.mpagefs", "fsck.mpagefs"):
            cpio.add_symlink(f"sbin/{name}", "/usr/bin/mpagectl")
    else:
        warn(f"{mpagectl} missing; the VM will not have mpagectl")
    # Debian's blktrace, so tests can show that mpagectl reads what blktrace
    # captured (mpagectl itself needs no blktrace binary).
    blktrace = Path("/usr/sbin/blktrace")
    if blktrace.exists():
        add_binary(cpio, blktrace, "usr/sbin/blktrace")
    else:
        warn(f"{blktrace} missing (apt-get install blktrace)")
    # Debian's dmsetup, for the dm-flakey tables of tests/vm/test_failing_disk.py.
    dmsetup = Path("/usr/sbin/dmsetup")
    if dmsetup.exists():
        add_binary(cpio, dmsetup, "usr/sbin/dmsetup")
    else:
        warn(f"{dmsetup} missing (apt-get install dmsetup)")
    # util-linux's setpriv (busybox's has no --bounding-set), to run a command
    # as uid 0 without capabilities: tests/vm/test_reliability.py.  The
    # busybox applet stays at /bin/setpriv: use the full path.
    setpriv = Path("/usr/bin/setpriv")
    if setpriv.exists():
        add_binary(cpio, setpriv, "usr/bin/setpriv")
    else:
        warn(f"{setpriv} missing (apt-get install util-linux)")

    args.out.parent.mkdir(parents=True, exist_ok=True)
    # A temporary name of this process's own: two makes of one build
    # directory (a VM suite and make bench side by side) may write the same
    # initramfs at once; each renames its own complete file into place.
    tmp = args.out.with_name(f"{args.out.name}.{os.getpid()}.tmp")
    try:
        cpio.write(tmp)
        tmp.replace(args.out)
    finally:
        tmp.unlink(missing_ok=True)
    print(f"mkinitramfs: {args.out} ({args.out.stat().st_size // 1024} KiB, "
          f"{len(cpio.entries)} entries)")


if __name__ == "__main__":
    main()
