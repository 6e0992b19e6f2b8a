"""The fs/mpage.c scenario suite (`mpagectl scenario run --all`) in one VM.

Each scenario formats the scratch disk, mounts it, drives one path of
mpage.c and checks the file's bios in the trace, the get_block counters and
the data it read back (userspace/src/scenario.cpp); the runner exits 1 when
any check fails. Here every scenario must pass, and the JSON must hold one
entry per scenario that `scenario list` names, each with the checks it ran.
The kernel log must stay clean (qemu/vm.py), also where a scenario plants a
corrupt map entry (EUCLEAN from get_block) or fills the disk (ENOSPC).

Marked debug_kernel: the same test runs under the debug kernel (KASAN,
lockdep, gcov: make check-debug, make coverage). Each scenario is its own
`mpagectl scenario run NAME`; where the kernel has gcov, the counters are
zeroed before and saved after each one ($OUT/gcov/NAME), and with
MPAGEFS_GCOV_COLLECT=DIR they are copied to DIR/scenario-NN-NAME/, one run
per scenario in suite order, so qemu/mpage_coverage.py can say which scenario
first reached each line of mpage.c.
"""
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from lab import GUEST_PRELUDE
from mpage_coverage import GUEST_GCOV, scenarios_from_out


@pytest.mark.debug_kernel
def test_every_scenario_passes(vm, mpagectl, tmp_path):
    names = [s["name"] for s in json.loads(subprocess.run(
        [str(mpagectl), "scenario", "list", "--json"], check=True,
        capture_output=True, text=True).stdout)]
    assert len(names) >= 20 and len(set(names)) == len(names)
    disk = tmp_path / "scratch.img"
    with open(disk, "wb") as f:
        f.truncate(64 << 20)
    script = GUEST_PRELUDE + GUEST_GCOV + """
set +e
mkdir -p $OUT/scen
gcov=0; [ -w /sys/kernel/debug/gcov/reset ] && gcov=1
status=0
for name in %s; do
	[ $gcov = 1 ] && gcov_reset
	mpagectl scenario run "$name" --dev /dev/vdc --json > $OUT/scen/$name.json 2> $OUT/scen/$name.err || status=1
	[ $gcov = 1 ] && gcov_save "$name"
done
echo "status $status"
""" % " ".join(names)
    # The last scenario may leave a deliberately damaged image: the runner
    # fsck's every image itself (the "fsck" check of each scenario).
    # gcov=False: the counters are per scenario (gcov_reset/gcov_save), not per VM.
    r = vm(script, disks=[str(disk)], timeout=600, fsck=False, gcov=False, modules=["dm-mod"])
    runs = [json.loads((r.out / "scen" / f"{n}.json").read_text()) for n in names]
    report = {"scenarios": [run["scenarios"][0] for run in runs],
              "failed": sum(run["failed"] for run in runs)}
    (r.out / "scenarios.json").write_text(json.dumps(report, indent=1))
    got = [s["name"] for s in report["scenarios"]]
    assert got == names
    collect = os.environ.get("MPAGEFS_GCOV_COLLECT")
    if collect:
        for name, d in scenarios_from_out(r.out).items():
            dest = Path(collect) / f"scenario-{names.index(name):02d}-{name}"
            shutil.rmtree(dest, ignore_errors=True)
            shutil.copytree(d, dest)
    failed = {s["name"]: [v for v in s["verdicts"] if not v["passed"]] or s.get("error")
              for s in report["scenarios"] if not s["passed"]}
    assert not failed, json.dumps(failed, indent=1)
    for s in report["scenarios"]:
        assert any(v["check"].startswith(("bios", "bio-count", "contiguous", "no-bio", "readahead"))
                   for v in s["verdicts"]), s["name"]
    assert report["failed"] == 0 and "status 0" in r.stdout, r.stdout
