"""The fs/mpage.c scenario suite (`mpagectl scenario run NAME`), one test per scenario.

Each scenario formats its scratch disk, mounts it, drives one path of mpage.c
and checks the file's bios in the trace, the get_block counters and the data it
read back (userspace/src/scenario/scenario.cpp). Every scenario is a job of its own
(its own 64 MiB scratch disk, output and exit status), all of them in one boot
(lab.vm_job): a test fails with that scenario's failed verdicts or error, and
asserts the runner's exact exit code (0: passed; 1 would be a failed verdict,
3 a scenario that could not run: README, "Exit codes"). The kernel log of the
boot must stay clean (qemu/vm.py), also where a scenario plants a corrupt map
entry (EUCLEAN from get_block) or fills the disk (ENOSPC); a problem fails
every scenario of the boot, naming the one that was running.

Marked debug_kernel: the same tests run under the debug kernel (KASAN,
lockdep, gcov: make check-debug, make coverage), where the gcov counters are
zeroed before and saved after each job, so qemu/mpage_coverage.py can say
which scenario first reached each line of mpage.c.
"""
import json
import subprocess
from pathlib import Path

import pytest

from lab import GUEST_PRELUDE, GuestJob, vm_job

MPAGECTL = Path(__file__).resolve().parents[2] / "build" / "mpagectl"


def scenario_names():
    """`mpagectl scenario list --json` at collection; ["(mpagectl not built)"] when
    there is no build, so that the test fails saying so instead of vanishing."""
    try:
        out = subprocess.run([str(MPAGECTL), "scenario", "list", "--json"], check=True,
                             capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return ["(mpagectl not built)"]
    return [s["name"] for s in json.loads(out)]


NAMES = scenario_names()


def scenario_job(ctx, name):
    disk = ctx.tmp / "scratch.img"
    with open(disk, "wb") as f:
        f.truncate(64 << 20)
    script = GUEST_PRELUDE + f"""
set +e
mpagectl scenario run {name} -d /dev/vdc --json > $OUT/report.json 2> $OUT/stderr
echo $? > $OUT/rc
"""
    # fsck=False: the runner fsck's every image itself (each scenario's "fsck"
    # check), and the last step of some leaves a deliberately damaged image.
    return GuestJob(script, disks=[disk], modules=("dm-mod",), fsck=False)


scenario = vm_job(scenario_job, "scenario")


def test_the_suite_is_what_scenario_list_names():
    assert NAMES != ["(mpagectl not built)"], f"{MPAGECTL} missing: run make first"
    assert len(NAMES) >= 20 and len(set(NAMES)) == len(NAMES)


@pytest.mark.debug_kernel
@pytest.mark.mpage_scenario
@pytest.mark.parametrize("name", NAMES)
def test_scenario(scenario, name):
    rc = int((scenario.out / "rc").read_text())
    report = json.loads((scenario.out / "report.json").read_text())
    (s,) = report["scenarios"]
    assert s["name"] == name
    failed = [v for v in s["verdicts"] if not v["passed"]]
    assert s["passed"] and not failed and not s.get("error"), json.dumps(
        {"error": s.get("error"), "failed verdicts": failed,
         "stderr": (scenario.out / "stderr").read_text()}, indent=1)
    assert rc == 0, f"exit {rc}, expected 0 for a passed scenario"
    # A scenario that checks no bios would show nothing of mpage.c.
    assert any(v["check"].startswith(("bios", "bio-count", "contiguous", "no-bio", "readahead"))
               for v in s["verdicts"]), s["verdicts"]
