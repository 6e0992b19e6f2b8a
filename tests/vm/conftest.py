"""Fixtures for the VM tests (run from the repo root: python3 -m pytest tests/vm).

    top        repo root (Path)
    build      build directory (Path); the session fails if the initramfs is missing
    artefacts  build/artefacts/<test name>/, emptied per test; kept after the run
    vm         vm(script, disks=..., files=..., timeout=..., fsck=True, ...) -> VmResult:
               qemu/vm.py's run_vm with build and out_dir=artefacts filled in;
               afterwards every mpagefs disk must pass `mpagectl fsck`
    mpagectl   build/mpagectl (Path); fails the test when it has not been built
"""
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

TOP = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(TOP / "qemu"))

from vm import run_vm  # noqa: E402  (needs the sys.path entry above)


@pytest.fixture(scope="session")
def top():
    return TOP


@pytest.fixture(scope="session")
def build(top):
    b = top / "build"
    if not (b / "initramfs.cpio.gz").exists():
        pytest.fail(f"{b / 'initramfs.cpio.gz'} is missing: run make first "
                    "(make initramfs, or make vm-test)", pytrace=False)
    # A module or mpagectl rebuilt after the initramfs would not be what the VM runs.
    initramfs = (b / "initramfs.cpio.gz").stat().st_mtime
    stale = [p.name for p in (b / "mpagefs.ko", b / "ext2.ko", b / "mpagectl")
             if p.exists() and p.stat().st_mtime > initramfs]
    if stale:
        pytest.fail(f"{', '.join(stale)} newer than {b / 'initramfs.cpio.gz'}: "
                    "run make first (make initramfs)", pytrace=False)
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
