"""The get_block cost rounds of make bench (gbcost.py): the guest steps and the
ratios computed from their figures."""
import json

import gbcost
import guest

CFG = {"gb_rounds": 2, "gb_seconds": 1.5}


def peer():
    p = guest.Peer("mpagefs-4k", "mpagefs", 4096)
    p.dev = "/dev/vdd"
    return p


def test_builds_alternate_and_each_round_mounts_its_own_module():
    st = gbcost.steps(peer(), CFG)
    labels = [label for label, _ in st]
    assert labels[0] == "get_block cost: unload the lab module"
    assert labels[-1] == "get_block cost: reload the lab module"
    order = [label.split(": ")[1] for label in labels[1:-1]]
    assert order == ["nolab", "lab-off", "lab-on", "lab-on", "lab-off", "nolab"]
    for label, cmds in st[1:-1]:
        build = label.split(": ")[1]
        assert cmds[0] == ("insmod /job/mpagefs-nolab.ko" if build == "nolab" else "loadmod mpagefs")
        mount = cmds[1]
        assert mount.endswith("/dev/vdd /mnt/gbcost")
        assert ("stats=off" in mount) == (build == "lab-off")
        assert any(c.startswith("/job/fibmap /mnt/gbcost/big 1.5 > ") for c in cmds)
        assert cmds[-2:] == ["umount /mnt/gbcost", "rmmod mpagefs"]
        # the counters checked around the timed loop only where they count
        assert any("get_block_calls" in c for c in cmds) == (build == "lab-on")
    assert st[-1][1] == ["loadmod mpagefs"]


def test_guest_script_runs_the_rounds_only_when_asked():
    ps = [peer()]
    base = {"size": 1 << 20, "repeats": 1, "rand_ops": 10, "threads": 4, "small_files": 5,
            "small_size": "4K", "read_block": "1M", "write_block": "1M", "small_blocks": [4096]}
    text, _ = guest.script(ps, base)
    assert "/job/fibmap" not in text
    text, _ = guest.script(ps, {**base, **CFG})
    assert text.count("/job/fibmap") == 6
    only, n = guest.script(ps, {**base, **CFG, "gb_only": True})
    assert "] rep " not in only and "] rep " in text
    assert only.count("/job/fibmap") == 6


def fig(cps, calls=100, blocks=10, block_sum=5):
    return {"calls_per_s": cps, "calls": calls, "seconds": 1.0, "blocks": blocks, "block_sum": block_sum}


def test_ratio_per_round_median_and_checks(tmp_path):
    rounds = [(100.0, 99.0, 80.0), (110.0, 111.0, 90.0), (90.0, 90.0, 70.0)]
    for r, (nolab, off, on) in enumerate(rounds, 1):
        (tmp_path / f"gbcost.nolab.{r}.json").write_text(json.dumps(fig(nolab)))
        (tmp_path / f"gbcost.lab-off.{r}.json").write_text(json.dumps(fig(off)))
        (tmp_path / f"gbcost.lab-on.{r}.json").write_text(json.dumps(fig(on)))
        (tmp_path / f"gbcost.lab-on.{r}.before").write_text("7\n")
        (tmp_path / f"gbcost.lab-on.{r}.after").write_text(f"{7 + 110}\n")
    gb = gbcost.collect(tmp_path, {"gb_rounds": 3})
    off = gb["ratio"]["lab-off / nolab"]
    assert off["n"] == 3
    assert abs(off["median"] - 1.0) < 1e-9          # 0.99, 1.009, 1.0
    assert abs(off["min"] - 0.99) < 1e-9
    assert abs(gb["ratio"]["lab-on / nolab"]["median"] - 0.8) < 1e-9
    assert gb["calls_per_s"]["nolab"]["median"] == 100.0
    assert gb["same_blocks"] and gb["one_call_per_fibmap"]
    md = gbcost.markdown(gb)
    assert "| lab-off / nolab | 0.990 | 1.000 | 1.009 |" in md
    # a build that mapped other blocks, or a count that is not one call per FIBMAP, shows
    (tmp_path / "gbcost.lab-off.2.json").write_text(json.dumps(fig(111.0, block_sum=6)))
    (tmp_path / "gbcost.lab-on.3.after").write_text("8\n")
    gb = gbcost.collect(tmp_path, {"gb_rounds": 3})
    assert not gb["same_blocks"] and not gb["one_call_per_fibmap"]
    assert "NO" in gbcost.markdown(gb)


def test_no_rounds_no_section(tmp_path):
    assert gbcost.collect(tmp_path, {"gb_rounds": 0}) is None
    assert gbcost.collect(tmp_path, {"gb_rounds": 2}) is None
    assert gbcost.markdown(None) == ""
