"""Namespace operations on a read-write mount, measured in a VM.

A job per block size (1 and 4 KiB) runs a scripted sequence of create / mkdir /
link / symlink / mknod / rename / unlink / rmdir calls through tests/vm/nsop.c
(built static on the host: busybox cannot make renameat2 calls or report
errno), each with the result POSIX asks for, then fills one directory with
thousands of files (so it spans many blocks, past the direct pointers), reads
it while deleting, checks telldir/seekdir, and compares a full listing before
and after a remount and with `mpagectl ls` on the host.  The image is checked
by `mpagectl fsck` afterwards.  Two more jobs: a full filesystem (ENOSPC) and
corrupt directories on a read-write mount (EUCLEAN).

All four jobs go through lab.vm_job: one VM boot for the module where it
took one per job (measured on the loaded 2-core host: 4 boots, 78 s before;
1 boot, 42-47 s after).  /init clears the kernel's ring buffer before each job of
a boot, so a job's `dmesg` holds only its own lines: what the corrupt
directories (or another module's job) logged is not counted against the
others.

EMLINK needs 32000 links; instead of making them, the host raises a file's
and a directory's link count in the image before the boot (and puts the true
counts back before fsck: the job itself is not fsck'ed by the harness).
"""
import json
import re
from pathlib import Path

import pytest

from lab import GUEST_PRELUDE, GuestJob, assert_fsck_clean, build_static, mkfs_mpagefs, run, vm_job

HERE = Path(__file__).resolve().parent
LINK_MAX = 32000  # kmod/mpagefs.h MPAGEFS_LINK_MAX, as ext2

N255, N256 = "n" * 255, "N" * 256
T59, T60, T500 = "t" * 59, "u" * 60, "v/" * 250


def steps(bs):
    """(label, nsop arguments, expected result) in the order the guest runs them.

    Paths are relative to the mount point.  The result is what nsop prints after
    the op name: "ok", an errno name, or for stat a dict of fields to match.
    """
    return [
        ("root before", ["stat", "."], {}),
        ("create", ["create", "f1"], "ok"),
        ("root after create", ["stat", "."], {}),
        ("create existing", ["create", "f1"], "EEXIST"),
        ("mkdir", ["mkdir", "d1"], "ok"),
        ("mkdir existing", ["mkdir", "d1"], "EEXIST"),
        ("mkdir over a file", ["mkdir", "f1"], "EEXIST"),
        ("create in subdir", ["create", "d1/x"], "ok"),
        ("rmdir non-empty", ["rmdir", "d1"], "ENOTEMPTY"),
        ("rmdir a file", ["rmdir", "f1"], "ENOTDIR"),
        ("unlink a dir", ["unlink", "d1"], "EISDIR"),
        ("unlink missing", ["unlink", "nope"], "ENOENT"),
        ("rmdir missing", ["rmdir", "nope"], "ENOENT"),
        ("create in missing dir", ["create", "nope/x"], "ENOENT"),
        ("create 255", ["create", N255], "ok"),
        ("create 256", ["create", N256], "ENAMETOOLONG"),
        ("mkdir 256", ["mkdir", N256], "ENAMETOOLONG"),
        ("stat 255", ["stat", N255], {"nlink": 1, "size": 0}),
        # Names whose last byte is >= 0x80 (UTF-8 "é" is c3 a9): the name
        # search compares the last byte on its own first, which must not
        # depend on char's signedness; twins differing in the last or the
        # first byte only.
        ("create café", ["create", "café"], "ok"),
        ("café first", ["stat", "café"], {"nlink": 1}),
        ("create cafè", ["create", "cafè"], "ok"),
        ("create xafé", ["create", "xafé"], "ok"),
        ("create café existing", ["create", "café"], "EEXIST"),
        ("café is café", ["stat", "café"], {"same_ino": "café first"}),
        ("unlink cafè", ["unlink", "cafè"], "ok"),
        ("cafè gone", ["stat", "cafè"], "ENOENT"),
        ("unlink xafé", ["unlink", "xafé"], "ok"),
        ("café still café", ["stat", "café"], {"same_ino": "café first"}),
        ("link", ["link", "f1", "f1b"], "ok"),
        ("link existing", ["link", "f1", "f1b"], "EEXIST"),
        ("link a dir", ["link", "d1", "d1b"], "EPERM"),
        ("f1 links", ["stat", "f1"], {"nlink": 2}),
        ("symlink fast", ["symlink", "f1", "sf"], "ok"),
        ("symlink 59", ["symlink", T59, "s59"], "ok"),
        ("symlink 60", ["symlink", T60, "s60"], "ok"),
        ("symlink 500", ["symlink", T500, "s500"], "ok"),
        ("symlink too long", ["symlink", "w" * bs, "sx"], "ENAMETOOLONG"),
        ("symlink existing", ["symlink", "f1", "sf"], "EEXIST"),
        ("readlink fast", ["readlink", "sf"], "ok 2 f1"),
        ("readlink 59", ["readlink", "s59"], f"ok 59 {T59}"),
        ("readlink 60", ["readlink", "s60"], f"ok 60 {T60}"),
        ("readlink 500", ["readlink", "s500"], f"ok 500 {T500}"),
        ("fast symlink has no blocks", ["stat", "s59"], {"size": 59, "blocks": 0}),
        ("mknod chr", ["mknod-chr", "cdev", "1", "3"], "ok"),
        ("mknod fifo", ["mknod-fifo", "fifo"], "ok"),
        ("cdev", ["stat", "cdev"], {"rdev": "1:3", "mode": "20600"}),
        ("mkdir d2", ["mkdir", "d2"], "ok"),
        ("root links", ["stat", "."], {"nlink": 5}),   # ., .., d1, d2, ml
        # rename: same directory, across directories, directories
        ("rename in dir", ["rename", "f1b", "f2"], "ok"),
        ("rename across", ["rename", "f2", "d2/f2"], "ok"),
        ("renamed away", ["stat", "f2"], "ENOENT"),
        ("f1 links after renames", ["stat", "f1"], {"nlink": 2}),
        ("mkdir sub", ["mkdir", "d1/sub"], "ok"),
        ("d1 links with sub", ["stat", "d1"], {"nlink": 3}),
        ("rename dir across", ["rename", "d1/sub", "d2/sub"], "ok"),
        ("d1 links", ["stat", "d1"], {"nlink": 2}),
        ("d2 links", ["stat", "d2"], {"nlink": 3}),
        ("dotdot moved", ["stat", "d2/sub/.."], {"same_ino": "d2"}),
        ("d2 itself", ["stat", "d2"], {}),
        ("create a", ["create", "a"], "ok"),
        ("create b", ["create", "b"], "ok"),
        ("a", ["stat", "a"], {}),
        ("rename over a file", ["rename", "a", "b"], "ok"),
        ("b is a now", ["stat", "b"], {"same_ino": "a", "nlink": 1}),
        ("mkdir e1", ["mkdir", "e1"], "ok"),
        ("mkdir e2", ["mkdir", "d2/e2"], "ok"),
        ("rename over an empty dir", ["rename", "e1", "d2/e2"], "ok"),
        ("d2 links after replace", ["stat", "d2"], {"nlink": 4}),
        ("mkdir n1", ["mkdir", "n1"], "ok"),
        ("rename over a non-empty dir", ["rename", "n1", "d2"], "ENOTEMPTY"),
        ("rename dir over a file", ["rename", "n1", "b"], "ENOTDIR"),
        ("rename file over a dir", ["rename", "b", "n1"], "EISDIR"),
        ("rename dir into itself", ["rename", "d2", "d2/sub/d2"], "EINVAL"),
        ("noreplace existing", ["rename-noreplace", "b", "f1"], "EEXIST"),
        ("noreplace new", ["rename-noreplace", "b", "c"], "ok"),
        ("whiteout", ["rename-whiteout", "c", "d"], "EINVAL"),
        ("exchange file and dir", ["rename-exchange", "c", "d2/sub"], "ok"),
        ("c is a dir", ["stat", "c"], {"mode": "40755", "nlink": 2}),
        ("c/.. is root", ["stat", "c/.."], {"same_ino": "."}),
        ("d2 after exchange", ["stat", "d2"], {"nlink": 3}),
        ("exchange missing", ["rename-exchange", "c", "nope"], "ENOENT"),
        ("tmpfile", ["tmpfile", ".", "tf"], "ok"),
        ("tmpfile linked", ["stat", "tf"], {"nlink": 1, "size": 8}),
        ("rmdir n1", ["rmdir", "n1"], "ok"),
        ("rmdir c", ["rmdir", "c"], "ok"),
        ("unlink 255", ["unlink", N255], "ok"),
        ("root links at the end", ["stat", "."], {"nlink": 5}),
        # EMLINK (the host set hl to LINK_MAX - 1 links, ml to LINK_MAX)
        ("link to the limit", ["link", "hl", "hl2"], "ok"),
        ("hl at the limit", ["stat", "hl"], {"nlink": LINK_MAX}),
        ("link past the limit", ["link", "hl", "hl3"], "EMLINK"),
        ("unlink hl2", ["unlink", "hl2"], "ok"),
        ("mkdir past the limit", ["mkdir", "ml/x"], "EMLINK"),
        ("rename dir past the limit", ["rename", "d2/e2", "ml/e2"], "EMLINK"),
    ]


def guest_script(bs, nfiles):
    lines = ["N=/job/nsop",
             "mount -t mpagefs /dev/vdc /mnt/a", "cd /mnt/a"]
    for i, (_, args, _) in enumerate(steps(bs)):
        quoted = " ".join(f"'{a}'" for a in args)
        lines.append(f'echo "S{i} $($N {quoted})"')
    lines.append(r"""
mkdir big
$N many big f NFILES
$N seekdir big; echo "seekdir-exit created $?"
$N tree big > $OUT/big_created.txt
$N readdir-delete big > $OUT/readdir_delete.txt
$N unlink-every big f NFILES 10
$N seekdir big; echo "seekdir-exit thinned $?"
mkdir par
for p in a b c d; do $N many par $p 400 > $OUT/par_$p.txt & done
wait
cd /
$N tree /mnt/a > $OUT/tree_before.txt
umount /mnt/a
echo 3 > /proc/sys/vm/drop_caches
mount -t mpagefs -o ro /dev/vdc /mnt/a
$N tree /mnt/a > $OUT/tree_after.txt
for l in sf s59 s60 s500; do echo "remounted $l $($N readlink /mnt/a/$l)"; done
echo "remounted s500 $($N stat /mnt/a/s500)"
umount /mnt/a
# dirsync: every directory change is written before the call returns
mount -t mpagefs -o dirsync /dev/vdc /mnt/a
mkdir /mnt/a/ds
echo "dirsync $($N create /mnt/a/ds/a) $($N rename /mnt/a/ds/a /mnt/a/ds/b) \
$($N link /mnt/a/ds/b /mnt/a/ds/c) $($N unlink /mnt/a/ds/b) $($N unlink /mnt/a/ds/c) \
$($N rmdir /mnt/a/ds)"
umount /mnt/a
dmesg | grep 'mpagefs (' > $OUT/mpagefs_msgs.txt || true
echo done
""".replace("NFILES", str(nfiles)))
    return "\n".join(lines)


def parse_stat(text):
    f = text.split()
    if not f or f[0] != "ok":
        return None
    return {k: f[i + 1] for i, k in enumerate(f) if k in (
        "ino", "nlink", "mode", "size", "rdev", "blocks", "mtime", "ctime")}


def parse_tree(path, top):
    """nsop tree output -> [(relative path, {field: value})] in readdir order."""
    out = []
    for line in Path(path).read_text().splitlines():
        m = re.match(r"(.*) ino (\d+) nlink (\d+) mode (\d+) size (\d+) rdev (\S+) "
                     r"mtime (\d+) ctime (\d+) dotdot (\d+)$", line)
        assert m, line
        rel = m.group(1)[len(top):].lstrip("/") or "."
        out.append((rel, dict(ino=int(m.group(2)), nlink=int(m.group(3)),
                              mode=m.group(4), size=int(m.group(5)), rdev=m.group(6),
                              mtime=int(m.group(7)), ctime=int(m.group(8)),
                              dotdot=int(m.group(9)))))
    return out


def inode_offset(image, ino, bs):
    """Byte offset of inode `ino` (kmod/mpagefs_fs.h: table at s_inode_table)."""
    with open(image, "rb") as f:
        sb = f.read(256)
    table = int.from_bytes(sb[64:68], "little")
    return table * bs + (ino - 1) * 128


def set_links(image, ino, bs, count):
    with open(image, "r+b") as f:
        f.seek(inode_offset(image, ino, bs) + 2)   # i_links_count after i_mode
        f.write(count.to_bytes(2, "little"))


def ls_image(mpagectl, image, path):
    """`mpagectl ls` -> {name: (ino, links, size)}"""
    out = {}
    for line in run([mpagectl, "ls", image, path]).stdout.splitlines():
        f = line.split()
        if len(f) >= 7 and f[0].isdigit():
            out[f[6]] = (int(f[0]), int(f[2]), int(f[5]))
    return out


def build_nsop(build):
    """build/nsop, (re)built static from tests/vm/nsop.c when older."""
    return build_static(HERE / "nsop.c", Path(build) / "nsop")


def ns_job(ctx, bs):
    nfiles = 3000 if bs == 1024 else 5000
    src = ctx.tmp / "src"
    (src / "ml").mkdir(parents=True)
    (src / "hl").write_bytes(b"hard link target\n")
    image = mkfs_mpagefs(ctx.mpagectl, ctx.tmp / "ns.img", src, bs, "24M",
                         extra=["--inodes", "8192"])
    names = ls_image(ctx.mpagectl, image, "/")
    hl, ml = names["hl"][0], names["ml"][0]
    set_links(image, hl, bs, LINK_MAX - 1)
    set_links(image, ml, bs, LINK_MAX)
    # fsck=False: the image's link counts are wrong on purpose until the ns
    # fixture puts them back; test_fsck_is_clean checks it then.
    return GuestJob(GUEST_PRELUDE + guest_script(bs, nfiles), disks=[image],
                    files={"nsop": build_nsop(ctx.build)}, timeout=900, fsck=False,
                    data=dict(bs=bs, nfiles=nfiles, image=image, hl=hl, ml=ml))


ns_vm = vm_job(ns_job, "ns_vm", params=[1024, 4096], param="bs")


@pytest.fixture
def ns(ns_vm):
    """The ns job's result with its image's true link counts back (hl: 1 after
    hl2 went; ml: 2) and results: {step index: what nsop printed}."""
    set_links(ns_vm.image, ns_vm.hl, ns_vm.bs, 1)
    set_links(ns_vm.image, ns_vm.ml, ns_vm.bs, 2)
    results = {}
    for line in ns_vm.r.stdout.splitlines():
        m = re.match(r"S(\d+) (\S+) ?(.*)$", line)
        if m:
            results[int(m.group(1))] = m.group(3)
    ns_vm.results = results
    return ns_vm


@pytest.mark.debug_kernel
def test_each_call_gives_the_posix_result(ns):
    failures = []
    got_stat = {}
    for i, (label, args, want) in enumerate(steps(ns["bs"])):
        got = ns["results"].get(i)
        if got is None:
            failures.append(f"{label}: no result")
            continue
        if args[0] == "stat":
            st = parse_stat(got)
            if isinstance(want, str):
                if got != want:
                    failures.append(f"{label}: {got!r}, expected {want!r}")
                continue
            if st is None:
                failures.append(f"{label}: {got}")
                continue
            got_stat[args[1]] = st
            for k, v in want.items():
                if k == "same_ino":
                    if st["ino"] != got_stat[v]["ino"]:
                        failures.append(f"{label}: inode {st['ino']}, expected that of "
                                        f"{v} ({got_stat[v]['ino']})")
                elif st[k] != str(v):
                    failures.append(f"{label}: {k} {st[k]}, expected {v}")
            got_stat[label] = st
        elif got != want:
            failures.append(f"{label}: {got!r}, expected {want!r}")
    assert not failures, "\n".join(failures)


def test_directory_times_change(ns):
    """Adding a name sets the directory's mtime and ctime."""
    labels = [s[0] for s in steps(ns["bs"])]
    before = parse_stat(ns["results"][labels.index("root before")])
    after = parse_stat(ns["results"][labels.index("root after create")])
    assert int(after["mtime"]) > int(before["mtime"])
    assert int(after["ctime"]) > int(before["ctime"])


def test_many_files_span_many_blocks(ns):
    tree = parse_tree(ns["out"] / "big_created.txt", "big")
    names = [p for p, _ in tree if p != "."]
    assert sorted(names) == sorted(f"f{i}" for i in range(ns["nfiles"]))
    big = dict(tree)["."]
    # more than the 12 direct blocks: the directory grew through an indirect block
    assert big["size"] > 12 * ns["bs"], big
    assert big["size"] % ns["bs"] == 0


def test_seekdir_returns_to_the_same_entry(ns):
    out = ns["r"].stdout.splitlines()
    # nsop's exit status is echoed after each run, so a crash (e.g. 139) is
    # told apart from a check that found a mismatch (1)
    exits = [line.split()[1:] for line in out if line.startswith("seekdir-exit")]
    assert exits == [["created", "0"], ["thinned", "0"]], ns["r"].stdout
    lines = [line for line in out if line.startswith("seekdir ")]
    assert len(lines) == 2, ns["r"].stdout
    for line in lines:
        m = re.match(r"seekdir checked (\d+) bad (\d+)", line)
        assert m, line
        assert int(m.group(1)) > 100 and int(m.group(2)) == 0, line


def test_readdir_while_deleting_neither_skips_nor_repeats(ns):
    text = (ns["out"] / "readdir_delete.txt").read_text().splitlines()
    seen = [line.split(" ", 1)[1] for line in text if line.startswith("seen ")]
    summary = text[-1].split()
    assert summary[:2] == ["readdir-delete", "total"]
    n = ns["nfiles"]
    assert int(summary[2]) == n + 2 and int(summary[6]) == n // 2
    assert len(seen) == len(set(seen)), "a name came twice"
    kept = {".", ".."} | {f"f{i}" for i in range(0, n, 2)}
    missing = kept - set(seen)
    assert not missing, f"{len(missing)} entries never unlinked were skipped"


def test_listing_survives_remount(ns):
    before = parse_tree(ns["out"] / "tree_before.txt", "/mnt/a")
    after = parse_tree(ns["out"] / "tree_after.txt", "/mnt/a")
    assert len(before) > ns["nfiles"] * 4 // 10
    # same entries, same readdir order, same inodes, links, sizes and times
    assert after == before
    big = sorted(p for p, _ in after if p.startswith("big/"))
    n = ns["nfiles"]
    want = sorted(f"big/f{i}" for i in range(0, n, 2) if i % 10)
    assert big == want


def test_symlinks_survive_remount(ns, mpagectl):
    """Fast targets come back from i_data, slow ones from their data block,
    which the slow symlink holds (i_blocks) and mpagectl reads the same."""
    out = ns["r"].stdout
    targets = {"sf": "f1", "s59": T59, "s60": T60, "s500": T500}
    for name, target in targets.items():
        assert f"remounted {name} readlink ok {len(target)} {target}\n" in out, name
    st = parse_stat(out.split("remounted s500 stat ")[1].splitlines()[0])
    assert st["blocks"] == str(ns["bs"] // 512)
    host = run([mpagectl, "ls", ns["image"], "/"]).stdout
    for name, target in targets.items():
        assert re.search(rf" {name} -> {re.escape(target)}$", host, re.M), name


def test_dirsync_mount(ns):
    assert "dirsync create ok rename ok link ok unlink ok unlink ok rmdir ok" in ns["r"].stdout


def test_parallel_creates_in_one_directory(ns):
    for p in "abcd":
        assert (ns["out"] / f"par_{p}.txt").read_text() == "many ok 400\n"
    tree = parse_tree(ns["out"] / "tree_after.txt", "/mnt/a")
    names = sorted(p for p, _ in tree if p.startswith("par/"))
    assert names == sorted(f"par/{p}{i}" for p in "abcd" for i in range(400))


def test_dotdot_records_name_the_parent(ns):
    """Every directory's ".." record (read by readdir, not the dcache) names its
    parent, and a directory has 2 links plus one per subdirectory; the
    directories moved by rename (d2/e2 replaced a directory, d1/sub went to d2
    and was exchanged with c) included."""
    for name in ("tree_before.txt", "tree_after.txt"):
        tree = dict(parse_tree(ns["out"] / name, "/mnt/a"))
        assert "d2/e2" in tree
        for path, st in tree.items():
            if not st["mode"].startswith("40"):
                continue
            parent = path.rsplit("/", 1)[0] if "/" in path else "."
            assert st["dotdot"] == tree[parent]["ino"], (name, path)
            subdirs = sum(1 for p, s in tree.items() if p != path and s["mode"].startswith("40")
                          and (p.rsplit("/", 1)[0] if "/" in p else ".") == path)
            want = LINK_MAX if path == "ml" else 2 + subdirs
            assert st["nlink"] == want, (name, path)


def test_host_listing_matches(ns, mpagectl):
    after = dict(parse_tree(ns["out"] / "tree_after.txt", "/mnt/a"))
    for d in (".", "d2", "big"):
        host = ls_image(mpagectl, ns["image"], "/" if d == "." else "/" + d)
        guest = {p.rsplit("/", 1)[-1]: (s["ino"], s["nlink"], s["size"])
                 for p, s in after.items()
                 if p != d and (p.rsplit("/", 1)[0] if "/" in p else ".") == d}
        host.pop(".", None)
        host.pop("..", None)
        # the image's link counts were put back for fsck: compare hl apart
        if d == ".":
            assert guest.pop("hl")[1] == LINK_MAX - 1
            assert host.pop("hl")[1] == 1
            assert guest.pop("ml")[1] == LINK_MAX
            host.pop("ml")
        assert host == guest, d


def test_kernel_log_has_no_mpagefs_errors(ns):
    msgs = (ns["out"] / "mpagefs_msgs.txt").read_text().strip()
    assert msgs == ""


@pytest.mark.debug_kernel
def test_fsck_is_clean(ns, mpagectl):
    assert_fsck_clean(mpagectl, ns["image"])


# --- a full filesystem -------------------------------------------------------

FULL_SCRIPT = r"""
N=/job/nsop
mount -t mpagefs /dev/vdc /mnt/a
cd /mnt/a
echo "start $($N statfs .)"
mkdir w
# out of inodes
$N many w i 400 || true
echo "mkdir without inodes: $($N mkdir w/x)"
echo "symlink without inodes: $($N symlink t w/s)"
rm w/i*
echo "after inodes: $($N statfs .)"
# out of blocks
dd if=/dev/zero of=w/fill bs=1024 2>/dev/null || true
echo "mkdir without blocks: $($N mkdir w/d)"
echo "slow symlink without blocks: $($N symlink $(printf 'x%.0s' $(seq 100)) w/s)"
# names of 200 bytes: the directory's blocks fill up long before the inodes
$N many w nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn 400 || true
echo "after blocks: $($N statfs .)"
rm -r w
echo "end $($N statfs .)"
cd /
umount /mnt/a
dmesg | grep 'mpagefs (' > $OUT/mpagefs_msgs.txt || true
"""


def full_job(ctx):
    image = mkfs_mpagefs(ctx.mpagectl, ctx.tmp / "full.img", None, 1024, "1M",
                         extra=["--inodes", "128"])
    return GuestJob(GUEST_PRELUDE + FULL_SCRIPT, disks=[image],
                    files={"nsop": build_nsop(ctx.build)}, data=dict(image=image))


full = vm_job(full_job, "full")


def _statfs(line):
    f = line.split()
    i = f.index("ok")
    return {f[j]: int(f[j + 1]) for j in range(i + 1, len(f) - 1, 2)}


def test_running_out_of_inodes_and_blocks_gives_enospc(full):
    out = full["r"].stdout
    assert re.search(r"^many failed at w/i\d+: ENOSPC$", out, re.M), out
    assert "mkdir without inodes: mkdir ENOSPC" in out
    assert "symlink without inodes: symlink ENOSPC" in out
    assert "mkdir without blocks: mkdir ENOSPC" in out
    assert "slow symlink without blocks: symlink ENOSPC" in out
    # the directory cannot grow by another block (inodes are left)
    assert re.search(r"^many failed at w/n{200}\d+: ENOSPC$", out, re.M), out
    assert _statfs(out.split("after blocks: ")[1].splitlines()[0])["ffree"] > 50


def test_failed_and_removed_names_give_everything_back(full):
    lines = {line.split(" ", 1)[0]: line for line in full["r"].stdout.splitlines()
             if line.startswith(("start", "end", "after"))}
    start, end = _statfs(lines["start"]), _statfs(lines["end"])
    assert start == end
    blocks = _statfs(full["r"].stdout.split("after blocks: ")[1].splitlines()[0])
    assert blocks["bfree"] < 4


def test_full_filesystem_leaves_no_errors(full, mpagectl):
    assert (full["out"] / "mpagefs_msgs.txt").read_text().strip() == ""
    assert_fsck_clean(mpagectl, full["image"])


# --- corrupt directories on a read-write mount --------------------------------

CORRUPT_SCRIPT = r"""
N=/job/nsop
mount -t mpagefs /dev/vdc /mnt/a
cd /mnt/a
for op in "create bad/x" "mkdir bad/y" "symlink t bad/s" "unlink bad/f" "rmdir bad" \
          "rename nodotdot/f nodotdot/g" "rename nodotdot d/nodotdot" "create ok" \
          "stat two/b" "unlink two/a" "unlink two/b" "rmdir low/sub" "stat low"; do
	echo "corrupt $op: $($N $op)"
done
cd /
umount /mnt/a
dmesg | grep 'mpagefs (' > $OUT/mpagefs_msgs.txt || true
"""


def corrupt_job(ctx):
    """Directories damaged on the host before the boot (fsck=False: on purpose)."""
    mpagectl = ctx.mpagectl
    src = ctx.tmp / "src"
    for d in ("bad", "nodotdot", "d", "two", "low/sub"):
        (src / d).mkdir(parents=True)
    (src / "bad" / "f").write_bytes(b"x")
    (src / "nodotdot" / "f").write_bytes(b"y")
    (src / "two" / "a").write_bytes(b"a")
    (src / "two" / "b").write_bytes(b"b")
    image = mkfs_mpagefs(mpagectl, ctx.tmp / "c.img", src, 1024, "4M")
    # two names, one link: two/b's record points at two/a's inode (1 link)
    names = ls_image(mpagectl, image, "/two")
    point_record(mpagectl, image, "/two", "b", names["a"][0])
    # low has a subdirectory but only 2 links
    set_links(image, ls_image(mpagectl, image, "/")["low"][0], 1024, 2)

    def dir_block(path):
        return run([mpagectl, "map", image, path, "--json"]).stdout

    bad = json.loads(dir_block("/bad"))["runs"][0]["physical"]
    nodd = json.loads(dir_block("/nodotdot"))["runs"][0]["physical"]
    with open(image, "r+b") as f:
        f.seek(bad * 1024 + 12 + 4)          # the ".." record's rec_len
        f.write((1024 - 12 - 1).to_bytes(2, "little"))
        f.seek(nodd * 1024 + 12 + 8)         # ".." renamed to ".x"
        f.write(b".x")
    return GuestJob(GUEST_PRELUDE + CORRUPT_SCRIPT, disks=[image],
                    files={"nsop": build_nsop(ctx.build)}, fsck=False)


corrupt = vm_job(corrupt_job, "corrupt")


def test_corrupt_directories_give_euclean(corrupt):
    """A bad record (rec_len not a multiple of 4) refuses every change to its
    directory; a first block without ".." refuses moving that directory; the
    rest of the filesystem goes on working and the kernel log names the damage."""
    r = corrupt.r
    out = r.stdout
    for op in ("create bad/x", "mkdir bad/y", "symlink t bad/s", "unlink bad/f",
               "rmdir bad"):
        assert re.search(rf"^corrupt {op}: \S+ EUCLEAN$", out, re.M), out
    assert "corrupt rename nodotdot/f nodotdot/g: rename ok" in out
    assert "corrupt rename nodotdot d/nodotdot: rename EUCLEAN" in out
    assert "corrupt create ok: create ok" in out
    # counts the image got wrong are reported, not tripped over (no WARNING);
    # two/b's dentry, cached by the stat, keeps the inode in memory
    assert "corrupt unlink two/a: unlink ok" in out
    assert "corrupt unlink two/b: unlink ok" in out
    assert "corrupt rmdir low/sub: rmdir ok" in out
    assert re.search(r"^corrupt stat low: stat ok .* nlink 2 ", out, re.M), out
    msgs = (Path(r.out) / "mpagefs_msgs.txt").read_text()
    assert "rec_len is not a multiple of 4" in msgs
    assert 'does not start with "." and ".."' in msgs
    assert "removing a name of an inode with no links" in msgs
    assert "directory with a subdirectory has 2 links" in msgs


def point_record(mpagectl, image, dirpath, name, ino, bs=1024):
    """Make the record `name` in the (one-block) directory point at inode `ino`."""
    blk = json.loads(run([mpagectl, "map", image, dirpath, "--json"]).stdout)["runs"][0]
    with open(image, "r+b") as f:
        f.seek(blk["physical"] * bs)
        block = f.read(bs)
        off = 0
        while off < bs:
            rec_len = int.from_bytes(block[off + 4:off + 6], "little")
            nlen = block[off + 6]
            if block[off + 8:off + 8 + nlen] == name.encode():
                f.seek(blk["physical"] * bs + off)
                f.write(ino.to_bytes(4, "little"))
                return
            off += rec_len
    raise AssertionError(f"no record {name} in {dirpath}")

