#!/usr/bin/env python3
"""vm.py - run a shell script inside the mpagefs test VM and collect what it produced.

    from vm import run_vm, KernelLogError, VmError
    r = run_vm(build="build", script="mount -t mpagefs $DISKS /mnt && ...",
               disks=["a.img"], files={"x": "/host/x"}, out_dir="build/artefacts/t")
    r.status, r.stdout, r.out, r.console

The VM is QEMU/TCG booting Debian's kernel (qemu/kver.sh) with build/initramfs.cpio.gz
(qemu/mkinitramfs.py); qemu/init describes what happens inside.  Nothing is scraped
from the kernel console: the job's output arrives on a second serial port (ttyS1,
written to result.txt), its files and exit status as a tar on a results disk.

Every run leaves in out_dir: console.log (ttyS0: the kernel log of the whole boot),
result.txt (the job's stdout+stderr), out/ (the files the job wrote to $OUT),
dmesg.txt (the guest's ring buffer at the end, all levels), job.sh (the script),
job.tar (the job disk), qemu-cmdline.txt (the exact QEMU command line, shell-quoted)
and qemu-stderr.txt.

CLI: python3 qemu/vm.py --build build --disk a.img --script guest.sh --out DIR
     prints the job's output and exits with its status (2 on kernel-log problems or
     VM failure).  --shell gives an interactive VM instead (see qemu/shell.py).

MPAGEVM_ACCEL=kvm in the environment selects another QEMU accelerator (default tcg).

MPAGEFS_KERNEL=debug selects the debug kernel (qemu/debug-kernel/build.sh: KASAN,
lockdep, kmemleak, gcov of fs/mpage.c and fs/buffer.c) with build/debug/initramfs.cpio.gz
(make initramfs-debug) instead of Debian's kernel with build/initramfs.cpio.gz.  Under it
every run gets at least DEBUG_MEM of guest RAM, job timeouts are multiplied by
MPAGEFS_DEBUG_SLOWDOWN (default DEBUG_SLOWDOWN) and the host allows DEBUG_BOOT_ALLOWANCE
seconds for boot and teardown; and the run also fails when kmemleak (two explicit scans
after the job, see qemu/init) lists an unreferenced object whose allocation backtrace
goes through mpagefs, fs/mpage.c or fs/buffer.c (KMEMLEAK_FRAME_PATTERNS; every report
is kept in kmemleak.txt).  run_vm(gcov=True) brings the job's gcov counters back in
out_dir/gcov/ (qemu/mpage_coverage.py).
"""
import argparse
import functools
import io
import os
import re
import shlex
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass, field, fields
from pathlib import Path

HERE = Path(__file__).resolve().parent

# Kernel-log lines that fail a run.  Each regex is matched against every line of
# console.log (after the "[    1.234567] " timestamp); nothing is exempted.  Why each:
KERNEL_LOG_PATTERNS = [
    r"BUG:",                         # BUG: kernel NULL pointer dereference / sleeping
                                     # function called from invalid context / soft lockup /
                                     # scheduling while atomic / KASAN: ... / unable to handle
    r"kernel BUG at",                # BUG_ON() / BUG()
    r"WARNING:",                     # WARN_ON() ("WARNING: CPU: 0 PID: 1 at ..."), lockdep
                                     # ("WARNING: possible circular locking dependency ...")
    r"\bOops\b",                     # "Oops: 0000 [#1] PREEMPT SMP"
    r"general protection fault",     # GPF (bad pointer dereference)
    r"Call Trace:",                  # any stack dump (dump_stack(), hung task, ...)
    r"KASAN",                        # KASAN reports (not in Debian's config, kept for custom kernels)
    r"UBSAN:",                       # undefined behaviour sanitizer reports
    r"possible recursive locking detected",   # lockdep
    r"possible circular locking dependency",  # lockdep
    r"inconsistent lock state",      # lockdep
    r"blocked for more than \d+ seconds",     # hung task detector
    r"rcu: INFO: .*detected stall",  # RCU stalls
    r"Kernel panic",                 # panics (the VM then stops: panic=-1 and -no-reboot)
    r"list_(add|del) corruption",    # list debugging
]
_KERNEL_LOG_RE = re.compile("|".join(f"(?:{p})" for p in KERNEL_LOG_PATTERNS))
_TIMESTAMP_RE = re.compile(r"^\[\s*\d+\.\d+\]\s?")

# kmemleak reports ("unreferenced object 0x... (size N):" + "backtrace:" frames) that
# fail a debug-kernel run: allocations made by mpagefs or by the mpage/buffer-head
# code it drives.  The debug kernel has everything else built in, so a frame that
# kallsyms cannot name ("[<ffffffffc0...>] 0xffffffffc0...") is in a module that was
# unloaded before the scan: mpagefs.  Other reports (boot-time false positives of
# built-in drivers) are kept in kmemleak.txt but do not fail the run.
KMEMLEAK_FRAME_PATTERNS = [
    r"\[mpagefs\]",                     # any function of the module
    r"\bmpagefs_",                       # ... even when the module name is missing
    r"\b(?:__)?(?:do_)?mpage_\w+",        # fs/mpage.c
    r"\b(?:alloc_buffer_head|alloc_page_buffers|folio_alloc_buffers|create_empty_buffers|"
    r"folio_create_empty_buffers|grow_buffers|grow_dev_page|__getblk\w*|__bread\w*|"
    r"__breadahead\w*|block_read_full_\w+|__block_write_\w+|block_write_\w+|"
    r"__block_commit_write|block_truncate_page|submit_bh\w*|"
    r"mark_buffer_dirty\w*|sync_dirty_buffer)\+",   # fs/buffer.c
    r"\]\s+0x[0-9a-f]+\s*$",                 # an unnamed frame: an unloaded module
]
_KMEMLEAK_FRAME_RE = re.compile("|".join(f"(?:{p})" for p in KMEMLEAK_FRAME_PATTERNS))

DEBUG_MEM = 2048                 # MiB: KASAN's shadow plus kmemleak's metadata
DEBUG_SLOWDOWN = 4               # job timeout factor under the debug kernel
DEBUG_BOOT_ALLOWANCE = 300       # seconds: ~1 min boot + kmemleak scans + gcov copy

JOB_START_MARK = b"mpagevm: job start"
RESULTS_DISK_SIZE = 512 << 20    # sparse; the tar of $OUT must fit
BOOT_ALLOWANCE = 90              # seconds for boot + teardown on top of the job timeout


class VmError(Exception):
    """The VM did not finish the job: timeout, crash, or the guest could not run it.
    .result holds whatever was collected (artefacts are on disk either way)."""

    def __init__(self, message, result=None):
        super().__init__(message)
        self.result = result


class KernelLogError(VmError):
    """The kernel log has lines matching KERNEL_LOG_PATTERNS (listed in the message)."""

    def __init__(self, message, lines, result=None):
        super().__init__(message, result)
        self.lines = lines


@dataclass
class VmResult:
    status: int | None          # the job's exit status
    stdout: str                 # the job's stdout+stderr (from ttyS1)
    out: Path                   # host directory with the files the job wrote to $OUT
    console: Path               # the kernel console log (ttyS0)
    out_dir: Path               # all artefacts of this run
    boot_seconds: float | None = None   # host wall time from QEMU start to job start
    wall_seconds: float = 0.0           # host wall time of the whole run
    timed_out: bool = False
    init_error: str | None = None
    problems: list = field(default_factory=list)   # offending kernel-log lines
    killed: bool = False        # run_vm(kill_after=...) SIGKILLed QEMU on purpose


def kmemleak_reports(text):
    """The reports of /sys/kernel/debug/kmemleak, one string each."""
    reports, cur = [], []
    for line in text.splitlines():
        if line.startswith("unreferenced object") and cur:
            reports.append("\n".join(cur))
            cur = []
        if line.strip():
            cur.append(line.rstrip())
    if cur and cur[0].startswith("unreferenced object"):
        reports.append("\n".join(cur))
    return [r for r in reports if r.startswith("unreferenced object")]


def kmemleak_problems(text):
    """kmemleak reports whose backtrace has a frame of KMEMLEAK_FRAME_PATTERNS."""
    bad = []
    for rep in kmemleak_reports(text):
        frames = rep.split("backtrace:", 1)[1] if "backtrace:" in rep else ""
        if any(_KMEMLEAK_FRAME_RE.search(f) for f in frames.splitlines()):
            bad.append(rep)
    return bad


def kernel_flavour():
    """'debug' when MPAGEFS_KERNEL=debug, else 'debian'."""
    k = os.environ.get("MPAGEFS_KERNEL", "").strip().lower()
    if k in ("", "debian", "default"):
        return "debian"
    if k == "debug":
        return "debug"
    raise VmError(f"MPAGEFS_KERNEL={k!r}: expected 'debug' or 'debian'")


def debug_tree():
    """The debug kernel's build tree (qemu/debug-kernel/build.sh --dir; not built here)."""
    env = os.environ
    return _debug_tree(env.get("MPAGEFS_KERNEL_SERIES"), env.get("MPAGEFS_CACHE"), env.get("HOME"))


@functools.lru_cache(maxsize=None)
def _debug_tree(series, cache, home):
    """build.sh --dir for the environment it reads (the arguments are the cache
    key): every boot under the debug kernel asks, and the answer does not change
    within a run."""
    return Path(subprocess.run([str(HERE / "debug-kernel" / "build.sh"), "--dir"], check=True,
                               capture_output=True, text=True).stdout.strip())


def artefacts_root(build):
    """Where the VM runs of this kernel leave their artefacts: build/artefacts for
    Debian's 6.1 (as always), build/artefacts/<k6.12|debug-6.1|debug-k6.12> for
    the others, so that suites of two kernels can run at once from one checkout
    without one boot's results replacing another's of the same name."""
    series, flavour = kernel_series(), kernel_flavour()
    root = Path(build) / "artefacts"
    if series == "6.1" and flavour == "debian":
        return root
    tag = "6.1" if series == "6.1" else f"k{series}"
    return root / (f"debug-{tag}" if flavour == "debug" else tag)


def read_ttys1(path):
    """The text the guest wrote to ttyS1 (QEMU's file chardev at PATH).  Without
    ACPI (the debug kernels) the 8250 driver finds ttyS1 by probing the legacy
    ports, and the chardev gets a 0xff byte from it before the guest writes
    anything: not the job's output (it would hide the first job's begin line)."""
    raw = Path(path).read_bytes() if Path(path).exists() else b""
    return raw.lstrip(b"\xff").decode(errors="replace")


def kernel_and_initrd(build):
    """(kernel image, initramfs) of the selected kernel flavour: the debug kernel, or
    Debian's kernel of kernel_series()."""
    # make KERNEL=6.1 builds into build/, another series into build/k<series>/;
    # BUILD may be either (make passes build/k<series> to demo, bench, shell).
    # The debug kernel's initramfs is in <that>/debug/.
    series, build = kernel_series(), Path(build)
    if series != "6.1" and build.name != f"k{series}":
        build = build / f"k{series}"
    if kernel_flavour() == "debug":
        tree = debug_tree()
        kernel = tree / "arch/x86/boot/bzImage"
        if not kernel.exists():
            raise VmError(f"{kernel} missing (run: make debug-kernel KERNEL={series})")
        return kernel, build / "debug" / "initramfs.cpio.gz"
    return Path(f"/boot/vmlinuz-{kver()}"), build / "initramfs.cpio.gz"


def debug_kernel_has_acpi():
    """Whether the debug kernel of kernel_series() was built with ACPI."""
    config = debug_tree() / ".config"
    return config.exists() and "\nCONFIG_ACPI=y\n" in config.read_text()


def _mib(mem):
    m = re.fullmatch(r"(\d+)([MG]?)", str(mem).strip().upper())
    if not m:
        raise VmError(f"memory size {mem!r}: expected like 512M or 2G")
    return int(m.group(1)) * (1024 if m.group(2) == "G" else 1)


def kernel_log_problems(text):
    """Lines of a kernel log that match KERNEL_LOG_PATTERNS, in order."""
    bad = []
    for line in text.splitlines():
        if _KERNEL_LOG_RE.search(_TIMESTAMP_RE.sub("", line)):
            bad.append(line.rstrip())
    return bad


def kernel_series():
    """The Debian kernel series the VM boots: $MPAGEFS_KERNEL_SERIES (the Makefile's
    KERNEL, exported), 6.1 by default, or 6.12."""
    return os.environ.get("MPAGEFS_KERNEL_SERIES", "").strip() or "6.1"


def kver():
    """The release of kernel_series() to boot (qemu/kver.sh), or VmError with
    kver.sh's line naming what to install."""
    p = subprocess.run([str(HERE / "kver.sh"), kernel_series()], capture_output=True,
                       text=True)
    if p.returncode:
        raise VmError(p.stderr.strip())
    return p.stdout.strip()


def default_accel():
    """QEMU's accelerator for the selected kernel: multi-threaded TCG for 6.1 (as
    always), single-threaded TCG for 6.12.  6.12 under multi-threaded TCG once
    died at boot with "Oops: int3" in sched_clock_cpu right after "sched_clock:
    Marking stable": the other vCPU ran translated code that still held the
    int3 of a finished text_poke_bp (static-key patching), which the kernel no
    longer recognised.  Single-threaded TCG runs the two vCPUs in turn on one
    host thread, so a patch is complete before the other vCPU runs that code;
    the VM suite took the same time either way (test_read_path: 42 s).  The
    debug kernels follow their series."""
    return "tcg" if kernel_series() == "6.1" else "tcg,thread=single"


def qemu_command(build, job_img, results_img, disks, modules=(), timeout=0, mem="1G",
                 smp=2, mode="job", console=None, stdout=None, accel=None,
                 kernel=None, append="", gcov=False, icount=None):
    """The QEMU command line.  Disk order: job, results, then DISKS (vda, vdb, vdc...).
    console/stdout are host files for ttyS0/ttyS1; None means stdio (interactive).
    The kernel and initramfs are those of kernel_flavour() unless KERNEL is given.
    icount=N: QEMU's -icount shift=N on single-threaded TCG, so the guest's clock
    counts instructions (2^N ns each), not the host's time (make bench's get_block
    cost, tests/bench/gbcost.py)."""
    # TCG unless asked otherwise: KVM hangs on the machines this was developed on.
    accel = accel or os.environ.get("MPAGEVM_ACCEL") or default_accel()
    if icount is not None:
        accel = "tcg,thread=single"
    default_kernel, initrd = kernel_and_initrd(build)
    kernel = kernel or default_kernel
    if not Path(kernel).exists():
        raise VmError(f"{kernel} missing (make deps installs linux-image-amd64)")
    if not initrd.exists():
        raise VmError(f"{initrd} missing (run: make "
                      f"{'initramfs-debug' if kernel_flavour() == 'debug' else 'initramfs'})")
    if kernel_flavour() == "debug" and _mib(mem) < DEBUG_MEM:
        mem = f"{DEBUG_MEM}M"
    cmdline = ["console=ttyS0",
               "panic=-1",                # a panic ends the VM at once (with -no-reboot)
               # Oopses and warnings must show up in the log, not stop the VM.
               "panic_on_warn=0", "softlockup_panic=0",
               "mitigations=off",         # faster under TCG, irrelevant to the tests
               "no_timer_check",          # TCG's timer is slow to calibrate against
               "rdinit=/init",
               f"mpagevm.mode={mode}", f"mpagevm.disks={len(disks)}",
               f"mpagevm.timeout={int(timeout)}"]
    if kernel_flavour() == "debug" and debug_kernel_has_acpi():
        # The 6.1 debug kernel keeps ACPI for its timers (debug-6.1.config);
        # under KASAN and TCG, evaluating each virtio device's interrupt
        # routing (_PRT) in AML runs into AE_AML_LOOP_TIMEOUT, 30 s per
        # device: route interrupts from SeaBIOS's PIR table instead.
        cmdline.append("acpi=noirq")
    if modules:
        cmdline.append("mpagevm.modules=" + ",".join(modules))
    if gcov:
        cmdline.append("mpagevm.gcov=1")
    if append:
        cmdline.append(append)
    cmd = ["qemu-system-x86_64", "-accel", accel, "-m", mem, "-smp", str(smp),
           "-display", "none", "-no-reboot", "-nodefaults",
           "-kernel", str(kernel), "-initrd", str(initrd),
           "-append", " ".join(cmdline)]
    if icount is not None:
        cmd += ["-icount", f"shift={int(icount)}"]
    if console is None:
        cmd += ["-serial", "mon:stdio", "-serial", "null"]
    else:
        cmd += ["-monitor", "none", "-serial", f"file:{console}", "-serial", f"file:{stdout}"]
    drives = [(job_img, "mpagevm-job"), (results_img, "mpagevm-results")]
    drives += [(d, f"disk{i}") for i, d in enumerate(disks)]
    for i, (img, serial) in enumerate(drives):
        # QEMU's -drive splits on commas; a comma in a path is written twice.
        path = str(Path(img).resolve()).replace(",", ",,")
        cmd += ["-drive", f"file={path},format=raw,if=none,id=d{i}",
                "-device", f"virtio-blk-pci,drive=d{i},serial={serial}"]
    return cmd


def _add_job(tar, script, files, prefix=""):
    """PREFIX/run.sh (SCRIPT) and PREFIX/<name> for every extra file into TAR."""
    data = script.encode()
    info = tarfile.TarInfo(f"{prefix}run.sh")
    info.size, info.mode = len(data), 0o755
    tar.addfile(info, io.BytesIO(data))
    for name, src in (files or {}).items():
        if name.startswith("/") or ".." in Path(name).parts:
            raise VmError(f"extra file name {name!r} must be relative, without '..'")
        tar.add(str(src), arcname=f"{prefix}{name}")


def _pad_to_mib(path):
    """Pad the job disk with zeros (after the tar's end marker) to whole MiB, so
    the guest's partition scan sees a disk of ordinary size and logs nothing odd."""
    size = Path(path).stat().st_size
    with open(path, "r+b") as f:
        f.truncate(-(-size // (1 << 20)) * (1 << 20))


def make_job_disk(path, script, files):
    """The job disk is a plain tar: run.sh plus the extra files, unpacked to /job."""
    with tarfile.open(path, "w", format=tarfile.USTAR_FORMAT) as tar:
        _add_job(tar, script, files)
    _pad_to_mib(path)


def _reset_out_dir(out_dir):
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in ("console.log", "result.txt", "dmesg.txt", "job.sh", "job.tar", "qemu-cmdline.txt",
                 "qemu-stderr.txt", "kmemleak.txt"):
        (out_dir / name).unlink(missing_ok=True)
    shutil.rmtree(out_dir / "out", ignore_errors=True)
    shutil.rmtree(out_dir / "gcov", ignore_errors=True)


def _read_results(results_img, out_dir):
    """Unpack the results disk: out/ into out_dir/out, result/* returned as a dict."""
    meta = {}
    (out_dir / "out").mkdir(exist_ok=True)
    try:
        tar = tarfile.open(results_img, "r:")
    except tarfile.ReadError:
        return None            # the guest never wrote it (crash, timeout)
    with tar:
        for m in tar.getmembers():
            parts = Path(m.name).parts
            if m.name.startswith("/") or ".." in parts:
                raise VmError(f"results disk has an unsafe member {m.name!r}")
            if parts[:1] == ("result",) and len(parts) == 2 and m.isfile():
                meta[parts[1]] = tar.extractfile(m).read().decode(errors="replace")
            elif parts[:2] == ("result", "gcov") and len(parts) == 3 and m.isfile():
                (out_dir / "gcov").mkdir(exist_ok=True)
                (out_dir / "gcov" / parts[2]).write_bytes(tar.extractfile(m).read())
            elif parts[:2] == ("result", "jobs") and len(parts) == 4 and m.isfile():
                # batch: result/jobs/NAME/{status,timed-out}
                meta[f"jobs/{parts[2]}/{parts[3]}"] = \
                    tar.extractfile(m).read().decode(errors="replace")
            elif parts[:2] == ("result", "jobs") and len(parts) == 5 and parts[3] == "gcov" \
                    and m.isfile():
                d = out_dir / "gcov" / parts[2]
                d.mkdir(parents=True, exist_ok=True)
                (d / parts[4]).write_bytes(tar.extractfile(m).read())
            elif parts[:1] == ("out",) and len(parts) > 1:
                try:
                    if hasattr(tarfile, "data_filter"):
                        tar.extract(m, out_dir, filter="data")
                    else:
                        tar.extract(m, out_dir)
                except (tarfile.TarError, OSError) as e:
                    raise VmError(f"cannot unpack {m.name} from the results disk: {e}")
    return meta


def run_vm(build, script, disks=(), files=None, out_dir=None, timeout=300, mem="1G",
           modules=(), check=False, smp=2, guest_timeout=True,
           boot_allowance=BOOT_ALLOWANCE, gcov=None, kill_after=None, kill_on=None, icount=None):
    """Boot the VM, run SCRIPT (sh) as /job/run.sh, return a VmResult.

    disks: images attached as /dev/vdc, /dev/vdd, ... ($DISKS in the guest).
    files: {name: host path} copied to /job/name.
    modules: extra modules to load before the job (e.g. ["vfat", "dm-flakey"]).
    timeout: seconds the job may run; the guest kills it then (guest_timeout=True) and
      the host kills QEMU boot_allowance seconds later if the guest is stuck
      (guest_timeout=False leaves it to the host alone).  Either way VmError is raised.
    check: raise VmError when the job's status is non-zero.
    gcov: (debug kernel; default: on under it) zero the gcov counters before the job,
      bring them back after it in out_dir/gcov/*.gcda; with MPAGEFS_GCOV_COLLECT=DIR
      in the environment they are also copied to DIR/<out_dir's name>/ (make coverage).
    icount: QEMU's -icount shift (see qemu_command); None, as always, for real time.
    kill_after: SIGKILL QEMU this many seconds after the job started (or after the job's
      output first matched the regex kill_on), as a power cut: nothing more reaches the
      disk images, no results disk is read; the VmResult has killed=True, status None
      and stdout = what the job printed so far (ttyS1 is written to the host file as it
      goes).  It is not an error unless the kernel log so far has problems, or the job
      ended before the cut (then the result is the job's, killed=False).
    Raises KernelLogError when the kernel log has a line matching KERNEL_LOG_PATTERNS,
    or (debug kernel) kmemleak reports a leak of KMEMLEAK_FRAME_PATTERNS.
    Under the debug kernel the timeout is multiplied by debug_slowdown() and
    boot_allowance is at least DEBUG_BOOT_ALLOWANCE.
    """
    build = Path(build).resolve()
    timeout, boot_allowance, gcov = _scaled(timeout, boot_allowance, gcov)
    out_dir = Path(out_dir) if out_dir else artefacts_root(build) / "vm"
    out_dir = out_dir.resolve()
    _reset_out_dir(out_dir)
    for d in disks:
        if not Path(d).is_file() and not Path(d).is_block_device():
            raise VmError(f"disk {d} does not exist")
    console, stdout_file = out_dir / "console.log", out_dir / "result.txt"
    (out_dir / "job.sh").write_text(script)

    with tempfile.TemporaryDirectory(prefix="mpagevm-") as tmp:
        # The job disk stays as an artefact (qemu-cmdline.txt names it); the 512 MiB
        # sparse results disk does not.
        job_img, results_img = out_dir / "job.tar", Path(tmp) / "results.img"
        make_job_disk(job_img, script, files)
        with open(results_img, "wb") as f:
            f.truncate(RESULTS_DISK_SIZE)
        cmd = qemu_command(build, job_img, results_img, list(disks), modules=modules,
                           timeout=timeout if guest_timeout else 0, mem=mem, smp=smp,
                           console=console, stdout=stdout_file, gcov=gcov, icount=icount)
        (out_dir / "qemu-cmdline.txt").write_text(shlex.join(cmd) + "\n")

        run = _run_qemu(cmd, out_dir, console, stdout_file, timeout + boot_allowance,
                        kill_after=kill_after, kill_on=kill_on)
        wall, boot_seconds, host_timed_out, killed = (run.wall, run.boot_seconds,
                                                      run.host_timed_out, run.killed)
        qemu_log = run.qemu_log
        meta = None if host_timed_out or killed else _read_results(results_img, out_dir)

    (out_dir / "out").mkdir(exist_ok=True)
    meta = meta or {}
    if "dmesg.txt" in meta:
        (out_dir / "dmesg.txt").write_text(meta["dmesg.txt"])
    if gcov and os.environ.get("MPAGEFS_GCOV_COLLECT") and (out_dir / "gcov").is_dir():
        _collect_gcov(out_dir, Path(os.environ["MPAGEFS_GCOV_COLLECT"]), build)
    leaks = []
    if "kmemleak.txt" in meta:
        (out_dir / "kmemleak.txt").write_text(meta["kmemleak.txt"])
        leaks = kmemleak_problems(meta["kmemleak.txt"])
    console_text = console.read_text(errors="replace") if console.exists() else ""
    stdout_text = read_ttys1(stdout_file)
    status = int(meta["status"]) if meta.get("status", "").strip().lstrip("-").isdigit() else None
    result = VmResult(status=status, stdout=stdout_text, out=out_dir / "out",
                      console=console, out_dir=out_dir, boot_seconds=boot_seconds,
                      wall_seconds=wall, timed_out=host_timed_out or "timed-out" in meta,
                      init_error=meta.get("init-error", "").strip() or None,
                      problems=kernel_log_problems(console_text), killed=killed)

    where = f"(artefacts: {out_dir})"
    if result.problems:
        extra = ""
        if status is None:
            extra = " (and the job did not finish)"
        raise KernelLogError(
            f"kernel log has {len(result.problems)} problem line(s){extra} {where}:\n  "
            + "\n  ".join(result.problems[:40]), result.problems, result)
    if leaks:
        result.problems = leaks
        raise KernelLogError(
            f"kmemleak lists {len(leaks)} leak(s) from mpagefs/mpage/buffer code {where}:\n"
            + "\n".join(leaks[:5]), leaks, result)
    if killed:
        return result
    if host_timed_out:
        raise VmError(f"VM did not finish within {timeout + boot_allowance} s and was killed "
                      f"{where}\n{_tails(console_text, stdout_text)}", result)
    if "timed-out" in meta:
        raise VmError(f"job timed out after {timeout} s and was killed in the guest {where}\n"
                      f"{_tails(console_text, stdout_text)}", result)
    if result.init_error:
        raise VmError(f"the VM could not run the job: {result.init_error} {where}", result)
    if status is None:
        qemu_err = qemu_log.read_text(errors="replace").strip()
        raise VmError(f"VM ended without a job status (qemu exit {run.returncode}"
                      f"{': ' + qemu_err if qemu_err else ''}) {where}\n"
                      f"{_tails(console_text, stdout_text)}", result)
    if check and status != 0:
        raise VmError(f"job exited with status {status} {where}\n"
                      f"{_tails('', stdout_text)}", result)
    return result


@dataclass
class _QemuRun:
    wall: float
    boot_seconds: float | None
    host_timed_out: bool
    killed: bool
    returncode: int | None
    qemu_log: Path


def _run_qemu(cmd, out_dir, console, stdout_file, allowed, kill_after=None, kill_on=None):
    """Run QEMU until it exits, or kill it after ALLOWED seconds (host_timed_out) or
    at the kill_after/kill_on moment (killed).  boot_seconds: when the guest's
    "job start" line appeared on the console."""
    start = time.monotonic()
    host_deadline = start + allowed
    boot_seconds, host_timed_out = None, False
    kill_at, killed = None, False
    qemu_log = out_dir / "qemu-stderr.txt"
    with open(qemu_log, "wb") as err:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=err, stderr=err)
        try:
            while True:
                try:
                    proc.wait(timeout=0.25)
                    break
                except subprocess.TimeoutExpired:
                    pass
                if boot_seconds is None and console.exists() and \
                        JOB_START_MARK in console.read_bytes():
                    boot_seconds = time.monotonic() - start
                if kill_after is not None and kill_at is None and boot_seconds is not None:
                    if kill_on is None:
                        kill_at = start + boot_seconds + kill_after
                    elif stdout_file.exists() and re.search(
                            kill_on, stdout_file.read_text(errors="replace"), re.M):
                        kill_at = time.monotonic() + kill_after
                if kill_at is not None and time.monotonic() >= kill_at:
                    killed = True
                    proc.kill()
                    proc.wait()
                    break
                if time.monotonic() > host_deadline:
                    host_timed_out = True
                    proc.kill()
                    proc.wait()
                    break
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    wall = time.monotonic() - start
    if boot_seconds is None and console.exists() and JOB_START_MARK in console.read_bytes():
        boot_seconds = wall
    return _QemuRun(wall, boot_seconds, host_timed_out, killed, proc.returncode, qemu_log)


# --- several jobs in one boot ------------------------------------------------

# Disks of one batch at the most: the i440fx machine has 32 PCI slots, the host
# bridge and the PIIX3 take two, the job and results disks two more.
MAX_BATCH_DISKS = 28
_JOB_NAME_RE = re.compile(r"[A-Za-z0-9_.=+-]{1,120}")
_VD_RE = re.compile(r"(?<![A-Za-z0-9_])vd([c-z])(?![A-Za-z0-9_])")
_BEGIN_RE = re.compile(r"^@@mpagevm-job-begin (\S+)\n", re.M)
_END_RE = re.compile(r"\n@@mpagevm-job-end (\S+) (-?\d+)\n")
_BATCH_LOG_RE = re.compile(r"mpagevm: batch job (\S+) (start|end)\b")


@dataclass
class JobSpec:
    """What a job runs: a script written as if it had the VM to itself, its disks
    appearing to it as /dev/vdc, /dev/vdd, ... in order, its files in /job."""
    script: str
    disks: list = field(default_factory=list)
    files: dict = field(default_factory=dict)
    timeout: float = 300
    modules: tuple = ()
    mem: str = "1G"


@dataclass
class Job(JobSpec):
    """One job of a batch (run_batch): a JobSpec with its name."""
    name: str = ""

    @classmethod
    def of(cls, name, spec):
        """The Job NAME running SPEC (a JobSpec or a subclass of it)."""
        return cls(name=name, **{f.name: getattr(spec, f.name) for f in fields(JobSpec)})


@dataclass
class BatchResult:
    results: dict                 # job name -> VmResult (the job's status, stdout, out/)
    problems: list                # [(job name or "boot" / "after NAME", kernel-log line)]
    out_dir: Path
    console: Path
    wall_seconds: float = 0.0
    boot_seconds: float | None = None
    error: str | None = None      # the boot as a whole failed (crash, hang, init error)

    def failure(self, name):
        """Why job NAME cannot be trusted, or None: the boot's kernel log had
        problems (in any job: a damaged kernel spoils what ran after it), or the
        boot or this job did not finish."""
        if self.problems:
            where = sorted({j for j, _ in self.problems}, key=str)
            return (f"kernel log of the boot that ran {name!r} has {len(self.problems)} "
                    f"problem line(s), in job(s) {', '.join(where)} "
                    f"(artefacts: {self.out_dir}):\n  "
                    + "\n  ".join(f"[{j}] {line}" for j, line in self.problems[:40]))
        r = self.results.get(name)
        if self.error and (r is None or r.status is None):
            return f"{self.error} (artefacts: {self.out_dir})"
        if r is None or r.status is None:
            return f"job {name!r} has no status (artefacts: {self.out_dir})"
        if r.timed_out:
            return (f"job {name!r} timed out and was killed in the guest "
                    f"(artefacts: {self.out_dir})\n{_tails('', r.stdout)}")
        return None


def vd_name(index):
    """virtio_blk's name for disk INDEX (0: vda, 25: vdz, 26: vdaa)."""
    name, n = "", index
    while n >= 0:
        name = chr(ord("a") + n % 26) + name
        n = n // 26 - 1
    return "vd" + name


def remap_disks(script, first, count, job="job"):
    """SCRIPT with its own disks vdc, vdd, ... renamed to the VM's, FIRST being the
    index of its first disk among the disks under test (0: vdc)."""
    def sub(m):
        local = ord(m.group(1)) - ord("c")
        if local >= count:
            raise VmError(f"job {job!r} names vd{m.group(1)} but has {count} disk(s)")
        return vd_name(2 + first + local)
    return _VD_RE.sub(sub, script)


def split_job_output(text):
    """{job name: output} from the ttyS1 stream of a batch (markers removed)."""
    out = {}
    for m in _BEGIN_RE.finditer(text):
        name, start = m.group(1), m.end()
        end = _END_RE.search(text, start)
        out[name] = text[start:end.start()] if end else text[start:]
    return out


def attribute_problems(console_text):
    """[(job, line)] for the kernel-log problem lines of a batch boot: the job in
    whose run the line appeared, "boot" before the first, "after NAME" between
    jobs or after the last."""
    cur, found = "boot", []
    for line in console_text.splitlines():
        m = _BATCH_LOG_RE.search(line)
        if m:
            cur = m.group(1) if m.group(2) == "start" else f"after {m.group(1)}"
            continue
        if _KERNEL_LOG_RE.search(_TIMESTAMP_RE.sub("", line)):
            found.append((cur, line.rstrip()))
    return found


def run_batch(build, jobs, out_dir, boot_allowance=BOOT_ALLOWANCE, gcov=None, smp=2):
    """Boot the VM once and run JOBS (a list of Job) one after the other.

    Each job sees its own disks as /dev/vdc, /dev/vdd, ... (its script is rewritten
    to the VM's names, remap_disks), has its own $OUT (returned in
    out_dir/out/NAME) and timeout, and finds the VM as the previous job found it
    (qemu/init undoes mounts, processes, dm/loop devices and /tmp).  The modules
    of every job are loaded at boot; the VM gets the largest memory asked for.
    Never raises for a job's or the kernel's failure: BatchResult.failure(name)
    says why a job's result cannot be used (a kernel-log problem anywhere in the
    boot, a crash, a timeout), naming the job that was running.
    """
    build = Path(build).resolve()
    out_dir = Path(out_dir).resolve()
    if not jobs:
        raise VmError("run_batch: no jobs")
    names = [j.name for j in jobs]
    if not all(names):
        raise VmError("run_batch: every job needs a name (Job(name=..., script=...))")
    jobs = [Job.of(j.name, j) for j in jobs]      # disks as strings, modules a tuple
    for j in jobs:
        j.disks, j.modules = [str(d) for d in j.disks], tuple(j.modules)
    if len(set(names)) != len(names):
        raise VmError(f"job names repeat: {names}")
    for n in names:
        if not _JOB_NAME_RE.fullmatch(n):
            raise VmError(f"job name {n!r}: letters, digits and _.=+- only")
    disks = [str(d) for j in jobs for d in j.disks]
    if len(disks) > MAX_BATCH_DISKS:
        raise VmError(f"a batch takes at most {MAX_BATCH_DISKS} disks, these jobs have {len(disks)}")
    for d in disks:
        if not Path(d).is_file() and not Path(d).is_block_device():
            raise VmError(f"disk {d} does not exist")
    total = 0
    timeouts = {}
    for j in jobs:
        t, boot_allowance_j, gcov_j = _scaled(j.timeout, boot_allowance, gcov)
        timeouts[j.name] = max(1, int(t))
        total += timeouts[j.name]
    boot_allowance, gcov = boot_allowance_j, gcov_j
    mem = f"{max(_mib(j.mem) for j in jobs)}M"
    modules = list(dict.fromkeys(m for j in jobs for m in j.modules))

    _reset_out_dir(out_dir)
    shutil.rmtree(out_dir / "jobs", ignore_errors=True)
    console, stdout_file = out_dir / "console.log", out_dir / "result.txt"
    lines, first = [], 0
    with tempfile.TemporaryDirectory(prefix="mpagevm-") as tmp:
        job_img, results_img = out_dir / "job.tar", Path(tmp) / "results.img"
        with tarfile.open(job_img, "w", format=tarfile.USTAR_FORMAT) as tar:
            for j in jobs:
                script = remap_disks(j.script, first, len(j.disks), j.name)
                jdir = out_dir / "jobs" / j.name
                jdir.mkdir(parents=True)
                (jdir / "job.sh").write_text(script)
                _add_job(tar, script, j.files, prefix=f"jobs/{j.name}/")
                devs = " ".join(f"/dev/{vd_name(2 + first + i)}" for i in range(len(j.disks)))
                lines.append(f"{j.name} {timeouts[j.name]} {devs}".rstrip())
                first += len(j.disks)
            data = ("\n".join(lines) + "\n").encode()
            info = tarfile.TarInfo("batch")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        _pad_to_mib(job_img)
        with open(results_img, "wb") as f:
            f.truncate(RESULTS_DISK_SIZE)
        cmd = qemu_command(build, job_img, results_img, disks, modules=modules, timeout=0,
                           mem=mem, smp=smp, mode="batch", console=console,
                           stdout=stdout_file, gcov=gcov)
        (out_dir / "qemu-cmdline.txt").write_text(shlex.join(cmd) + "\n")
        run = _run_qemu(cmd, out_dir, console, stdout_file, total + boot_allowance)
        meta = None if run.host_timed_out else _read_results(results_img, out_dir)

    (out_dir / "out").mkdir(exist_ok=True)
    meta = meta or {}
    for name in ("dmesg.txt", "kmemleak.txt"):
        if name in meta:
            (out_dir / name).write_text(meta[name])
    console_text = console.read_text(errors="replace") if console.exists() else ""
    stdout_text = read_ttys1(stdout_file)
    problems = attribute_problems(console_text)
    if "kmemleak.txt" in meta:
        problems += [("kmemleak scan after the last job", rep.splitlines()[0])
                     for rep in kmemleak_problems(meta["kmemleak.txt"])]
    outputs = split_job_output(stdout_text)
    results = {}
    for j in jobs:
        st = meta.get(f"jobs/{j.name}/status", "").strip()
        jdir = out_dir / "jobs" / j.name
        (jdir / "result.txt").write_text(outputs.get(j.name, ""))
        (out_dir / "out" / j.name).mkdir(exist_ok=True)
        results[j.name] = VmResult(
            status=int(st) if st.lstrip("-").isdigit() else None,
            stdout=outputs.get(j.name, ""), out=out_dir / "out" / j.name, console=console,
            out_dir=jdir, boot_seconds=run.boot_seconds, wall_seconds=run.wall,
            timed_out=f"jobs/{j.name}/timed-out" in meta,
            problems=[line for job, line in problems if job == j.name])
    if gcov and os.environ.get("MPAGEFS_GCOV_COLLECT") and (out_dir / "gcov").is_dir():
        for d in sorted((out_dir / "gcov").iterdir()):
            if d.is_dir():
                dest = Path(os.environ["MPAGEFS_GCOV_COLLECT"]) / re.sub(
                    r"[^A-Za-z0-9_.\[\]=-]+", "_",
                    f"{out_dir.parent.name}__{out_dir.name}__{d.name}")
                shutil.rmtree(dest, ignore_errors=True)
                shutil.copytree(d, dest)
    error = None
    if run.host_timed_out:
        error = (f"VM did not finish the batch within {total + boot_allowance:.0f} s and "
                 f"was killed\n{_tails(console_text, stdout_text)}")
    elif meta.get("init-error", "").strip():
        error = f"the VM could not run the batch: {meta['init-error'].strip()}"
    elif not meta:
        qemu_err = run.qemu_log.read_text(errors="replace").strip()
        error = (f"VM ended without writing its results (qemu exit {run.returncode}"
                 f"{': ' + qemu_err if qemu_err else ''})\n{_tails(console_text, stdout_text)}")
    return BatchResult(results=results, problems=problems, out_dir=out_dir, console=console,
                       wall_seconds=run.wall, boot_seconds=run.boot_seconds, error=error)


def _collect_gcov(out_dir, dest_root, build):
    """Copy out_dir/gcov/*.gcda to dest_root/<name of out_dir>/, one directory per run."""
    try:
        name = str(out_dir.relative_to(build / "artefacts"))
    except ValueError:
        name = str(out_dir).lstrip("/")
    dest = Path(dest_root) / re.sub(r"[^A-Za-z0-9_.\[\]=-]+", "_", name.replace("/", "__"))
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(out_dir / "gcov", dest)


def time_scale():
    """MPAGEFS_TIME_SCALE (default 1): one factor for every VM timeout, for slow or
    loaded machines.  Timeouts only fire on a real hang, so raising it never
    changes what passes."""
    try:
        f = float(os.environ.get("MPAGEFS_TIME_SCALE", "1"))
    except ValueError:
        raise VmError("MPAGEFS_TIME_SCALE must be a number")
    if f <= 0:
        raise VmError("MPAGEFS_TIME_SCALE must be positive")
    return f


def _scaled(timeout, boot_allowance, gcov):
    """(timeout, boot_allowance, gcov) for this kernel and MPAGEFS_TIME_SCALE."""
    scale = time_scale()
    if kernel_flavour() == "debug":
        timeout = timeout * debug_slowdown()
        boot_allowance = max(boot_allowance, DEBUG_BOOT_ALLOWANCE)
        gcov = True if gcov is None else gcov
    elif gcov:
        raise VmError("gcov=True needs the debug kernel (MPAGEFS_KERNEL=debug)")
    return timeout * scale, boot_allowance * scale, gcov


def debug_slowdown():
    """Timeout factor under the debug kernel (MPAGEFS_DEBUG_SLOWDOWN, default DEBUG_SLOWDOWN)."""
    try:
        return max(1.0, float(os.environ.get("MPAGEFS_DEBUG_SLOWDOWN", DEBUG_SLOWDOWN)))
    except ValueError:
        raise VmError("MPAGEFS_DEBUG_SLOWDOWN must be a number")


def _tails(console_text, stdout_text, n=15):
    parts = []
    if console_text:
        parts.append("--- console.log (last lines) ---\n"
                     + "\n".join(console_text.splitlines()[-n:]))
    if stdout_text:
        parts.append("--- job output (last lines) ---\n"
                     + "\n".join(stdout_text.splitlines()[-n:]))
    return "\n".join(parts)


def run_shell(build, disks=(), script="", files=None, mem="1G", modules=(), smp=2):
    """Boot the same VM interactively: console and shell on this terminal (Ctrl-A X
    quits QEMU).  SCRIPT runs first, on the console (mount, banner)."""
    build = Path(build).resolve()
    with tempfile.TemporaryDirectory(prefix="mpagevm-") as tmp:
        job_img, results_img = Path(tmp) / "job.tar", Path(tmp) / "results.img"
        make_job_disk(job_img, script, files)
        with open(results_img, "wb") as f:
            f.truncate(RESULTS_DISK_SIZE)
        cmd = qemu_command(build, job_img, results_img, list(disks), modules=modules,
                           mem=mem, smp=smp, mode="shell")
        return subprocess.run(cmd).returncode


def main():
    ap = argparse.ArgumentParser(description="Run a script in the mpagefs test VM.")
    ap.add_argument("--build", default=str(HERE.parent / "build"))
    ap.add_argument("--disk", action="append", default=[], help="image for /dev/vdc, vdd, ...")
    ap.add_argument("--script", help="guest sh script (job mode)")
    ap.add_argument("--file", action="append", default=[], metavar="NAME=PATH",
                    help="extra file copied to /job/NAME")
    ap.add_argument("--module", action="append", default=[], help="extra module to load")
    ap.add_argument("--out", help="artefact directory (default build/artefacts/vm)")
    ap.add_argument("--timeout", type=int, default=300)
    ap.add_argument("--mem", default="1G")
    ap.add_argument("--shell", action="store_true", help="interactive VM instead of a job")
    args = ap.parse_args()
    files = dict(f.split("=", 1) for f in args.file)

    if args.shell:
        script = Path(args.script).read_text() if args.script else ""
        sys.exit(run_shell(args.build, args.disk, script, files, args.mem, args.module))
    if not args.script:
        ap.error("--script is required (or --shell)")
    try:
        r = run_vm(args.build, Path(args.script).read_text(), disks=args.disk, files=files,
                   out_dir=args.out, timeout=args.timeout, mem=args.mem, modules=args.module)
    except VmError as e:
        if e.result is not None:
            sys.stdout.write(e.result.stdout)
        print(f"vm.py: {e}", file=sys.stderr)
        sys.exit(2)
    sys.stdout.write(r.stdout)
    boot = f"{r.boot_seconds:.1f} s" if r.boot_seconds is not None else "?"
    print(f"vm.py: status {r.status}, boot {boot}, total {r.wall_seconds:.1f} s, "
          f"artefacts in {r.out_dir}", file=sys.stderr)
    sys.exit(r.status if 0 <= r.status < 256 else 1)


if __name__ == "__main__":
    main()
