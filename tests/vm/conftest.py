"""Fixtures for the VM tests (run from the repo root: python3 -m pytest tests/vm).

    top        repo root (Path)
    build      build directory (Path); the session fails if the initramfs is missing
    artefacts  build/artefacts/<test name>/, emptied per test; kept after the run
    vm         vm(script, disks=..., files=..., timeout=..., fsck=True, ...) -> VmResult:
               qemu/vm.py's run_vm with build and out_dir=artefacts filled in;
               afterwards every mpagefs disk must pass `mpagectl fsck`
    mpagectl   build/mpagectl (Path); fails the test when it has not been built

Kernel: Debian's by default; --kernel=debug (or MPAGEFS_KERNEL=debug) runs every VM
under the debug kernel (qemu/debug-kernel/, make check-debug) with build/debug/'s
initramfs and mpagefs.ko.  Tests marked @pytest.mark.debug_kernel are the subset
`make check-debug` and `make coverage` run (-m debug_kernel).
"""
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

TOP = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(TOP / "qemu"))

from vm import kernel_flavour, run_vm  # noqa: E402  (needs the sys.path entry above)


def pytest_addoption(parser):
    parser.addoption("--kernel", choices=["debian", "debug"], default=None,
                     help="kernel the VM tests boot (default: $MPAGEFS_KERNEL or debian)")


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "debug_kernel: part of the debug-kernel subset (make check-debug, "
        "make coverage): the tests that matter most under KASAN/lockdep/kmemleak")
    k = config.getoption("--kernel", default=None)
    if k:
        # run_vm reads the environment, so fixtures that call it directly agree.
        os.environ["MPAGEFS_KERNEL"] = k


def pytest_report_header(config):
    return f"mpagefs VM kernel: {kernel_flavour()}"


@pytest.fixture(scope="session")
def top():
    return TOP


@pytest.fixture(scope="session")
def build(top):
    b = top / "build"
    if kernel_flavour() == "debug":
        # The debug kernel's initramfs carries build/debug/mpagefs.ko (built against
        # the debug tree) and build/mpagectl.
        rd, target = b / "debug" / "initramfs.cpio.gz", "initramfs-debug"
        inputs = (b / "debug" / "mpagefs.ko", b / "mpagectl")
    else:
        rd, target = b / "initramfs.cpio.gz", "initramfs"
        inputs = (b / "mpagefs.ko", b / "ext2.ko", b / "mpagectl")
    if not rd.exists():
        pytest.fail(f"{rd} is missing: run make first "
                    f"(make {target}, or make {'check-debug' if 'debug' in target else 'vm-test'})",
                    pytrace=False)
    # A module or mpagectl rebuilt after the initramfs would not be what the VM runs.
    initramfs = rd.stat().st_mtime
    stale = [str(p.relative_to(b)) for p in inputs
             if p.exists() and p.stat().st_mtime > initramfs]
    if stale:
        pytest.fail(f"{', '.join(stale)} newer than {rd}: "
                    f"run make first (make {target})", pytrace=False)
    return b


@pytest.fixture
def artefacts(build, request):
    # Node names may hold parametrization ids ("test_x[1024-on]"): keep them readable
    # but safe as one path component.
    name = re.sub(r"[^A-Za-z0-9_.\[\]=-]+", "_", request.node.name)
    d = build / "artefacts" / name
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    return d


MPAGEFS_MAGIC = (0x4D504746).to_bytes(4, "little")   # kmod/mpagefs_fs.h


def is_mpagefs(image):
    try:
        with open(image, "rb") as f:
            return f.read(4) == MPAGEFS_MAGIC
    except OSError:
        return False


@pytest.fixture
def vm(build, artefacts):
    """run_vm, then `mpagectl fsck` on every mpagefs disk the VM used.

    Pass fsck=False for tests that hand the VM deliberately corrupt images.
    """
    def run(script, fsck=True, **kwargs):
        kwargs.setdefault("out_dir", artefacts)
        r = run_vm(build, script, **kwargs)
        for disk in (kwargs.get("disks") or []) if fsck else []:
            if not is_mpagefs(disk):
                continue
            p = subprocess.run([str(build / "mpagectl"), "fsck", str(disk)],
                               capture_output=True, text=True)
            assert p.returncode == 0, (f"fsck of {disk} after the VM run "
                                       f"(exit {p.returncode}):\n{p.stdout}{p.stderr}")
        return r
    return run


@pytest.fixture(scope="session")
def mpagectl(build):
    p = build / "mpagectl"
    if not p.exists():
        pytest.fail(f"{p} not built: run make first", pytrace=False)
    return p
