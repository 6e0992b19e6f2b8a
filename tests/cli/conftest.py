"""Fixtures for the host-side CLI tests (no VM): python3 -m pytest tests/cli

    mpagectl   build/mpagectl (Path; $MPAGECTL overrides); fails the test
               clearly when it has not been built (make userspace)
    fixtures   tests/fixtures/blktrace (Path)
    run        run(*args) -> CompletedProcess of mpagectl with text output
    image      the 1 KiB-block image the mpagefs-f17 fixture was traced on
               (one per test module)
"""
import os
import subprocess
from pathlib import Path

import pytest

TOP = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def mpagectl():
    p = Path(os.environ.get("MPAGECTL", TOP / "build" / "mpagectl"))
    if not p.is_file() or not os.access(p, os.X_OK):
        pytest.fail(f"{p} not built: run `make userspace` first", pytrace=False)
    return p


@pytest.fixture(scope="session")
def fixtures():
    return TOP / "tests" / "fixtures" / "blktrace"


@pytest.fixture(scope="session")
def run(mpagectl):
    def run(*args, **kw):
        return subprocess.run([str(mpagectl), *map(str, args)], capture_output=True,
                              text=True, timeout=60, **kw)
    return run


@pytest.fixture(scope="module")
def image(run, tmp_path_factory):
    """The image the mpagefs-f17 fixture was traced on: mkfs --populate of
    f17 (17 KiB) and f300 (300 KiB) at 1 KiB blocks puts /f17's data 0-11 at
    disk 132-143, its IND at 144, data 12-16 at 145-149 (the fixture's README)."""
    d = tmp_path_factory.mktemp("image")
    src = d / "src"
    src.mkdir()
    (src / "f17").write_bytes(b"a" * 17 * 1024)
    (src / "f300").write_bytes(b"b" * 300 * 1024)
    img = d / "f.img"
    p = run("mkfs", "--block-size", 1024, "--size", "4M", "--populate", src,
            "--uuid-seed", 1, "--time", 0, img)
    assert p.returncode == 0, p.stderr
    return img
