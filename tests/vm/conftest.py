"""Fixtures for the VM tests (run from the repo root: python3 -m pytest tests/vm).

    top        repo root (Path)
    build      build directory (Path); the session fails if the initramfs is missing
    artefacts  build/artefacts/<test name>/, emptied per test; kept after the run
    vm         vm(script, disks=..., files=..., timeout=..., fsck=True, ...) -> VmResult:
               qemu/vm.py's run_vm with build and out_dir=artefacts filled in;
               afterwards every mpagefs disk must pass `mpagectl fsck`
    mpagectl   build/mpagectl (Path); fails the test when it has not been built
    vm_boots   (session) the jobs of the lab.vm_job fixtures that the selected tests
               use, run in as few boots as the disks allow (MAX_BATCH_DISKS per
               boot), in test order; each test gets its own job's result

Kernel: Debian's by default; --kernel=debug (or MPAGEFS_KERNEL=debug) runs every VM
under the debug kernel (qemu/debug-kernel/, make check-debug) with build/debug/'s
initramfs and mpagefs.ko.  Tests marked @pytest.mark.debug_kernel are the subset
`make check-debug` and `make coverage` run (-m debug_kernel).
"""
import inspect
import os
import re
import shutil
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

TOP = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(TOP / "qemu"))

from vm import (MAX_BATCH_DISKS, Job, KernelLogError, VmError, artefacts_root,  # noqa: E402
                kernel_flavour, kernel_series, run_batch, run_vm)
import lab  # noqa: E402


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
    return f"mpagefs VM kernel: {kernel_flavour()}, series {kernel_series()}"


@pytest.fixture(scope="session")
def top():
    return TOP


@pytest.fixture(scope="session")
def build(top):
    b = top / "build"
    # 6.1's artefacts are in build/, another series' in build/k<series>/ (Makefile).
    series = kernel_series()
    kb = b if series == "6.1" else b / f"k{series}"
    if kernel_flavour() == "debug":
        # The debug kernel's initramfs carries <kb>/debug/mpagefs.ko (built against
        # the debug tree) and build/mpagectl.
        rd, target = kb / "debug" / "initramfs.cpio.gz", f"initramfs-debug KERNEL={series}"
        inputs = (kb / "debug" / "mpagefs.ko", b / "mpagectl")
    else:
        rd, target = kb / "initramfs.cpio.gz", f"initramfs KERNEL={series}"
        inputs = (kb / "mpagefs.ko", kb / "ext2.ko", kb / "mpagectl")
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
    d = artefacts_root(build) / name
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
        if fsck:
            errors = fsck_errors(build / "mpagectl", kwargs.get("disks") or [])
            assert not errors, "\n".join(errors)
        return r
    return run


@pytest.fixture(scope="session")
def mpagectl(build):
    p = build / "mpagectl"
    if not p.exists():
        pytest.fail(f"{p} not built: run make first", pytrace=False)
    return p


def fsck_errors(mpagectl, disks):
    """`mpagectl fsck` of every mpagefs disk: [message] for those not clean."""
    bad = []
    for disk in disks:
        if not is_mpagefs(disk):
            continue
        rc, out = lab.fsck(mpagectl, disk)
        if rc != 0:
            bad.append(f"fsck of {disk} after the VM run (exit {rc}):\n{out}")
    return bad


class JobRun(SimpleNamespace):
    """A job's result: r (the VmResult), out (its $OUT on the host) and the
    job's data, as attributes or as keys."""

    def __getitem__(self, key):
        return getattr(self, key)


def _job_name(fixture_name, params):
    name = fixture_name + "".join(f"-{k}={v}" for k, v in sorted(params.items()))
    return re.sub(r"[^A-Za-z0-9_.=+-]+", "_", name)[:120]


class VmBoots:
    """The lab.vm_job jobs of the session's selected tests, in the order the tests
    come, cut into boots of at most MAX_BATCH_DISKS disks (a few boots for the
    whole suite); a boot runs when a test first needs one of its jobs."""

    def __init__(self, session, build, mpagectl, tmp_path_factory):
        self.session = session
        self.build, self.mpagectl, self.tmp = build, mpagectl, tmp_path_factory
        self.groups = None          # [[job name, ...] per boot]
        self.specs = {}             # job name -> (module, fixture name, params)
        self.runs = {}              # job name -> (BatchResult, GuestJob, [fsck errors])
        self.built = {}             # job name -> GuestJob (images made, not yet run)

    @staticmethod
    def _fixture(module, fname):
        o = vars(module).get(fname)
        return o if hasattr(o, "job_factory") else None

    def _key(self, item, fname):
        fx = self._fixture(item.module, fname)
        params = dict(getattr(getattr(item, "callspec", None), "params", {}))
        if fx.job_param:
            params[fx.job_param] = params.pop(fname)
        wanted = inspect.signature(fx.job_factory).parameters
        params = {k: v for k, v in params.items() if k in wanted}
        mod = item.module.__name__.rsplit(".", 1)[-1].removeprefix("test_")
        return _job_name(f"{mod}.{fname}", params), params

    def _plan(self):
        order = []
        for item in self.session.items:
            module = getattr(item, "module", None)
            for fname in item.fixturenames if module else ():
                if self._fixture(module, fname):
                    name, params = self._key(item, fname)
                    if name not in self.specs:
                        self.specs[name] = (module, fname, params)
                        order.append(name)
        # One queue; _run_group cuts it into boots by disks as it builds the jobs.
        self.groups = [order]

    def _build(self, name):
        if name not in self.built:
            module, fname, params = self.specs[name]
            ctx = SimpleNamespace(tmp=self.tmp.mktemp(name, numbered=True), mpagectl=self.mpagectl,
                                  build=self.build, top=TOP)
            self.built[name] = self._fixture(module, fname).job_factory(ctx, **params)
        return self.built[name]

    def _run_group(self, names):
        # The boot takes the queued jobs in order while their disks fit; the
        # rest stay queued for the next boot.
        take, ndisks = [], 0
        for name in names:
            g = self._build(name)
            if take and ndisks + len(g.disks) > MAX_BATCH_DISKS:
                break
            take.append((name, g))
            ndisks += len(g.disks)
        rest = names[len(take):]
        jobs = [Job.of(n, g) for n, g in take]
        # Named after its first job: what a person looks for, and two pytest
        # sessions running different tests at once do not clobber each other.
        out = artefacts_root(self.build) / "boots" / take[0][0]
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        br = run_batch(self.build, jobs, out)
        self.runs_by_boot.append(out)
        for n, g in take:
            errors = fsck_errors(self.mpagectl, g.disks) if g.fsck and not br.error else []
            self.runs[n] = (br, g, errors)
        return rest

    def result(self, item, fixture_name):
        if self.groups is None:
            self.runs_by_boot = []
            self._plan()
        name, _ = self._key(item, fixture_name)
        # Boot the queue until this job has run (jobs are built in the order the
        # tests come, so it is normally in the next boot).
        while name not in self.runs:
            queue = self.groups[0]
            if name not in queue:
                raise VmError(f"job {name!r} was not planned (a test that pytest did not select?)")
            self.groups[0] = self._run_group(queue)
        br, g, errors = self.runs[name]
        why = br.failure(name)
        if why:
            if br.problems:
                raise KernelLogError(why, [line for _, line in br.problems])
            raise VmError(why)
        r = br.results[name]
        if g.status is not None and r.status != g.status:
            raise VmError(f"job {name!r} exited with status {r.status}, not {g.status} "
                          f"(artefacts: {r.out_dir})\n--- job output (last lines) ---\n"
                          + "\n".join(r.stdout.splitlines()[-25:]))
        assert not errors, "\n".join(errors)
        return JobRun(r=r, out=Path(r.out), **g.data)


@pytest.fixture(scope="session")
def vm_boots(request, build, mpagectl, tmp_path_factory):
    return VmBoots(request.session, build, mpagectl, tmp_path_factory)
