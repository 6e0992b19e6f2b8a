"""Host-side tooling benchmark: `mpagectl decode` (and explain) against
blkparse on the same synthetic captures, timed with /usr/bin/time -v."""
import re
import shutil
import subprocess


def timed(cmd, stdout=subprocess.DEVNULL):
    """Runs cmd under /usr/bin/time -v: (seconds, max RSS KiB)."""
    p = subprocess.run(["/usr/bin/time", "-v", *[str(c) for c in cmd]], stdout=stdout,
                       stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed ({p.returncode}): {p.stderr[-2000:]}")
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr).group(1))
    m = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)", p.stderr)
    secs = int(m.group(1) or 0) * 3600 + int(m.group(2)) * 60 + float(m.group(3))
    return secs, rss


def run(out, mpagectl, sizes, image=None, log=print):
    d = out / "traces"
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    rows, ratios = [], []
    blkparse = shutil.which("blkparse")
    for n in sizes:
        prefix = d / f"synth{n}"
        subprocess.run([str(mpagectl), "trace-synth", "-o", str(prefix), "--events", str(n)], check=True,
                       capture_output=True)
        size = sum(f.stat().st_size for f in d.glob(f"synth{n}.blktrace.*"))
        log(f"tools: {n:,} events ({size >> 20} MiB): mpagectl decode, decode --json, blkparse")
        tools = [("mpagectl decode", [mpagectl, "decode", prefix]),
                 ("mpagectl decode --json", [mpagectl, "decode", prefix, "--json"])]
        if image is not None:
            tools.append(("mpagectl explain", [mpagectl, "explain", image, prefix, "--actions", "Q"]))
        if blkparse:
            tools.append(("blkparse", [blkparse, "-i", prefix]))
        got = {}
        for name, cmd in tools:
            secs, rss = timed(cmd)
            got[name] = (secs, rss)
            rows.append({"events": n, "tool": name, "seconds": secs, "events_per_s": n / secs if secs else 0,
                         "max_rss_kib": rss, "bytes": size})
            log(f"tools:   {name}: {secs:.2f} s, {n / secs:,.0f} events/s, max RSS {rss / 1024:.1f} MiB")
        if "blkparse" in got:
            for name in ("mpagectl decode", "mpagectl explain"):
                if name in got:
                    ratios.append({"label": f"{name} / blkparse", "events": n,
                                   "speed": got["blkparse"][0] / got[name][0],
                                   "memory": got[name][1] / got["blkparse"][1]})
        for f in d.glob(f"synth{n}.blktrace.*"):
            f.unlink()
    if len(sizes) >= 2:
        lo, hi = min(sizes), max(sizes)
        for name in {r["tool"] for r in rows}:
            a = next(r for r in rows if r["tool"] == name and r["events"] == lo)
            b = next(r for r in rows if r["tool"] == name and r["events"] == hi)
            ratios.append({"label": f"{name}: {hi:,} vs {lo:,} events", "events": hi,
                           "speed": b["events_per_s"] / a["events_per_s"],
                           "memory": b["max_rss_kib"] / a["max_rss_kib"]})
    return {"runs": rows, "ratios": ratios}
