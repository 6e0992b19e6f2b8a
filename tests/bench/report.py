"""Host-side analysis of a `make bench` VM run: per-run figures, I/O shape from
the traces, the tables (results.md) and the plots."""
import json
import subprocess
from pathlib import Path

import createcost
import gbcost
import shape
import tools
from mdtable import table

WORKLOADS = [  # name, unit, what the figure is
    ("seq-read", "MiB/s", "sequential cold read of the big file, 1 MiB read() calls"),
    ("seq-write", "MiB/s", "sequential write of a new file of the same size, 1 MiB write() calls, then fsync"),
    ("rand-read-t1", "IOPS", "random 4 KiB reads of the cold big file, 1 thread (queue depth 1)"),
    ("rand-read-tN", "IOPS", "random 4 KiB reads of the cold big file, N threads at queue depth 1 each"),
    ("small-create", "files/s", "create + write (0..4 KiB) + fsync each of the small files, fsync the directory"),
    ("small-read", "files/s", "cold read back of the small files (list, open, read, close)"),
]


def _run(cmd):
    return subprocess.run([str(c) for c in cmd], check=True, text=True, capture_output=True).stdout


def decode(mpagectl, prefix):
    return [json.loads(l) for l in _run([mpagectl, "decode", prefix, "--json"]).splitlines() if l.strip()]


def explained(mpagectl, image, prefix, path):
    """The Q events of `explain --json` (JSON Lines: events, then a summary) touching `path`."""
    out = _run([mpagectl, "explain", image, prefix, "--json", "--actions", "Q", "--file", path])
    return [e for e in map(json.loads, filter(str.strip, out.splitlines())) if e["type"] == "event"]


def read_kv(path):
    out = {}
    if Path(path).exists():
        for line in Path(path).read_text().splitlines():
            k, _, v = line.partition(" ")
            out[k] = int(v) if v.strip().isdigit() else v.strip()
    return out


def figure(workload, j, cfg):
    """The headline number of one run (higher is better) and the run's JSON."""
    if workload.startswith("small"):
        secs = j["elapsed_ns"] / 1e9
        return len(j["files"]) / secs if secs else None, secs
    if workload.startswith("rand-read"):
        return j["ops_per_s"], j["seconds"]
    return j["mib_per_s"], j["seconds"]


def run_json(res, base):
    """The JSON of run BASE (e.g. small-create.mpagefs-4k.1) in RES, or None.
    A small-files create made in batches (BASE.b1.json, BASE.b2.json, ...:
    guest.script's small_batches) is one run: the batches' elapsed times,
    bytes and fsyncs added, their files in order."""
    f = res / f"{base}.json"
    if f.exists():
        return json.loads(f.read_text())
    parts = []
    while (res / f"{base}.b{len(parts) + 1}.json").exists():
        parts.append(json.loads((res / f"{base}.b{len(parts) + 1}.json").read_text()))
    if not parts:
        return None
    j = {**parts[0], "batches": len(parts), "files": [x for p in parts for x in p["files"]]}
    for k in ("elapsed_ns", "bytes", "fsyncs", "ops"):
        if all(k in p for p in parts):
            j[k] = sum(p[k] for p in parts)
    return j


def collect(out, mpagectl, peers, cfg):
    res = out / "vm" / "out" / "res"
    tr = out / "vm" / "out" / "trace"
    results = {"config": cfg, "peers": {}, "runs": {}, "shape": {}}
    results["guest"] = {"uname": (res / "uname.txt").read_text().strip() if (res / "uname.txt").exists() else "",
                        "nproc": (res / "nproc.txt").read_text().strip() if (res / "nproc.txt").exists() else ""}
    for p in peers:
        q = read_kv(res / f"queue.{p.name}.txt")
        info = {"fstype": p.fstype, "block": p.block, "dev": p.dev, "queue": q}
        if p.fstype in ("mpagefs", "ext2"):
            bmap = json.loads(_run([mpagectl, "map", p.image, "/big", "--json"]))
            info["big_extents"] = len(bmap["runs"])
            info["indirect_blocks"] = len(bmap.get("indirect", []))
            extents = shape.extents_from_map(bmap)
        else:
            extents = [cfg["size"]]   # vfat: written in the guest; raw: one range
        rd = shape.max_bio_bytes(q.get("read_ahead_kb", 128), q.get("max_sectors_kb", 1280), 1 << 20)
        wr = shape.max_bio_bytes(q.get("read_ahead_kb", 128), q.get("max_sectors_kb", 1280), write=True)
        info["largest_read_bio"], info["largest_write_bio"] = rd, wr
        info["ideal_read_bios"] = shape.ideal_bios(extents, rd)
        info["ideal_write_bios"] = shape.ideal_bios([cfg["size"]], wr)
        results["peers"][p.name] = info

    tn = f"rand-read-t{cfg['threads']}"
    for w, _, _ in WORKLOADS:
        fname = tn if w == "rand-read-tN" else w
        results["runs"][w] = {}
        for p in peers:
            runs = []
            for rep in range(1, cfg["repeats"] + 1):
                j = run_json(res, f"{fname}.{p.name}.{rep}")
                if j is None:
                    continue
                value, secs = figure(w, j, cfg)
                run = {"rep": rep, "value": value, "seconds": secs}
                if not w.startswith("small"):
                    run["json"] = j
                else:
                    run["files"] = len(j["files"])
                    run["bytes"] = j["bytes"]
                    run["fsyncs"] = j.get("fsyncs")
                stats = res / f"{fname}.{p.name}.{rep}.stats"
                if stats.exists():
                    run["mpagefs_stats"] = shape.parse_stats(stats.read_text())
                runs.append(run)
            if runs:
                results["runs"][w][p.name] = {"runs": runs, **shape.summary([r["value"] for r in runs])}

    results["small_read_io"] = small_read_io(mpagectl, peers, tr, res)
    results["small_create_io"] = small_create_io(mpagectl, peers, tr, res, cfg.get("small_files"))
    if "churn" in (cfg.get("workloads") or ["churn"]):
        results["churn"] = churn_extents(mpagectl, peers)

    for w in ("seq-read", "seq-write"):
        results["shape"][w] = {}
        want = shape.is_read if w == "seq-read" else shape.is_write
        for p in peers:
            reps = []
            for rep in range(1, cfg["repeats"] + 1):
                prefix = tr / f"{w}.{p.name}.{rep}"
                if not Path(str(prefix) + ".blktrace.0").exists():
                    continue
                if (res / f"{w}.{p.name}.{rep}.trace-failed").exists():
                    continue   # the capture failed in the guest (the timing is kept)
                try:
                    ev = decode(mpagectl, prefix)
                except subprocess.CalledProcessError as e:
                    results.setdefault("trace_errors", []).append(f"{prefix.name}: {e.stderr.strip()}")
                    continue
                bios = shape.queued(ev, want)
                s = {"rep": rep, "all": shape.shape(bios), "requests": shape.shape(shape.completed(ev, want)),
                     "throughput": shape.throughput_series(ev, 0.1, want),
                     "scatter": [(round((e["time_ns"] - ev[0]["time_ns"]) / 1e9, 6), e["sector"], e["nr_sectors"])
                                 for e in bios]}
                if w == "seq-read" and p.fstype in ("mpagefs", "ext2"):
                    ex = explained(mpagectl, p.image, prefix, "/big")
                    data, other = shape.classify_explained(ex, "/big")
                    s["data"] = shape.shape(data)
                    s["other_bios"] = len(other)
                    s["other_kinds"] = sorted({seg.get("kind") for e in other for seg in e.get("segments", [])})
                elif w == "seq-read" and p.fstype == "vfat":
                    s["data"] = shape.shape([b for b in bios if "M" not in b["rwbs"]])
                    s["other_bios"] = len(bios) - s["data"]["bios"]
                else:
                    s["data"] = s["all"]
                    s["other_bios"] = 0
                info = results["peers"][p.name]
                ideal = info["ideal_read_bios"] if w == "seq-read" else info["ideal_write_bios"]
                s["ideal_bios"] = ideal
                n = s["data"]["bios"] if w == "seq-read" else s["requests"]["bios"]
                s["bios_over_ideal"] = n / ideal if ideal else None
                runs = results["runs"][w].get(p.name, {}).get("runs", [])
                st = next((r.get("mpagefs_stats") for r in runs if r["rep"] == rep), None)
                if st:
                    mib = cfg["size"] / (1 << 20)
                    s["get_block_calls"] = st.get("get_block_calls")
                    s["get_block_per_mib"] = st.get("get_block_calls", 0) / mib
                    # one readahead window = the largest read bio here
                    s["readahead_windows"] = cfg["size"] / info["largest_read_bio"]
                reps.append(s)
            if reps:
                results["shape"][w][p.name] = reps
    # The random reads, traced: what each 4 KiB read brought from the device.
    results["rand_traffic"] = {}
    for w in ("rand-read-t1", "rand-read-tN"):
        fname = tn if w == "rand-read-tN" else w
        results["rand_traffic"][w] = {}
        for p in peers:
            reps = []
            for r in results["runs"][w].get(p.name, {}).get("runs", []):
                prefix = tr / f"{fname}.{p.name}.{r['rep']}"
                if (not Path(str(prefix) + ".blktrace.0").exists()
                        or (res / f"{fname}.{p.name}.{r['rep']}.trace-failed").exists()):
                    continue
                try:
                    ev = decode(mpagectl, prefix)
                except subprocess.CalledProcessError as e:
                    results.setdefault("trace_errors", []).append(f"{prefix.name}: {e.stderr.strip()}")
                    continue
                reps.append({"rep": r["rep"], "iops": r["value"],
                             **shape.device_traffic(shape.completed(ev, shape.is_read), r["json"]["ops"])})
            if reps:
                results["rand_traffic"][w][p.name] = reps
    # measured in a boot of its own (bench.py get_block_run)
    results["get_block_cost"] = gbcost.collect(out / "gb" / "vm" / "out" / "res", cfg)
    results["create_cost"] = createcost.collect(out / "gb" / "vm" / "out" / "res", cfg)
    return results


def small_read_io(mpagectl, peers, tr, res):
    """--trace-small: what the cold read-back of the small files read, per peer
    (repeat 1): queued read bios, and per kind of block (explain: inode table,
    directory, data, indirect ...) how many bios and blocks, in submit order."""
    out = {}
    for p in peers:
        prefix = tr / f"small-read.{p.name}.1"
        if p.fstype not in ("mpagefs", "ext2") or not Path(str(prefix) + ".blktrace.0").exists():
            continue
        if (res / f"small-read.{p.name}.1.trace-failed").exists():
            continue
        ev = _run([mpagectl, "explain", p.image, prefix, "--json", "--actions", "Q"])
        events = [e for e in map(json.loads, filter(str.strip, ev.splitlines())) if e["type"] == "event"]
        reads = [e for e in events if "R" in e.get("rwbs", "R") and "W" not in e.get("rwbs", "")]
        kinds = {}
        for e in reads:
            segs = e.get("segments", [])
            k = "+".join(sorted({seg.get("kind", "?") for seg in segs})) or "?"
            d = kinds.setdefault(k, {"bios": 0, "blocks": 0})
            d["bios"] += 1
            d["blocks"] += sum(seg.get("count", 0) for seg in segs)
        seeks = sum(1 for a, b in zip(reads, reads[1:])
                    if b.get("first_block") != a.get("first_block", 0) + a.get("block_count", 0))
        out[p.name] = {"bios": len(reads), "blocks": sum(e.get("block_count", 0) for e in reads),
                       "seeks": seeks, "kinds": kinds,
                       "first": [f"{e.get('first_block')}+{e.get('block_count')}:"
                                 + "+".join(sorted({s.get('kind', '?') for s in e.get('segments', [])}))
                                 for e in reads[:40]]}
    return out


def create_io(events, files):
    """What a create+write+fsync run asked of the device (decoded events of its
    capture): queued write bios and flushes per file, reads, and the device's
    time (dispatch to completion) per write and per flush, against the span
    of the capture: the rest of the span is the guest's own time (system
    calls, the filesystem's CPU), the device being idle between fsyncs."""
    files = max(files or 1, 1)
    dispatched, busy = {}, {"write": [], "flush": []}
    q = {"write": 0, "flush": 0, "read": 0}
    flush_d = None
    for e in events:
        rwbs, act = e.get("rwbs", ""), e.get("action")
        if "F" in rwbs:         # Q FWS, then D FN and C FN: the cache flush
            if act == "Q":
                q["flush"] += 1
            elif act == "D":
                flush_d = e["time_ns"]
            elif act == "C" and flush_d is not None:
                busy["flush"].append(e["time_ns"] - flush_d)
                flush_d = None
            continue
        kind = "write" if "W" in rwbs else "read" if "R" in rwbs else None
        if kind is None:
            continue
        if act == "Q":
            q[kind] += 1
        elif act == "D" and kind == "write":
            dispatched[e.get("sector")] = e["time_ns"]
        elif act == "C" and kind == "write" and e.get("sector") in dispatched:
            busy["write"].append(e["time_ns"] - dispatched.pop(e["sector"]))
    times = [e["time_ns"] for e in events if "time_ns" in e]
    span = (max(times) - min(times)) / 1e9 if times else 0.0
    device = sum(busy["write"]) / 1e9 + sum(busy["flush"]) / 1e9
    mean = lambda v: sum(v) / len(v) / 1e6 if v else None  # noqa: E731
    return {"files": files, "writes": q["write"], "flushes": q["flush"], "reads": q["read"],
            "writes_per_file": q["write"] / files, "flushes_per_file": q["flush"] / files,
            "write_ms": mean(busy["write"]), "flush_ms": mean(busy["flush"]),
            "device_s": device, "span_s": span, "guest_ms_per_file": (span - device) * 1e3 / files}


def small_create_io(mpagectl, peers, tr, res, files):
    """--trace-small: create_io() of the traced create+write+fsync, per peer (repeat 1)."""
    out = {}
    for p in peers:
        prefix = tr / f"small-create.{p.name}.1"
        if not Path(str(prefix) + ".blktrace.0").exists():
            continue
        if (res / f"small-create.{p.name}.1.trace-failed").exists():
            continue
        out[p.name] = create_io(decode(mpagectl, prefix), files)
    return out


def churn_extents(mpagectl, peers):
    """Extents (physically contiguous runs of data blocks) per file of the files
    the churn workload left, per peer, from the image after the run."""
    import guest
    _, left = guest.churn_plan()
    out = {}
    for p in peers:
        if p.fstype not in ("mpagefs", "ext2") or not p.small:
            continue
        runs = []
        for f in left:
            try:
                m = json.loads(_run([mpagectl, "map", p.image, f"/churn/{f}", "--json"]))
            except subprocess.CalledProcessError:
                break   # the churn did not run on this peer
            # map's runs break at every pointer block too: merge runs that are
            # physically contiguous, so an extent is what the disk sees
            ext, end = 0, None
            for r in sorted(m["runs"], key=lambda r: r["logical"]):
                if r["physical"] != end:
                    ext += 1
                end = r["physical"] + r["count"]
            runs.append(ext)
        if len(runs) == len(left):
            out[p.name] = {"files": len(runs), "extents": sum(runs),
                           "per_file": sum(runs) / len(runs), "max": max(runs)}
    return out


def _fmt(v, unit=""):
    if v is None:
        return "-"
    if abs(v) >= 100:
        return f"{v:.0f}{unit}"
    if abs(v) >= 10:
        return f"{v:.1f}{unit}"
    return f"{v:.2f}{unit}"


def _cell(s):
    if not s or not s.get("n"):
        return "-"
    return f"{_fmt(s['median'])} ({_fmt(s['min'])}-{_fmt(s['max'])})"


def ratio_rows(results):
    """(label, workload, ratio summary) for every ratio the README shows."""
    rows = []
    runs = results["runs"]
    pairs = [("mpagefs-1k", "ext2-1k"), ("mpagefs-4k", "ext2-4k"), ("mpagefs-4k", "vfat"),
             ("mpagefs-4k", "raw"), ("mpagefs-1k", "raw")]
    for w, _, _ in WORKLOADS:
        for a, b in pairs:
            if a in runs.get(w, {}) and b in runs.get(w, {}):
                ra = [r["value"] for r in runs[w][a]["runs"]]
                rb = [r["value"] for r in runs[w][b]["runs"]]
                rows.append((f"{a} / {b}", w, shape.ratio_summary(ra, rb)))
    return rows


def markdown(results):
    cfg = results["config"]
    peers = list(results["peers"])
    L = []
    L.append(f"Guest kernel {results['guest'].get('uname', '?')}, QEMU/TCG, {results['guest'].get('nproc', '?')} "
             f"vCPUs, 2 GiB; big file {cfg['size'] >> 20} MiB, {cfg['repeats']} repeats, every cold run after "
             f"a fresh mount + sync + drop_caches. Cells: median (min-max).")
    L.append("")
    L += table(["workload", "unit", *peers],
                [[w.replace("tN", f"t{cfg['threads']}"), unit,
                  *(_cell(results["runs"].get(w, {}).get(p)) for p in peers)] for w, unit, _ in WORKLOADS])
    L.append("")
    L.append("Ratios (higher = mpagefs faster; min/max pair the extreme repeats):")
    L.append("")
    L += table(["ratio", "workload", "min", "median", "max"],
                [[label, w.replace("tN", f"t{cfg['threads']}"), f"{r['min']:.2f}", f"{r['median']:.2f}",
                  f"{r['max']:.2f}"] for label, w, r in ratio_rows(results) if r])
    for w in ("seq-read", "seq-write"):
        L.append("")
        if w == "seq-read":
            L.append("I/O shape, seq-read (repeat 1; bios = Q events of the file's data, other = the rest "
                     "(indirect blocks, inode table, directory, FAT); sizes in KiB; ideal and bios/ideal "
                     "compare bios):")
        else:
            L.append("I/O shape, seq-write (repeat 1; bios = Q events of all writes, sizes in KiB; "
                     "ideal and bios/ideal compare requests (C), since writeback bios are split "
                     "at max_sectors_kb):")
        L.append("")
        rows = []
        for p, reps in results["shape"].get(w, {}).items():
            s, d = reps[0], reps[0]["data"]
            rows.append([p, d["bios"], f"{d['mean_bio'] / 1024:.0f}", d["largest_bio"] // 1024,
                         f"{d['bios_per_mib']:.2f}", d["seeks"], s["other_bios"], s["ideal_bios"],
                         _fmt(s["bios_over_ideal"]), s["requests"]["bios"],
                         f"{s['requests']['mean_bio'] / 1024:.0f}", _fmt(s.get("get_block_per_mib"))])
        L += table(["peer", "bios", "mean", "largest", "bios/MiB", "seeks", "other bios", "ideal", "bios/ideal",
                     "requests (C)", "mean request", "get_block/MiB"], rows)
    for w, reps_by_peer in results.get("rand_traffic", {}).items():
        if not reps_by_peer:
            continue
        name = w.replace("tN", f"t{cfg['threads']}")
        L.append("")
        L.append(f"Device traffic of {name} (repeat 1; C events of reads: what the 4 KiB reads brought "
                 "from the device, readahead and metadata included):")
        L.append("")
        L += table(["peer", "IOPS", "reads", "requests", "KiB from device", "KiB per read", "requests per read",
                     "largest request (KiB)"],
                    [[p, f"{t['iops']:.0f}", t["ops"], t["requests"], t["bytes"] // 1024, _fmt(t["kib_per_op"]),
                      _fmt(t["requests_per_op"]), t["largest_request"] // 1024]
                     for p, t in ((p, reps[0]) for p, reps in reps_by_peer.items())])
    ch = results.get("churn")
    if ch:
        L.append("")
        L.append("Fragmentation after the churn workload (extents per file of the files left; "
                 "lower is better; ratio = mpagefs / ext2 of the same block size):")
        L.append("")
        rows = []
        for p, d in ch.items():
            peer = ch.get(p.replace("mpagefs", "ext2"))
            r = f"{d['per_file'] / peer['per_file']:.2f}" if p.startswith("mpagefs") and peer else "-"
            rows.append([p, d["files"], d["extents"], f"{d['per_file']:.2f}", d["max"], r])
        L += table(["peer", "files", "extents", "per file", "most in one file", "ratio to ext2"], rows)
    sr = results.get("small_read_io")
    if sr:
        L.append("")
        L.append("I/O of the small-files cold read-back (repeat 1, captured in an untimed run of its own; "
                 "queued read bios by kind of block, as `mpagectl explain` names them):")
        L.append("")
        L += table(["peer", "read bios", "blocks", "seeks", "by kind: bios / blocks"],
                    [[p, d["bios"], d["blocks"], d["seeks"],
                      ", ".join(f"{k} {v['bios']} / {v['blocks']}" for k, v in sorted(d["kinds"].items()))]
                     for p, d in sr.items()])
    sc = results.get("small_create_io")
    if sc:
        L.append("")
        L.append("I/O of the small-files create+write+fsync (repeat 1, captured in an untimed run of its own; "
                 "device time = dispatch to completion, guest time = the rest of the capture's span, per file):")
        L.append("")
        L += table(["peer", "files", "write bios / file", "flushes / file", "reads", "ms per write", "ms per flush",
                     "device s", "span s", "guest ms / file"],
                    [[p, d["files"], f"{d['writes_per_file']:.2f}", f"{d['flushes_per_file']:.2f}", d["reads"],
                      _fmt(d["write_ms"]), _fmt(d["flush_ms"]), f"{d['device_s']:.2f}", f"{d['span_s']:.2f}",
                      f"{d['guest_ms_per_file']:.2f}"] for p, d in sc.items()])
    L.append("")
    L.append("What we are aiming for (issue 5), against this run:")
    L.append("")
    L.append(aims_markdown(results).rstrip())
    if results.get("create_cost"):
        L.append("")
        L.append(createcost.markdown(results["create_cost"]).rstrip())
    if results.get("get_block_cost"):
        L.append("")
        L.append(gbcost.markdown(results["get_block_cost"]).rstrip())
    t = results.get("tools")
    if t:
        L.append("")
        L.append(tools.markdown(t).rstrip())
    return "\n".join(L) + "\n"


def plots(out, results, log=print):
    try:
        import matplotlib
        matplotlib.use("Agg")
        matplotlib.rcParams["svg.fonttype"] = "none"   # text as text: small, greppable SVG
        matplotlib.rcParams["svg.hashsalt"] = "mpagefs"  # reproducible ids
        import matplotlib.pyplot as plt
    except ImportError:
        log("no matplotlib (apt-get install python3-matplotlib): no plots")
        return []
    made = []
    for w in ("seq-read", "seq-write"):
        sh = results["shape"].get(w, {})
        if not sh:
            continue
        names = list(sh)
        fig, axes = plt.subplots(len(names), 1, figsize=(8, 1.6 * len(names) + 0.6), sharex=True, squeeze=False)
        for ax, p in zip(axes[:, 0], names):
            pts = sh[p][0]["scatter"]
            if pts:
                ax.scatter([x[0] for x in pts], [x[1] * 512 / (1 << 20) for x in pts], s=6, marker="o",
                           linewidths=0, rasterized=True)
            ax.set_ylabel(f"{p}\nMiB", fontsize=7)
            ax.tick_params(labelsize=7)
        axes[-1, 0].set_xlabel("seconds since the first event (repeat 1)", fontsize=8)
        fig.suptitle(f"{w}: offset on disk of every queued bio against time (seekwatcher style)", fontsize=9)
        fig.tight_layout()
        path = out / f"sector-{w}.svg"
        fig.savefig(path)
        plt.close(fig)
        made.append(path)
        fig, ax = plt.subplots(figsize=(8, 3.2))
        for p in names:
            series = sh[p][0]["throughput"]
            ax.plot([x[0] for x in series], [x[1] for x in series], label=p, linewidth=1)
        ax.set_xlabel("seconds (repeat 1)", fontsize=8)
        ax.set_ylabel("MiB/s completed (0.1 s bins)", fontsize=8)
        ax.set_title(f"{w}: throughput over time, from the C events", fontsize=9)
        ax.legend(fontsize=7)
        ax.tick_params(labelsize=7)
        fig.tight_layout()
        path = out / f"throughput-{w}.svg"
        fig.savefig(path)
        plt.close(fig)
        made.append(path)
    # The README's plot: median throughput per workload, normalised to ext2 at the same block size.
    runs = results["runs"]
    cfg = results["config"]
    labels, groups = [], {"mpagefs-1k / ext2-1k": [], "mpagefs-4k / ext2-4k": [], "mpagefs-4k / raw": []}
    for w, _, _ in WORKLOADS:
        labels.append(w.replace("tN", f"t{cfg['threads']}"))
        for g in groups:
            a, b = [x.strip() for x in g.split("/")]
            r = None
            if a in runs.get(w, {}) and b in runs.get(w, {}):
                r = shape.ratio_summary([x["value"] for x in runs[w][a]["runs"]],
                                        [x["value"] for x in runs[w][b]["runs"]])
            groups[g].append(r)
    fig, ax = plt.subplots(figsize=(8, 3.2))
    width = 0.8 / len(groups)
    for i, (g, vals) in enumerate(groups.items()):
        xs = [k + i * width for k in range(len(labels))]
        med = [v["median"] if v else 0 for v in vals]
        lo = [v["median"] - v["min"] if v else 0 for v in vals]
        hi = [v["max"] - v["median"] if v else 0 for v in vals]
        ax.bar(xs, med, width, yerr=[lo, hi], label=g, capsize=2)
    ax.axhline(1.0, color="black", linewidth=0.6)
    ax.set_xticks([k + width for k in range(len(labels))])
    ax.set_xticklabels(labels, fontsize=7)
    ax.set_ylabel("ratio (median, min-max)", fontsize=8)
    ax.set_title("mpagefs relative to ext2 and the raw device (higher = mpagefs faster)", fontsize=9)
    ax.legend(fontsize=7)
    ax.tick_params(labelsize=7)
    fig.tight_layout()
    path = out / "ratios.svg"
    fig.savefig(path)
    plt.close(fig)
    made.append(path)
    log("plots: " + ", ".join(p.name for p in made))
    return made


def _median_ratio(results, w, a, b):
    runs = results["runs"].get(w, {})
    if a not in runs or b not in runs:
        return None
    r = shape.ratio_summary([x["value"] for x in runs[a]["runs"]], [x["value"] for x in runs[b]["runs"]])
    return r["median"] if r else None


def aims(results):
    """(aim, measured, verdict) rows: the issue's targets against this run."""
    rows = []

    def verdict(ok):
        return "-" if ok is None else ("met" if ok else "**not met**")

    for w in ("seq-read", "seq-write"):
        for bs in ("1k", "4k"):
            r = _median_ratio(results, w, f"mpagefs-{bs}", f"ext2-{bs}")
            rows.append((f"{w}: mpagefs-{bs} >= 1.0x ext2-{bs}", _fmt(r, "x"), verdict(None if r is None else r >= 1.0)))
            r = _median_ratio(results, w, f"mpagefs-{bs}", "raw")
            rows.append((f"{w}: mpagefs-{bs} >= 0.9x raw", _fmt(r, "x"), verdict(None if r is None else r >= 0.9)))
    sh = results["shape"].get("seq-read", {})
    for bs in ("1k", "4k"):
        m, e = sh.get(f"mpagefs-{bs}"), sh.get(f"ext2-{bs}")
        if m and e:
            a, b = m[0]["data"]["bios_per_mib"], e[0]["data"]["bios_per_mib"]
            rows.append((f"seq-read bios/MiB: mpagefs-{bs} = ext2-{bs}", f"{a:.2f} vs {b:.2f}", verdict(a <= b * 1.001)))
            ra, rb = m[0]["requests"]["bios"], e[0]["requests"]["bios"]
            rows.append((f"seq-read requests (C): mpagefs-{bs} <= ext2-{bs} (not an aim of the issue)", f"{ra} vs {rb}",
                         verdict(ra <= rb)))
        if m:
            x = m[0]["bios_over_ideal"]
            rows.append((f"seq-read bios: mpagefs-{bs} <= 1.05x ideal", _fmt(x, "x"), verdict(x <= 1.05)))
            # The file is contiguous only between indirect blocks: every
            # window that an indirect block splits needs two calls, so the
            # bound is one call per data bio (= window piece).
            g, nb = m[0].get("get_block_calls"), m[0]["data"]["bios"]
            if g is not None and nb:
                rows.append((f"get_block calls <= 1 per readahead window piece (mpagefs-{bs}: {nb} data bios, "
                             f"{m[0]['readahead_windows']:.0f} windows)", f"{g} calls, {g / nb:.2f} per bio",
                             verdict(g <= nb)))
    # Random reads: the aim is the device work per read (bench.rst, "Random
    # reads"); their IOPS under TCG at queue depth 1 swing between repeats of
    # the same peers by more than any difference the I/O could make, so the
    # IOPS ratio is shown but judged nothing.
    traffic = results.get("rand_traffic", {})
    for w in ("rand-read-t1", "rand-read-tN", "small-create", "small-read"):
        name = w.replace("tN", f"t{results['config']['threads']}")
        for bs in ("1k", "4k"):
            if w.startswith("rand-read"):
                m, e = traffic.get(w, {}).get(f"mpagefs-{bs}"), traffic.get(w, {}).get(f"ext2-{bs}")
                if m and e:
                    a, b = m[0], e[0]
                    ok = a["kib_per_op"] <= b["kib_per_op"] * 1.01 and a["requests_per_op"] <= b["requests_per_op"] * 1.01
                    rows.append((f"{name}: mpagefs-{bs} brings no more from the device per read than ext2-{bs} "
                                 f"(KiB, requests)", f"{a['kib_per_op']:.2f} KiB, {a['requests_per_op']:.2f} vs "
                                 f"{b['kib_per_op']:.2f} KiB, {b['requests_per_op']:.2f}", verdict(ok)))
            r = _median_ratio(results, w, f"mpagefs-{bs}", f"ext2-{bs}")
            if r is None:
                continue
            if w.startswith("rand-read"):
                rows.append((f"{name}: IOPS mpagefs-{bs} / ext2-{bs} (TCG timing, not an aim)", _fmt(r, "x"), "-"))
            else:
                rows.append((f"{name}: mpagefs-{bs} >= 1.0x ext2-{bs}", _fmt(r, "x"), verdict(r >= 1.0)))
    # What a create costs the guest CPU, in instructions (createcost.py): the
    # part of small-create the filesystem decides, without the host's flushes.
    cc = results.get("create_cost")
    if cc and cc.get("ratio"):
        n = cc["ns_per_create"]
        rows.append(("small-create guest CPU: mpagefs-4k <= ext2-4k (instructions per create, -icount)",
                     f"{n['mpagefs-4k']['median'] / 1e3:.1f}k vs {n['ext2-4k']['median'] / 1e3:.1f}k",
                     verdict(cc["ratio"]["median"] >= 1.0)))
    t = results.get("tools")
    if t:
        rows += [(a, m, verdict(ok)) for a, m, ok in tools.aims(t)]
    return rows


def aims_markdown(results):
    return "\n".join(table(["aim", "measured (median)", ""], aims(results))) + "\n"
