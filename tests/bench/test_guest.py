"""The generated guest script: every timed run starts cold, each peer on its
own disk, every figure repeated, the traced runs traced on the peer's disk."""
import re

import guest

CFG = {"size": 1 << 20, "repeats": 3, "rand_ops": 10, "threads": 4, "small_files": 5,
       "small_size": "4K", "read_block": "1M", "write_block": "1M"}


def peers():
    ps = [guest.Peer("mpagefs-4k", "mpagefs", 4096), guest.Peer("vfat", "vfat", 4096),
          guest.Peer("raw", "raw", 512, small=False)]
    for i, p in enumerate(ps):
        p.dev = f"/dev/vd{'cde'[i]}"
    return ps


def steps(text):
    """[(label, [command lines])] of the script."""
    out = []
    for line in text.splitlines():
        m = re.match(r"step '?\[(\d+)/(\d+)\] (.*?)'?$", line)
        if m:
            out.append((m.group(3), []))
        elif out:
            out[-1][1].append(line)
    return out


def test_every_timed_run_is_cold_and_repeated():
    text, n = guest.script(peers(), CFG)
    st = steps(text)
    assert len(st) == n
    creates = [(label, cmds) for label, cmds in st if label.startswith("rep ") and "small-files create" in label]
    timed = [(label, cmds) for label, cmds in st if label.startswith("rep ") and "small-files create" not in label]
    # 3 peers x (seq-read, seq-write, 2 rand-read) + 2 fs peers x 1 small-files read-back, per repeat
    assert len(timed) == 3 * (3 * 4 + 2)
    for label, cmds in timed:
        assert cmds[0].startswith("cold "), label
        peer = label.split()[-1]
        assert cmds[0].split()[1] == peer
    labels = [label for label, _ in timed]
    for rep in (1, 2, 3):
        assert sum(label.startswith(f"rep {rep} ") for label in labels) == 14
        # the create: both fs peers cold in a new directory, then their batch (one by default)
        cr = [(label, cmds) for label, cmds in creates if label.startswith(f"rep {rep} ")]
        assert [label.split(":")[0] for label, _ in cr] == [f"rep {rep} small-files create",
                                                            f"rep {rep} small-files create+write+fsync batch 1/1"]
        colds = [c.split()[1] for c in cr[0][1] if c.startswith("cold ")]
        assert sorted(colds) == ["mpagefs-4k", "vfat"]
        assert sorted(c for c in cr[0][1] if c.startswith("mkdir")) == [f"mkdir /mnt/mpagefs-4k/s{rep}",
                                                                       f"mkdir /mnt/vfat/s{rep}"]
        runs = [c for c in cr[1][1] if c.startswith("mpagectl workload")]
        assert len(runs) == 2 and all("--count 5 " in c and "--first" not in c for c in runs)


def test_sequential_runs_are_traced_on_the_peers_disk_and_raw_uses_o_direct():
    text, _ = guest.script(peers(), CFG)
    for label, cmds in steps(text):
        if label.startswith("rep ") and ("seq-read" in label or "seq-write" in label):
            dev = {"mpagefs-4k": "/dev/vdc", "vfat": "/dev/vdd", "raw": "/dev/vde"}[label.split()[-1]]
            tr = [c for c in cmds if c.startswith("mpagectl trace")]
            assert len(tr) == 1 and f"-d {dev} " in tr[0], label
            assert ("--direct" in tr[0]) == label.endswith(" raw"), label
            # a failed capture must not end the run when the command itself ran
            assert tr[0].endswith(f"|| traced_failed $OUT/res/{label.split()[2].replace('+fsync', '')}."
                                  f"{label.split()[-1]}.{label.split()[1]}"), tr[0]
    assert "cold vfat vfat /dev/vdd iocharset=iso8859-1" in text
    assert "mount -t vfat -o iocharset=iso8859-1 /dev/vdd /mnt/vfat" in text
    assert "/sys/fs/mpagefs/vdc/stats" in text and "/sys/fs/mpagefs/vdd/stats" not in text


def test_workloads_select_the_groups_that_run():
    text, n = guest.script(peers(), {**CFG, "workloads": ["rand-read"]})
    labels = [label for label, _ in steps(text)]
    assert any("rand-read-t1" in l for l in labels) and any("rand-read-t4" in l for l in labels)
    assert not any("seq-read " in l or "seq-write" in l or "small-files" in l or l.startswith("churn") for l in labels)
    # every random run is traced on its peer's own disk
    for label, cmds in steps(text):
        if "rand-read" in label:
            assert any(re.search(r"mpagectl trace -d /dev/vd[cde] -o \$OUT/trace/rand-read-t", c) for c in cmds)


def test_workloads_selects_what_runs_and_trace_small_adds_an_untimed_capture():
    cfg = {**CFG, "workloads": ["small"], "trace_small": True}
    st = steps(guest.script(peers(), cfg)[0])
    timed = [label for label, _ in st if label.startswith("rep ")]
    assert timed and all("small-files" in label for label in timed), timed
    assert not any(label.startswith("churn") for label, _ in st)
    reads = [cmds for label, cmds in st if label.startswith("rep 1 small-files cold read back mpagefs-4k")]
    tr = [c for c in reads[0] if c.startswith("mpagectl trace")]
    # the timed read-back first, then the traced one, each after a cold mount
    assert len(tr) == 1 and "-o $OUT/trace/small-read.mpagefs-4k.1 " in tr[0]
    assert [c.split()[0] for c in reads[0]].count("cold") == 2
    assert reads[0].index(tr[0]) > [i for i, c in enumerate(reads[0]) if "small-read.mpagefs-4k.1.json" in c][0]


def test_churn_runs_on_the_filesystems_and_its_plan_is_deterministic():
    cfg = {**CFG, "workloads": ["churn"]}
    st = steps(guest.script(peers(), cfg)[0])
    churn = [(label, cmds) for label, cmds in st if label.startswith("churn ")]
    assert [label.split()[1] for label, _ in churn] == ["mpagefs-4k:"]   # not vfat, not raw
    cmds, left = guest.churn_plan()
    assert (cmds, left) == guest.churn_plan()
    assert all("DIR" in c for c in cmds)
    assert len(left) == guest.CHURN_DIRS * guest.CHURN_FILES
    assert churn[0][1][0].startswith("cold ") and churn[0][1][-1] == "sync"


def test_each_repeat_starts_with_the_next_peer():
    st = steps(guest.script(peers(), CFG)[0])
    for rep, first in ((1, "mpagefs-4k"), (2, "vfat"), (3, "raw")):
        for work in ("seq-read", "seq-write", "rand-read-t1"):
            runs = [label.split()[-1] for label, _ in st if label.startswith(f"rep {rep} {work}")]
            assert runs[0] == first and sorted(runs) == ["mpagefs-4k", "raw", "vfat"], (rep, work, runs)
    small = [label.split()[-2:] for label, _ in st if label.startswith("rep 2 small-files create+write")]
    assert small == [["vfat", "mpagefs-4k"]]


def test_small_create_batches_take_turns_and_make_every_file_once():
    cfg = {**CFG, "small_files": 10, "small_batches": 3, "workloads": ["small"]}
    st = steps(guest.script(peers(), cfg)[0])
    batches = [(label, cmds) for label, cmds in st if label.startswith("rep 1 small-files create+write")]
    assert [label.split(": ")[1] for label, _ in batches] == [
        "files 0-2 mpagefs-4k vfat", "files 3-5 vfat mpagefs-4k", "files 6-9 mpagefs-4k vfat"]
    for k, (label, cmds) in enumerate(batches, 1):
        runs = [c for c in cmds if c.startswith("mpagectl workload")]
        for peer, c in zip(label.split()[-2:], runs):
            first = {1: 0, 2: 3, 3: 6}[k]
            assert c.startswith(f"mpagectl workload many-small-files /mnt/{peer}/s1 "
                                f"--count {4 if k == 3 else 3}{f' --first {first}' if first else ''} ")
            assert c.endswith(f"--seed 1 --json > $OUT/res/small-create.{peer}.1.b{k}.json")
        # every batch still shows its figures as it goes
        assert cmds[-1].startswith("grep -h -m1 elapsed_ns ")
    # more batches than files: one file per batch
    st = steps(guest.script(peers(), {**cfg, "small_files": 2})[0])
    assert sum(label.startswith("rep 1 small-files create+write") for label, _ in st) == 2


def test_trace_small_also_captures_the_create_in_a_directory_of_its_own():
    cfg = {**CFG, "workloads": ["small"], "trace_small": True}
    st = steps(guest.script(peers(), cfg)[0])
    creates = [cmds for label, cmds in st if label.startswith("rep 1 small-files create traced (untimed)")]
    traced = [c for cmds in creates for c in cmds if c.startswith("mpagectl trace")]
    assert len(traced) == 2                              # mpagefs-4k and vfat, not raw
    for c in traced:
        assert "-o $OUT/trace/small-create." in c and re.search(r"many-small-files /mnt/\S+/s1t ", c)
    # only the first repeat is traced, and untimed: its JSON goes nowhere
    assert not any(c.startswith("mpagectl trace") for label, cmds in st
                   if label.startswith("rep 2 small-files create") for c in cmds)
    assert all("> /dev/null" in c for c in traced)
