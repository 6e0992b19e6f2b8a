"""Tests of the VM harness itself (qemu/vm.py, qemu/init, qemu/mkinitramfs.py):
every channel the other VM tests rely on is checked end to end, and so is each
way a run must fail."""
import hashlib
import os
import random

import pytest

from lab import GuestJob, vm_job
from vm import (Job, KernelLogError, VmError, attribute_problems, kernel_log_problems, read_ttys1,
                remap_disks, run_batch, split_job_output, vd_name)


def test_status_and_stdout_come_back(vm):
    r = vm('echo "to stdout"; echo "to stderr" >&2; printf "no newline"; exit 7',
           timeout=60)
    assert r.status == 7
    # ttyS1 is raw: bytes as written, no CR added, stderr interleaved.
    assert r.stdout == "to stdout\nto stderr\nno newline"
    assert r.console.exists() and "mpagevm: job end (status 7)" in r.console.read_text()
    assert (r.out_dir / "qemu-cmdline.txt").read_text().startswith("qemu-system-x86_64 ")
    assert (r.out_dir / "result.txt").read_text() == r.stdout


def test_guest_environment(vm, tmp_path):
    extra = tmp_path / "extra.txt"
    extra.write_text("extra file content\n")
    script = r"""
set -e
echo "cwd=$(pwd) OUT=$OUT JOB=$JOB DISKS=$DISKS"
cat /job/data/extra.txt
for d in /sys/block/vd*; do echo "$(basename $d) $(cat $d/queue/scheduler)"; done
grep -q ' /sys/kernel/debug debugfs' /proc/mounts && echo debugfs-mounted
echo 3 > /proc/sys/vm/drop_caches && echo drop-caches-ok
"""
    disk = tmp_path / "d.img"
    disk.write_bytes(bytes(1 << 20))
    r = vm(script, disks=[disk],
           files={"data/extra.txt": extra}, timeout=60)
    assert r.status == 0, r.stdout
    lines = r.stdout.splitlines()
    assert lines[0] == "cwd=/job OUT=/out JOB=/job DISKS=/dev/vdc"
    assert lines[1] == "extra file content"
    # mq-deadline is the selected scheduler of every disk (6.1 lists
    # "[mq-deadline] none", 6.12 "none [mq-deadline]").
    assert sorted(line.split()[0] for line in lines[2:5]) == ["vda", "vdb", "vdc"]
    assert all("[mq-deadline]" in line.split()[1:] for line in lines[2:5]), lines[2:5]
    assert lines[5:] == ["debugfs-mounted", "drop-caches-ok"]


def test_out_files_come_back_byte_exact(vm):
    script = """
set -e
mkdir -p $OUT/sub
dd if=/dev/urandom of=$OUT/sub/random.bin bs=1024 count=1024 2>/dev/null
sha256sum $OUT/sub/random.bin | cut -d' ' -f1
printf 'a\\r\\nb' > $OUT/crlf.txt
"""
    r = vm(script, timeout=120)
    assert r.status == 0, r.stdout
    got = (r.out / "sub" / "random.bin").read_bytes()
    assert len(got) == 1 << 20
    assert hashlib.sha256(got).hexdigest() == r.stdout.strip()
    assert (r.out / "crlf.txt").read_bytes() == b"a\r\nb"


def test_disks_are_visible_in_order(vm, tmp_path):
    images = []
    for i in range(2):
        img = tmp_path / f"disk{i}.img"
        img.write_bytes(random.Random(i).randbytes(3 << 20))
        images.append(img)
    r = vm('set -e; for d in $DISKS; do sha256sum $d; done', disks=images, timeout=120)
    assert r.status == 0, r.stdout
    want = [f"{hashlib.sha256(img.read_bytes()).hexdigest()}  /dev/vd{c}"
            for img, c in zip(images, "cd")]
    assert r.stdout.splitlines() == want


def test_requested_modules_are_loaded(vm, tmp_path):
    r = vm("grep -E '^(dm_flakey|vfat|fat|dm_mod) ' /proc/modules | cut -d' ' -f1 | sort;"
           " grep -w vfat /proc/filesystems", modules=["vfat", "dm-flakey"], timeout=60)
    assert r.status == 0, r.stdout
    assert r.stdout.split() == ["dm_flakey", "dm_mod", "fat", "vfat", "vfat"]


def test_loadmod_in_the_guest(vm):
    r = vm("set -e; loadmod nls_cp437; grep -c '^nls_cp437 ' /proc/modules;"
           " loadmod no_such_module || echo refused", timeout=60)
    assert r.status == 0, r.stdout
    assert r.stdout.splitlines()[0] == "1"
    assert r.stdout.splitlines()[-1] == "refused"


def test_planted_warning_fails_the_run(vm):
    with pytest.raises(KernelLogError) as e:
        vm('echo "WARNING: planted" > /dev/kmsg; echo done', timeout=60)
    assert "WARNING: planted" in str(e.value)
    assert [line.split("] ", 1)[1] for line in e.value.lines] == ["WARNING: planted"]
    # The run itself completed; the artefacts are there to look at.
    assert e.value.result.status == 0 and e.value.result.stdout == "done\n"


def test_clean_boot_has_no_problem_lines(vm):
    r = vm("true", timeout=60)
    assert r.status == 0
    assert r.problems == []
    assert "mpagevm: job start" in r.console.read_text()


def test_kernel_log_patterns():
    bad = ["[    1.000000] BUG: kernel NULL pointer dereference, address: 0000000000000008",
           "[    1.000000] WARNING: CPU: 1 PID: 93 at fs/mpage.c:100 do_mpage_readpage+0x1/0x2",
           "[    1.000000] Oops: 0000 [#1] PREEMPT SMP NOPTI",
           "[    1.000000] general protection fault, probably for non-canonical address",
           "[    1.000000] Call Trace:",
           "[    1.000000] kernel BUG at fs/buffer.c:42!",
           "[    1.000000] WARNING: possible circular locking dependency detected",
           "[  240.000000] INFO: task cat:123 blocked for more than 120 seconds.",
           "[    1.000000] Kernel panic - not syncing: Fatal exception",
           "[    1.000000] BUG: KASAN: use-after-free in mpagefs_get_block+0x10/0x20"]
    harmless = ["[    0.680153] PCI: Using host bridge windows from ACPI; if necessary, "
                "use \"pci=nocrs\" and report a bug",
                "[    1.179238] AMD-Vi: AMD IOMMUv2 functionality not available on this "
                "system - This is not a bug.",
                "[    2.075177] virtio_ring: module verification failed: signature and/or "
                "required key missing - tainting kernel",
                "[    3.000000] mpagevm: job end (status 1)",
                "[    0.000000] Kernel command line: console=ttyS0 panic=-1 panic_on_warn=0"]
    assert kernel_log_problems("\n".join(harmless + bad)) == bad


def test_hung_job_is_killed_by_the_guest_timeout(vm):
    with pytest.raises(VmError) as e:
        vm("echo hanging now; sleep 600", timeout=8)
    assert type(e.value) is VmError
    assert "timed out" in str(e.value)
    assert e.value.result.stdout == "hanging now\n"


def test_stuck_guest_is_killed_by_the_host(vm):
    # Without the guest-side timeout only the host can end this run.
    with pytest.raises(VmError) as e:
        vm("echo hanging now; sleep 600", timeout=1, guest_timeout=False,
           boot_allowance=40)
    assert type(e.value) is VmError
    assert "did not finish" in str(e.value)
    # The job was running (not stuck in boot) when the host gave up.
    assert e.value.result.stdout == "hanging now\n"
    assert e.value.result.status is None


def test_check_raises_on_failing_job(vm):
    with pytest.raises(VmError) as e:
        vm("echo failing; exit 3", timeout=60, check=True)
    assert "status 3" in str(e.value)


def test_filesystems_are_registered(vm, build):
    r = vm("cat /proc/filesystems", timeout=60)
    assert r.status == 0
    names = {line.split()[-1] for line in r.stdout.splitlines() if line.strip()}
    assert "ext2" in names
    if (build / "mpagefs.ko").exists():
        assert "mpagefs" in names
    else:
        pytest.fail("build/mpagefs.ko not built: run make first")


def test_mpagectl_runs_in_the_guest(vm, mpagectl):
    r = vm("mpagectl --help", timeout=60)
    assert r.status == 0, r.stdout
    assert "mkfs" in r.stdout


def test_artefacts_are_kept(vm):
    r = vm("echo hi > $OUT/x", timeout=60)
    names = set(os.listdir(r.out_dir))
    assert {"console.log", "result.txt", "dmesg.txt", "job.sh", "job.tar",
            "qemu-cmdline.txt", "out"} <= names
    assert "mpagevm: job start" in (r.out_dir / "dmesg.txt").read_text()


def test_guest_kernel_crash_is_reported(vm):
    # A crash (here a forced one) must end the run promptly (panic=-1, -no-reboot)
    # and be reported with the oops lines, not as a mere timeout.
    with pytest.raises(KernelLogError) as e:
        vm("echo crashing; echo c > /proc/sysrq-trigger; sleep 600", timeout=120)
    assert any("sysrq" in line.lower() or "Oops" in line for line in e.value.lines)
    assert "did not finish" in str(e.value)
    assert e.value.result.wall_seconds < 100


# --- several jobs in one boot (qemu/vm.py run_batch, conftest vm_boots) ---

def test_vd_names_and_remapping():
    assert [vd_name(i) for i in (0, 2, 25, 26, 29)] == ["vda", "vdc", "vdz", "vdaa", "vdad"]
    script = "mount /dev/vdc /mnt/a; cat /sys/fs/mpagefs/vdd/stats; dd if=/dev/vda; echo vdcx"
    assert remap_disks(script, 3, 2) == \
        "mount /dev/vdf /mnt/a; cat /sys/fs/mpagefs/vdg/stats; dd if=/dev/vda; echo vdcx"
    with pytest.raises(VmError, match="names vde but has 2 disk"):
        remap_disks("cat /dev/vde", 0, 2)


def test_job_output_and_kernel_log_are_split_per_job():
    tty = ("@@mpagevm-job-begin a\nline 1\nno newline\n@@mpagevm-job-end a 0\n"
           "@@mpagevm-job-begin b\n\n@@mpagevm-job-end b 3\n"
           "@@mpagevm-job-begin c\npartial")
    assert split_job_output(tty) == {"a": "line 1\nno newline", "b": "", "c": "partial"}
    console = "\n".join(["[ 1.0] WARNING: at boot",
                         "[ 2.0] mpagevm: batch job a start (disks: none)",
                         "[ 2.5] BUG: in a",
                         "[ 3.0] mpagevm: batch job a end (status 0)",
                         "[ 3.5] Call Trace:",
                         "[ 4.0] mpagevm: batch job b start (disks: /dev/vdc)"])
    assert attribute_problems(console) == [("boot", "[ 1.0] WARNING: at boot"),
                                           ("a", "[ 2.5] BUG: in a"),
                                           ("after a", "[ 3.5] Call Trace:")]


def isolation_a(ctx):
    disk = ctx.tmp / "a.img"
    disk.write_bytes(b"DISK-A" + bytes((1 << 20) - 6))
    return GuestJob(r"""
set -e
mkdir -p /mnt/a
mount -t tmpfs none /mnt/a
cd /mnt/a
setsid sleep 600 < /dev/null > /dev/null 2>&1 &
echo left > /tmp/leftover
echo 0 > /proc/sys/vm/dirty_writeback_centisecs
echo A > $OUT/mine
head -c 6 /dev/vdc; echo
echo "DISKS=$DISKS JOB=$JOB OUT=$OUT"
ls -1 /job
""", disks=[disk], files={"a-only.txt": disk})


def isolation_b(ctx):
    disk = ctx.tmp / "b.img"
    disk.write_bytes(b"DISK-B" + bytes((1 << 20) - 6))
    return GuestJob(r"""
echo "mounts at /mnt/a: $(grep -c ' /mnt/a ' /proc/mounts)"
echo "tmp: $(ls -A /tmp | grep -v loadmod | wc -l)"
# live processes running "sleep 600" (a zombie has no cmdline; State Z).
# 2>/dev/null comes before the < : a process that exits between the glob and
# the open must not put the shell's "can't open" message into the output.
n=0
for p in /proc/[0-9]*; do
	[ "$(tr '\0' ' ' 2>/dev/null < $p/cmdline)" = "sleep 600 " ] || continue
	grep -q '^State:.*Z' $p/status 2>/dev/null || n=$((n + 1))
done
echo "sleepers: $n"
ps -o pid,stat,args > $OUT/ps 2>&1 || ps > $OUT/ps
echo "dirty_writeback_centisecs: $(cat /proc/sys/vm/dirty_writeback_centisecs)"
head -c 6 /dev/vdc; echo
echo "DISKS=$DISKS JOB=$JOB OUT=$OUT"
ls -1 /job
""", disks=[disk], files={"b-only.txt": disk})


iso_a = vm_job(isolation_a, "iso_a")
iso_b = vm_job(isolation_b, "iso_b")


def test_each_job_sees_its_own_disks_files_and_out(iso_a, iso_b):
    a, b = iso_a.r.stdout.splitlines(), iso_b.r.stdout.splitlines()
    assert a[0] == "DISK-A" and b[4] == "DISK-B"
    # Both scripts say /dev/vdc; each got its own disk, and DISKS names it.
    assert a[1].startswith("DISKS=/dev/vd") and a[1].endswith(f" JOB=/job OUT=/out/{iso_a.out.name}")
    assert b[5].startswith("DISKS=/dev/vd") and b[5].endswith(f" JOB=/job OUT=/out/{iso_b.out.name}")
    assert a[1].split()[0] != b[5].split()[0]
    assert a[2:] == ["a-only.txt", "run.sh"]
    assert b[6:] == ["b-only.txt", "run.sh"]
    assert (iso_a.out / "mine").read_text() == "A\n"
    assert not (iso_b.out / "mine").exists()


def test_the_next_job_finds_the_vm_as_booted(iso_a, iso_b):
    """Whatever iso_a left (a mount, a background process, a file in /tmp, a
    writeback tunable) is gone when iso_b runs."""
    lines = dict(line.split(": ", 1) for line in iso_b.r.stdout.splitlines() if ": " in line)
    assert lines["mounts at /mnt/a"] == "0"
    assert lines["tmp"] == "0"
    assert lines["sleepers"] == "0"
    assert lines["dirty_writeback_centisecs"] != "0"


def test_a_kernel_problem_fails_the_whole_boot_naming_its_job(build, tmp_path):
    """A WARNING planted by one job spoils every job of the boot, and the
    failure names the job during which it appeared; a job that hangs is killed
    at its own timeout and the jobs after it still run."""
    jobs = [Job(name="first", script="echo one"),
            Job(name="hangs", script="echo hanging; sleep 600", timeout=5),
            Job(name="warns", script='echo "WARNING: planted in warns" > /dev/kmsg; echo two'),
            Job(name="last", script="echo three")]
    br = run_batch(build, jobs, tmp_path / "boot")
    assert br.error is None
    assert [(j, line.split("] ", 1)[1]) for j, line in br.problems] == \
        [("warns", "WARNING: planted in warns")]
    why = br.failure("first")
    assert "in job(s) warns" in why and "WARNING: planted in warns" in why
    assert br.results["first"].stdout == "one\n" and br.results["last"].stdout == "three\n"
    assert br.results["last"].status == 0
    assert br.results["hangs"].timed_out and br.results["hangs"].stdout == "hanging\n"
    assert br.results["warns"].problems and not br.results["last"].problems


def test_ttys1_probe_byte_is_not_job_output(tmp_path):
    """Host only: the 0xff the 8250 probe leaves on ttyS1 of a kernel without ACPI
    (the debug kernels) before the first begin marker is dropped, so the first
    job's output is found; nothing else of the stream changes."""
    f = tmp_path / "result.txt"
    f.write_bytes(b"\xff@@mpagevm-job-begin a\nx\xff\n@@mpagevm-job-end a 0\n")
    assert read_ttys1(f) == "@@mpagevm-job-begin a\nx\ufffd\n@@mpagevm-job-end a 0\n"
    assert read_ttys1(tmp_path / "missing") == ""


def test_two_initramfs_writers_of_one_build_both_succeed(build, top, tmp_path):
    """Host only: two makes of one build directory (a VM suite and make bench
    side by side) may write the same initramfs at once.  Each must write its
    own temporary file and rename it into place; with one shared temporary
    name one renamed the other's away and failed ("No such file")."""
    import gzip
    import subprocess
    import sys
    from vm import kernel_flavour, kernel_series
    if kernel_flavour() == "debug":
        pytest.skip("the debug initramfs is made from the debug tree (make initramfs-debug)")
    kver = subprocess.run([str(top / "qemu" / "kver.sh"), kernel_series()], check=True,
                          capture_output=True, text=True).stdout.split()[0]
    out = tmp_path / "initramfs.cpio.gz"
    cmd = [sys.executable, str(top / "qemu" / "mkinitramfs.py"), "--kver", kver, "--build", str(build),
           "--out", str(out)]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    assert gzip.decompress(out.read_bytes())[:6] == b"070701"     # a newc cpio
    assert sorted(x.name for x in tmp_path.iterdir()) == ["initramfs.cpio.gz"]
