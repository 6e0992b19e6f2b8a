"""Fixtures for the host-side CLI tests (no VM): python3 -m pytest tests/cli

    mpagectl   build/mpagectl (Path; $MPAGECTL overrides); fails the test
               clearly when it has not been built (make userspace)
    fixtures   tests/fixtures/blktrace (Path)
    run        run(*args) -> CompletedProcess of mpagectl with text output
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
