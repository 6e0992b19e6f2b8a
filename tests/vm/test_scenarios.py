"""The fs/mpage.c scenario suite (`mpagectl scenario run --all`) in one VM.

Each scenario formats the scratch disk, mounts it, drives one path of
mpage.c and checks the file's bios in the trace, the get_block counters and
the data it read back (userspace/src/scenario.cpp); the runner exits 1 when
any check fails. Here every scenario must pass, and the JSON must hold one
entry per scenario that `scenario list` names, each with the checks it ran.
The kernel log must stay clean (qemu/vm.py), also where a scenario plants a
corrupt map entry (EUCLEAN from get_block) or fills the disk (ENOSPC).

Marked debug_kernel: the same test runs under the debug kernel (KASAN,
lockdep, gcov) when the debug-kernel machinery selects it.
"""
import json
import subprocess

import pytest

from lab import GUEST_PRELUDE


@pytest.mark.debug_kernel
def test_every_scenario_passes(vm, mpagectl, tmp_path):
    names = [s["name"] for s in json.loads(subprocess.run(
        [str(mpagectl), "scenario", "list", "--json"], check=True,
        capture_output=True, text=True).stdout)]
    assert len(names) >= 20 and len(set(names)) == len(names)
    disk = tmp_path / "scratch.img"
    with open(disk, "wb") as f:
        f.truncate(64 << 20)
    script = GUEST_PRELUDE + """
set +e
mpagectl scenario run --all --dev /dev/vdc --json > $OUT/scenarios.json 2> $OUT/scenarios.err
echo "status $?"
"""
    # The last scenario may leave a deliberately damaged image: the runner
    # fsck's every image itself (the "fsck" check of each scenario).
    r = vm(script, disks=[str(disk)], timeout=600, fsck=False)
    report = json.loads((r.out / "scenarios.json").read_text())
    got = [s["name"] for s in report["scenarios"]]
    assert got == names
    failed = {s["name"]: [v for v in s["verdicts"] if not v["passed"]] or s.get("error")
              for s in report["scenarios"] if not s["passed"]}
    assert not failed, json.dumps(failed, indent=1)
    for s in report["scenarios"]:
        assert any(v["check"].startswith(("bios", "bio-count", "contiguous", "no-bio", "readahead"))
                   for v in s["verdicts"]), s["name"]
    assert report["failed"] == 0 and "status 0" in r.stdout, r.stdout
