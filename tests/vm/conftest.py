"""Fixtures for the VM tests (run from the repo root: python3 -m pytest tests/vm).

    top        repo root (Path)
    build      build directory (Path); the session fails if the initramfs is missing
    artefacts  build/artefacts/<test name>/, emptied per test; kept after the run
    vm         vm(script, disks=..., files=..., timeout=..., ...) -> VmResult:
               qemu/vm.py's run_vm with build and out_dir=artefacts filled in
    mpagectl   build/mpagectl (Path); fails the test when it has not been built
"""
import re
import shutil
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


@pytest.fixture
def vm(build, artefacts):
    def run(script, **kwargs):
        kwargs.setdefault("out_dir", artefacts)
        return run_vm(build, script, **kwargs)
    return run


@pytest.fixture(scope="session")
def mpagectl(build):
    p = build / "mpagectl"
    if not p.exists():
        pytest.fail(f"{p} not built: run make first", pytrace=False)
    return p
