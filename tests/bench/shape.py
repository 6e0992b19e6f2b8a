"""Pure computations of `make bench` (no VM, no files): I/O shape from decoded
blktrace events, the ideal bio count, repeat statistics and ratios.

Events are the dicts `mpagectl decode --json` prints (keys action, rwbs, sector,
nr_sectors, bytes, time_ns, ...).  Definitions used throughout:

  bio        one Q (queue) event: a bio as the filesystem (or, for the raw
             device, the O_DIRECT code) handed it to the block layer, before
             the I/O scheduler merges it with neighbours.  C (complete) events
             count requests as the device saw them after merging.
  seek       a transition between two consecutive bios of the selection (in
             queue order) where the second does not start at the sector where
             the first ended.
  ideal      ceil(bytes / largest bio) per contiguous extent of the file: the
             fewest bios the kernel can build for it given the largest bio the
             device and the readahead window allow (max_bio_bytes()).  Reads
             compare it with the bios (Q), writes with the requests (C),
             because writeback bios are only bounded after the split.
"""
import math
import statistics

def is_read(ev):
    r = ev.get("rwbs", "")
    return "R" in r and "W" not in r


def is_write(ev):
    return "W" in ev.get("rwbs", "")


def queued(events, want=is_read):
    """The Q events selected by `want`, in trace order."""
    return [e for e in events if e.get("action") == "Q" and want(e) and e.get("bytes", 0) > 0]


def completed(events, want=is_read):
    return [e for e in events if e.get("action") == "C" and want(e) and e.get("bytes", 0) > 0]


def seeks(bios):
    """Non-contiguous transitions between consecutive bios (queue order)."""
    n = 0
    for a, b in zip(bios, bios[1:]):
        if b["sector"] != a["sector"] + a["nr_sectors"]:
            n += 1
    return n


def shape(bios):
    """Count, bytes, mean/largest/smallest bio (bytes), bios per MiB, seeks."""
    total = sum(b["bytes"] for b in bios)
    sizes = [b["bytes"] for b in bios]
    mib = total / (1 << 20)
    return {
        "bios": len(bios),
        "bytes": total,
        "mean_bio": total / len(bios) if bios else 0.0,
        "largest_bio": max(sizes) if sizes else 0,
        "smallest_bio": min(sizes) if sizes else 0,
        "bios_per_mib": len(bios) / mib if mib else 0.0,
        "seeks": seeks(bios),
    }


def max_bio_bytes(read_ahead_kb, max_sectors_kb, request_bytes=None, write=False):
    """The largest bio (read) or request (write) the kernel can build on this device.

    A read bio holds at most one readahead window: read_ahead_kb, unless the
    application asks for more in one read(), in which case 6.1's
    ondemand_readahead lets the window grow to min(request, io_pages), io_pages
    being max_sectors_kb.  Writeback bios have no such bound (multi-page bvecs
    let mpage_writepages build bios of several MiB); the block layer splits
    them at max_sectors_kb, so for writes the bound applies to requests.
    """
    cap = max_sectors_kb * 1024
    if write:
        return cap
    window = read_ahead_kb * 1024
    if request_bytes and request_bytes > window:
        window = max(window, min(request_bytes, cap))
    return min(window, cap)


def ideal_bios(extents, largest):
    """Fewest bios for a file whose data lies in `extents` (lengths in bytes)."""
    if largest <= 0:
        raise ValueError("largest bio must be positive")
    return sum(math.ceil(x / largest) for x in extents if x > 0)


def extents_from_map(block_map):
    """Contiguous data extents (bytes) of a file from `mpagectl map --json`."""
    bs = block_map["block_size"]
    return [r["count"] * bs for r in block_map["runs"]]


def summary(values):
    """min/median/max/n of a list of numbers (None entries are skipped)."""
    v = [x for x in values if x is not None]
    if not v:
        return {"n": 0, "min": None, "median": None, "max": None}
    return {"n": len(v), "min": min(v), "median": statistics.median(v), "max": max(v)}


def ratio_summary(a, b):
    """Ratios of two sets of repeats: median(a)/median(b), and the extreme
    pairings min(a)/max(b) and max(a)/min(b) as the range."""
    sa, sb = summary(a), summary(b)
    if not sa["n"] or not sb["n"] or not sb["median"] or not sb["min"]:
        return None
    return {"min": sa["min"] / sb["max"], "median": sa["median"] / sb["median"],
            "max": sa["max"] / sb["min"]}


def device_traffic(requests, ops):
    """What `ops` reads of 4 KiB brought from the device, from the completed
    (C) read requests of their trace: a peer that reads ahead on a random
    pattern brings more than 4 KiB per read, and later reads find it cached."""
    nbytes = sum(e["bytes"] for e in requests)
    return {"ops": ops, "requests": len(requests), "bytes": nbytes,
            "kib_per_op": nbytes / 1024 / ops if ops else None,
            "requests_per_op": len(requests) / ops if ops else None,
            "largest_request": max((e["bytes"] for e in requests), default=0)}


def throughput_series(events, bin_s=0.1, want=is_read):
    """(time s, MiB/s) from C events, in bins of bin_s since the first event."""
    done = completed(events, want)
    if not done:
        return []
    t0 = min(e["time_ns"] for e in events)
    bins = {}
    for e in done:
        k = int((e["time_ns"] - t0) / 1e9 / bin_s)
        bins[k] = bins.get(k, 0) + e["bytes"]
    last = max(bins)
    return [((k + 0.5) * bin_s, bins.get(k, 0) / (1 << 20) / bin_s) for k in range(last + 1)]


def parse_stats(text):
    """`name value` lines (sysfs stats) -> dict."""
    out = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].lstrip("-").isdigit():
            out[parts[0]] = int(parts[1])
    return out


def classify_explained(explained, path):
    """Split `mpagectl explain --json` events of one file into data bios (every
    segment is the file's data) and the rest (indirect blocks, inode table,
    directories...).  Returns (data events, other events)."""
    data, other = [], []
    for e in explained:
        segs = e.get("segments", [])
        if segs and all(s.get("kind") == "data" and s.get("path") == path for s in segs):
            data.append(e)
        else:
            other.append(e)
    return data, other
