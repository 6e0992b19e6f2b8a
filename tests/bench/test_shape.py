"""Unit tests of tests/bench/shape.py (host only, fast): run by `make check`
through `make bench-unit`."""
import pytest

import shape


def q(sector, nr, rwbs="RA", action="Q", t=0):
    return {"action": action, "rwbs": rwbs, "sector": sector, "nr_sectors": nr, "bytes": nr * 512,
            "time_ns": t}


def test_shape_counts_bios_sizes_and_seeks():
    bios = [q(0, 8), q(8, 8), q(100, 16), q(116, 8), q(0, 8)]
    s = shape.shape(bios)
    assert s["bios"] == 5
    assert s["bytes"] == 48 * 512
    assert s["largest_bio"] == 16 * 512 and s["smallest_bio"] == 8 * 512
    assert s["mean_bio"] == pytest.approx(48 * 512 / 5)
    assert s["seeks"] == 2                   # 8+8 -> 100 and 116+8 -> 0
    assert s["bios_per_mib"] == pytest.approx(5 / (48 * 512 / (1 << 20)))
    assert shape.shape([]) == {"bios": 0, "bytes": 0, "mean_bio": 0.0, "largest_bio": 0,
                               "smallest_bio": 0, "bios_per_mib": 0.0, "seeks": 0}


def test_queued_selects_q_events_of_one_direction_with_data():
    ev = [q(0, 8), q(0, 8, action="C"), q(8, 8, rwbs="WS"), q(0, 0, rwbs="N"), q(16, 8, rwbs="RM")]
    assert [e["sector"] for e in shape.queued(ev)] == [0, 16]
    assert [e["sector"] for e in shape.queued(ev, shape.is_write)] == [8]
    assert [e["action"] for e in shape.completed(ev)] == ["C"]


def test_max_bio_follows_readahead_request_and_device_limits():
    # default window 128 KiB, small reads: the window bounds the bio
    assert shape.max_bio_bytes(128, 1280, 4096) == 128 << 10
    # 1 MiB read() calls grow the window up to io_pages (max_sectors_kb)
    assert shape.max_bio_bytes(128, 1280, 1 << 20) == 1 << 20
    assert shape.max_bio_bytes(128, 512, 1 << 20) == 512 << 10
    # a large read_ahead_kb is still capped by the device
    assert shape.max_bio_bytes(4096, 1280) == 1280 << 10
    assert shape.max_bio_bytes(128, 1280, write=True) == 1280 << 10


def test_ideal_bios_per_extent():
    assert shape.ideal_bios([256 << 20], 1 << 20) == 256
    assert shape.ideal_bios([48 << 10, 4 << 20, 1], 1 << 20) == 1 + 4 + 1
    with pytest.raises(ValueError):
        shape.ideal_bios([1], 0)
    m = {"block_size": 1024, "runs": [{"logical": 0, "physical": 10, "count": 12},
                                      {"logical": 12, "physical": 23, "count": 256}]}
    assert shape.extents_from_map(m) == [12 << 10, 256 << 10]


def test_summary_and_ratio():
    assert shape.summary([3, 1, 2]) == {"n": 3, "min": 1, "median": 2, "max": 3}
    assert shape.summary([None])["n"] == 0
    r = shape.ratio_summary([2, 4, 3], [1, 2, 4])
    assert r == {"min": 0.5, "median": 1.5, "max": 4.0}
    assert shape.ratio_summary([1], []) is None
    assert shape.ratio_summary([1], [0]) is None


def test_throughput_series_bins_completed_bytes():
    ev = [q(0, 2048, action="C", t=0), q(0, 2048, action="C", t=50_000_000),
          q(0, 2048, action="C", t=250_000_000), q(0, 8, action="Q", t=260_000_000)]
    s = shape.throughput_series(ev, bin_s=0.1)
    assert [round(t, 2) for t, _ in s] == [0.05, 0.15, 0.25]
    assert [v for _, v in s] == pytest.approx([20.0, 0.0, 10.0])
    assert shape.throughput_series([q(0, 8)]) == []


def test_classify_explained_and_stats():
    data = {"segments": [{"kind": "data", "path": "/big"}]}
    ind = {"segments": [{"kind": "data", "path": "/big"}, {"kind": "IND", "path": "/big"}]}
    other = {"segments": [{"kind": "data", "path": "/other"}]}
    d, o = shape.classify_explained([data, ind, other, {"segments": []}], "/big")
    assert d == [data] and len(o) == 3
    assert shape.parse_stats("get_block_calls 12\nboundary on\nx -3\n") == {"get_block_calls": 12, "x": -3}


def test_device_traffic_per_random_read():
    reqs = [q(0, 8, action="C"), q(64, 256, action="C"), q(900, 8, action="C")]
    t = shape.device_traffic(reqs, 4)
    assert t["requests"] == 3 and t["bytes"] == 272 * 512
    assert t["kib_per_op"] == pytest.approx(272 * 512 / 1024 / 4)
    assert t["requests_per_op"] == pytest.approx(0.75)
    assert t["largest_request"] == 256 * 512
    assert shape.device_traffic([], 0)["kib_per_op"] is None
