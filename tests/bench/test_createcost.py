"""The create cost rounds of make bench (createcost.py): the guest steps and the
figures computed from them."""
import json

import pytest

import createcost
import guest

CFG = {"cc_rounds": 3, "small_files": 200, "small_size": "4K"}


def peers():
    out = []
    for i, (name, fs) in enumerate((("mpagefs-4k", "mpagefs"), ("ext2-4k", "ext2"))):
        p = guest.Peer(name, fs, 4096)
        p.dev = f"/dev/vd{'cd'[i]}"
        out.append(p)
    return out


def test_peers_alternate_each_round_is_cold_and_unsynced_and_writeback_comes_back():
    st = createcost.steps(peers(), CFG)
    labels = [label for label, _ in st]
    assert labels[0] == "create cost: periodic writeback off"
    assert st[0][1][1] == "echo 0 > /proc/sys/vm/dirty_writeback_centisecs"
    assert labels[-1] == "create cost: periodic writeback back on"
    assert st[-1][1] == ["cat $OUT/res/ccost.writeback > /proc/sys/vm/dirty_writeback_centisecs"]
    order = [label.split(": ")[1] for label in labels[1:-1]]
    assert order == ["mpagefs-4k", "ext2-4k", "ext2-4k", "mpagefs-4k", "mpagefs-4k", "ext2-4k"]
    for label, cmds in st[1:-1]:
        r, name = label.split("round ")[1].split("/")[0], label.split(": ")[1]
        fs = name.split("-")[0]
        assert cmds[0] == f"cold {name} {fs} {'/dev/vdc' if fs == 'mpagefs' else '/dev/vdd'}"
        assert cmds[1] == f"mkdir /mnt/{name}/c{r}"
        assert cmds[2] == (f"mpagectl workload many-small-files /mnt/{name}/c{r} --count 200 --size 4K "
                           f"--seed {r} --no-fsync --json > $OUT/res/ccost.{name}.{r}.json")
        assert cmds[-1] == "sync"


def test_a_missing_peer_is_an_error():
    with pytest.raises(ValueError, match="ext2-4k"):
        createcost.steps(peers()[:1], CFG)


def test_guest_script_runs_the_rounds_only_when_asked_and_before_the_unmount():
    base = {"size": 1 << 20, "repeats": 1, "rand_ops": 10, "threads": 4, "small_files": 5,
            "small_size": "4K", "read_block": "1M", "write_block": "1M", "small_blocks": [4096]}
    text, _ = guest.script(peers(), base)
    assert "ccost" not in text
    text, _ = guest.script(peers(), {**base, "gb_only": True, "cc_rounds": 2})
    assert text.count("--no-fsync") == 4
    assert text.index("--no-fsync") < text.index("] unmount")
    # the get_block cost boot runs neither the repeats nor the churn
    assert "] rep " not in text and "churn" not in text


def write_rounds(res, rounds):
    for r, figs in enumerate(rounds, 1):
        for name, ns in figs.items():
            (res / f"ccost.{name}.{r}.json").write_text(json.dumps({"elapsed_ns": ns, "files": []}))


def test_per_create_cost_and_ratio_per_round(tmp_path):
    # round 3 lost its ext2 figure: its mpagefs figure still counts, its ratio does not
    write_rounds(tmp_path, [{"mpagefs-4k": 400e6, "ext2-4k": 600e6},
                            {"mpagefs-4k": 500e6, "ext2-4k": 500e6},
                            {"mpagefs-4k": 300e6}])
    cc = createcost.collect(tmp_path, {**CFG, "small_files": 1000})
    assert cc["files"] == 1000
    m, e = cc["ns_per_create"]["mpagefs-4k"], cc["ns_per_create"]["ext2-4k"]
    assert (m["median"], m["min"], m["max"], m["n"]) == (400e3, 300e3, 500e3, 3)
    assert (e["median"], e["n"]) == (550e3, 2)
    assert cc["ratio"]["n"] == 2
    assert cc["ratio"]["median"] == pytest.approx(1.25)
    assert (cc["ratio"]["min"], cc["ratio"]["max"]) == (1.0, 1.5)
    md = createcost.markdown(cc)
    assert "| mpagefs-4k | 400.0 (300.0-500.0) |" in md
    assert "median 1.25 (1.00-1.50)" in md


def test_no_rounds_no_figures(tmp_path):
    assert createcost.collect(tmp_path, CFG) is None
    assert createcost.collect(tmp_path, {**CFG, "cc_rounds": 0}) is None
    assert createcost.markdown(None) == ""
