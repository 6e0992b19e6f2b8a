"""Unit tests of tests/bench/report.py's trace summaries (host only, fast): run
by `make check` through `make bench-unit`."""
import pytest

import report


def ev(action, rwbs, t_us, sector=None):
    e = {"action": action, "rwbs": rwbs, "time_ns": int(t_us * 1000)}
    if sector is not None:
        e["sector"] = sector
    return e


def one_file(t0, data, inode, write_us, flush_us):
    """One create+write+fsync as the capture shows it: the data block, the
    inode table block, then the cache flush (Q FWS, D FN, C FN, C WS)."""
    t = t0
    out = [ev("Q", "WS", t, data), ev("D", "WS", t + 1, data), ev("C", "WS", t + 1 + write_us, data)]
    t += 2 + write_us
    out += [ev("Q", "WS", t, inode), ev("D", "WS", t + 1, inode), ev("C", "WS", t + 1 + write_us, inode)]
    t += 2 + write_us
    out += [ev("Q", "FWS", t), ev("D", "FN", t + 1), ev("C", "FN", t + 1 + flush_us), ev("C", "WS", t + 2 + flush_us)]
    return out


def test_create_io_counts_per_file_and_splits_device_and_guest_time():
    events = one_file(0, 800, 16, write_us=100, flush_us=300)
    events += [ev("Q", "RA", 600, 40), ev("D", "RA", 601, 40), ev("C", "RA", 700, 40)]
    events += one_file(1000, 808, 16, write_us=100, flush_us=300)
    d = report.create_io(events, 2)
    assert (d["writes"], d["flushes"], d["reads"]) == (4, 2, 1)
    assert d["writes_per_file"] == 2 and d["flushes_per_file"] == 1
    assert d["write_ms"] == pytest.approx(0.1) and d["flush_ms"] == pytest.approx(0.3)
    # device busy: 4 writes of 100 us and 2 flushes of 300 us; the span runs
    # from the first Q (0) to the last C of the second file
    span_us = 1000 + 2 + 100 + 2 + 100 + 2 + 300
    assert d["device_s"] == pytest.approx(1000e-6)
    assert d["span_s"] == pytest.approx(span_us * 1e-6)
    assert d["guest_ms_per_file"] == pytest.approx((span_us - 1000) / 1000 / 2)


def test_create_io_slower_flushes_show_as_device_time_not_guest_time():
    fast = report.create_io(one_file(0, 800, 16, 100, 300), 1)
    slow = report.create_io(one_file(0, 800, 16, 100, 900), 1)
    assert slow["flush_ms"] == pytest.approx(3 * fast["flush_ms"])
    assert slow["guest_ms_per_file"] == pytest.approx(fast["guest_ms_per_file"])


def test_create_io_of_an_empty_capture():
    d = report.create_io([], 0)
    assert d["writes"] == d["flushes"] == d["reads"] == 0
    assert d["write_ms"] is None and d["flush_ms"] is None and d["span_s"] == 0


def test_markdown_table_lines():
    from mdtable import table
    assert table(["a", "b", ""], [[1, "x", "met"], ["", 2.5, ""]]) == [
        "| a | b | |", "|---|---|---|", "| 1 | x | met |", "| | 2.5 | |"]


def test_create_cost_aim_is_judged_on_the_median_ratio():
    cc = {"files": 10, "rounds": [{}], "ns_per_create": {"mpagefs-4k": {"median": 41e4}, "ext2-4k": {"median": 62e4}},
          "ratio": {"median": 1.5, "min": 1.4, "max": 1.6, "n": 2}}
    results = {"config": {"threads": 4}, "runs": {}, "shape": {}, "create_cost": cc}
    rows = [r for r in report.aims(results) if r[0].startswith("small-create guest CPU")]
    assert rows == [("small-create guest CPU: mpagefs-4k <= ext2-4k (instructions per create, -icount)",
                     "410.0k vs 620.0k", "met")]
    cc["ratio"]["median"] = 0.9
    assert [r[2] for r in report.aims(results) if r[0].startswith("small-create guest CPU")] == ["**not met**"]


def test_a_create_made_in_batches_is_one_run(tmp_path):
    import json
    for k, (ns, files) in enumerate(((2e9, ["a", "b"]), (3e9, ["c"])), 1):
        (tmp_path / f"small-create.p.1.b{k}.json").write_text(json.dumps(
            {"workload": "many-small-files", "elapsed_ns": ns, "bytes": 10 * k, "fsyncs": 2 * k,
             "files": [{"name": f} for f in files]}))
    j = report.run_json(tmp_path, "small-create.p.1")
    assert (j["elapsed_ns"], j["bytes"], j["fsyncs"], j["batches"]) == (5e9, 30, 6, 2)
    assert [f["name"] for f in j["files"]] == ["a", "b", "c"]
    assert report.figure("small-create", j, {}) == (3 / 5.0, 5.0)
    # a run of one piece is read as it is; no file, no run
    (tmp_path / "small-create.q.1.json").write_text(json.dumps({"elapsed_ns": 1, "files": []}))
    assert report.run_json(tmp_path, "small-create.q.1") == {"elapsed_ns": 1, "files": []}
    assert report.run_json(tmp_path, "small-create.r.1") is None
