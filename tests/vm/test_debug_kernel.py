"""The debug-kernel machinery (make check-debug, make coverage).

The kmemleak rule of qemu/vm.py is checked on the host against reports in the
format of /sys/kernel/debug/kmemleak.  Under the debug kernel
(MPAGEFS_KERNEL=debug) one VM job checks that the kernel is the one we built,
that KASAN, lockdep and kmemleak are live, and that the gcov counters of
fs/mpage.c come back from the VM and move when mpagefs reads a file; under
Debian's kernel that test is skipped.
"""
import pytest

from lab import GUEST_PRELUDE, GuestJob, mkfs_mpagefs, rand_bytes, vm_job
from mpage_coverage import merge, line_stats, function_lines
from vm import debug_tree, kernel_flavour, kmemleak_problems, kmemleak_reports

REPORT = """unreferenced object 0xffff888005a3c000 (size 64):
  comm "insmod", pid 71, jiffies 4294892296 (age 12.340s)
  hex dump (first 32 bytes):
    00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00  ................
  backtrace:
    [<ffffffff8133a7c1>] kmem_cache_alloc+0x1a1/0x3b0
    [<ffffffff81a0b2c4>] acpi_ut_allocate_object_desc_dbg+0x4c/0x100
unreferenced object 0xffff888006b1d800 (size 1024):
  comm "cat", pid 90, jiffies 4294899000 (age 8.100s)
  backtrace:
    [<ffffffff8133a7c1>] __kmalloc+0x4f/0x150
    [<ffffffffc0201234>] mpagefs_get_block+0x44/0x200 [mpagefs]
    [<ffffffff81412f00>] do_mpage_readpage+0x2d0/0x900
unreferenced object 0xffff888006b1e000 (size 104):
  comm "sync", pid 95, jiffies 4294899100 (age 7.000s)
  backtrace:
    [<ffffffff8133a7c1>] kmem_cache_alloc+0x1a1/0x3b0
    [<ffffffff81400a10>] alloc_buffer_head+0x21/0x90
    [<ffffffff81400c20>] folio_alloc_buffers+0x80/0x1a0
unreferenced object 0xffff888006b1f000 (size 32):
  comm "rmmod", pid 99, jiffies 4294899200 (age 6.000s)
  backtrace:
    [<ffffffff8133a7c1>] __kmalloc+0x4f/0x150
    [<ffffffffc0203300>] 0xffffffffc0203300
"""


def test_kmemleak_rule_picks_mpage_buffer_and_module_frames():
    reports = kmemleak_reports(REPORT)
    assert len(reports) == 4
    bad = kmemleak_problems(REPORT)
    # the ACPI boot-time report is kept but does not fail the run
    assert [r.splitlines()[0].split()[2] for r in bad] == [
        "0xffff888006b1d800", "0xffff888006b1e000", "0xffff888006b1f000"]
    assert kmemleak_problems(reports[0]) == []
    assert kmemleak_problems("") == []


def live_job(ctx):
    src = ctx.tmp / "src"
    src.mkdir()
    (src / "f").write_bytes(rand_bytes(300 * 1024, seed=6))
    image = mkfs_mpagefs(ctx.mpagectl, ctx.tmp / "d.img", src, 1024, "8M")
    script = GUEST_PRELUDE + """
uname -r
test -f /proc/lockdep && echo LOCKDEP
test -w /sys/kernel/debug/kmemleak && echo KMEMLEAK
find /sys/kernel/debug/gcov -name mpage.gcda | grep -q . && echo GCOV
mount -t mpagefs -o ro /dev/vdc /mnt/a
cat /mnt/a/f | sha256sum
umount /mnt/a
"""
    return GuestJob(script, disks=[image], timeout=120)


live = vm_job(live_job, "live")


@pytest.mark.debug_kernel
def test_debug_kernel_checks_are_live(live):
    if kernel_flavour() != "debug":
        pytest.skip("needs the debug kernel (make check-debug, MPAGEFS_KERNEL=debug)")
    r = live.r
    boot = r.console.parent          # the boot's artefacts; r.out_dir is the job's
    assert r.stdout.splitlines()[0].endswith("-mpagefs-debug"), r.stdout
    for word in ("LOCKDEP", "KMEMLEAK", "GCOV"):
        assert word in r.stdout, r.stdout
    assert "KernelAddressSanitizer initialized" in r.console.read_text(errors="replace")
    # kmemleak ran after the boot's last job and its verdict came back
    assert (boot / "kmemleak.txt").exists()
    # the job's own counters came back, and the cold read went through mpage_readahead
    gcov = boot / "gcov" / r.out.name
    assert (gcov / "mpage.gcda").stat().st_size > 0
    cov = merge(debug_tree(), {"job": gcov})["mpage"]
    assert cov.functions["mpage_readahead"][2] > 0
    hit, total, _, _ = line_stats(cov, function_lines(cov, "do_mpage_readpage"))
    assert 0 < hit <= total
