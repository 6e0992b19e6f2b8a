"""Host-side tooling benchmark: `mpagectl decode` and `explain` against
blkparse on the same synthetic captures, timed with /usr/bin/time -v.

Run by `make bench` (bench.py) and on its own by `make bench-decode`:

    python3 tests/bench/tools.py --build build [--events 1000000,10000000] [--repeats 3]

which makes its own image for explain (mpagefs, 4 KiB blocks, a 256 MiB
file), writes OUT/tools.json (bench.py --tools-json takes it) and prints the
tables and the aims of issue 13."""
import argparse
import json
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from mdtable import table

# (name, speed aim against blkparse's text to the same place, or None)
AIMS = {
    "mpagectl decode": 10,
    "mpagectl decode > file": 10,
    "mpagectl decode --json": 3,
    "mpagectl explain": 5,
    "mpagectl explain --json": 3,
}
# decode's peak RSS against blkparse's
MEMORY_AIM = 2.0
# peak RSS of 10M events against 1M events
FLAT_AIM = 1.2


def timed(cmd, stdout=subprocess.DEVNULL):
    """Runs cmd under /usr/bin/time -v: (seconds, max RSS KiB)."""
    t0 = time.monotonic()
    p = subprocess.run(["/usr/bin/time", "-v", *[str(c) for c in cmd]], stdout=stdout,
                       stderr=subprocess.PIPE, text=True)
    # Wall time to the microsecond (time -v rounds to 10 ms, 5% of a 1M-event decode).
    secs = time.monotonic() - t0
    if p.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed ({p.returncode}): {p.stderr[-2000:]}")
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr).group(1))
    return secs, rss


def timed_to_file(cmd, path):
    """timed() with stdout to a file (removed afterwards)."""
    try:
        with open(path, "wb") as f:
            return timed(cmd, stdout=f)
    finally:
        Path(path).unlink(missing_ok=True)


def run(out, mpagectl, sizes, image=None, log=print, repeats=1):
    """Every tool on each capture size, `repeats` times round-robin (so host
    noise hits every tool alike); rows carry the median time and RSS."""
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
        outfile = d / "out.txt"
        tools = [("mpagectl decode", [mpagectl, "decode", prefix], None),
                 ("mpagectl decode > file", [mpagectl, "decode", prefix], outfile),
                 ("mpagectl decode --json", [mpagectl, "decode", prefix, "--json"], None)]
        if image is not None:
            tools.append(("mpagectl explain", [mpagectl, "explain", image, prefix, "--actions", "Q"], None))
            tools.append(("mpagectl explain --json",
                          [mpagectl, "explain", image, prefix, "--actions", "Q", "--json"], None))
        if blkparse:
            tools.append(("blkparse", [blkparse, "-i", prefix], None))
            tools.append(("blkparse > file", [blkparse, "-i", prefix], outfile))
        log(f"tools: {n:,} events ({size >> 20} MiB), {repeats} round(s): " + ", ".join(t[0] for t in tools))
        got = {name: [] for name, _, _ in tools}
        for rep in range(repeats):
            for name, cmd, to in tools:
                secs, rss = timed(cmd) if to is None else timed_to_file(cmd, to)
                got[name].append((secs, rss))
                log(f"tools:   [{rep + 1}] {name}: {secs:.2f} s, {n / secs:,.0f} events/s, max RSS {rss / 1024:.1f} MiB")
        med = {}
        for name, _, to in tools:
            secs = statistics.median(s for s, _ in got[name])
            rss = statistics.median(r for _, r in got[name])
            med[name] = (secs, rss)
            rows.append({"events": n, "tool": name, "seconds": secs, "events_per_s": n / secs if secs else 0,
                         "max_rss_kib": rss, "bytes": size, "output": "file" if to else "/dev/null",
                         "all_seconds": [s for s, _ in got[name]], "all_rss_kib": [r for _, r in got[name]]})
        if "blkparse" in med:
            for name in AIMS:
                if name not in med:
                    continue
                base = "blkparse > file" if name.endswith("> file") else "blkparse"
                ratios.append({"label": f"{name} / {base}", "events": n,
                               "speed": med[base][0] / med[name][0],
                               "memory": med[name][1] / med[base][1]})
        for f in d.glob(f"synth{n}.blktrace.*"):
            f.unlink()
    if len(sizes) >= 2:
        lo, hi = min(sizes), max(sizes)
        for name in dict.fromkeys(r["tool"] for r in rows):
            a = next(r for r in rows if r["tool"] == name and r["events"] == lo)
            b = next(r for r in rows if r["tool"] == name and r["events"] == hi)
            ratios.append({"label": f"{name}: {hi:,} vs {lo:,} events", "events": hi,
                           "speed": b["events_per_s"] / a["events_per_s"],
                           "memory": b["max_rss_kib"] / a["max_rss_kib"]})
    return {"runs": rows, "ratios": ratios, "repeats": repeats}


def aims(t):
    """(aim, measured, met) rows of issue 13 items 1-3 from run()'s result."""
    rows = []
    for r in t["ratios"]:
        name, _, base = r["label"].partition(" / ")
        if base and name in AIMS:
            rows.append((f"{name} >= {AIMS[name]}x {base} ({r['events']:,} events)", f"{r['speed']:.2f}x",
                         r["speed"] >= AIMS[name]))
            if name == "mpagectl decode":
                rows.append((f"{name}: max RSS <= {MEMORY_AIM:.0f}x {base}'s ({r['events']:,} events)",
                             f"{r['memory']:.2f}x", r["memory"] <= MEMORY_AIM))
    for r in t["ratios"]:
        name, sep, sizes = r["label"].partition(": ")
        if sep and name.startswith("mpagectl") and "file" not in name:
            rows.append((f"{name}: memory flat, {sizes.strip()} (<= {FLAT_AIM}x)",
                         f"{r['memory']:.2f}x max RSS", r["memory"] <= FLAT_AIM))
    return rows


def markdown(t):
    L = [f"Trace decoding on the host (synthetic captures; output to /dev/null unless \"> file\"; "
         f"median of {t.get('repeats', 1)} round(s); peak memory = max RSS from /usr/bin/time -v):", "",
         ]
    L += table(["events", "tool", "seconds", "events/s", "max RSS MiB"],
               [[f"{row['events']:,}", row["tool"], f"{row['seconds']:.2f}", f"{row['events_per_s']:,.0f}",
                 f"{row['max_rss_kib'] / 1024:.1f}"] for row in t["runs"]])
    L += [""] + table(["ratio", "events", "speed (events/s)", "memory"],
                      [[r["label"], f"{r['events']:,}", f"{r['speed']:.2f}x", f"{r['memory']:.3f}x"]
                       for r in t["ratios"]])
    return "\n".join(L) + "\n"


def make_image(out, mpagectl, size=256 << 20):
    """An mpagefs image at 4 KiB blocks holding a `size`-byte /big, as the
    benchmark's mpagefs-4k peer."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench import make_source  # noqa: E402 (bench imports this module)
    src = make_source(out, size)
    image = out / "images" / "decode-mpagefs-4k.img"
    image.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([str(mpagectl), "mkfs", "--block-size", "4096", "--size", str(size * 5 // 2 + (64 << 20)),
                    "--populate", str(src), str(image)], check=True, capture_output=True)
    return image


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=str(Path(__file__).resolve().parents[2] / "build"))
    ap.add_argument("--out", default=None, help="default BUILD/bench")
    ap.add_argument("--events", default="1000000,10000000", help="sizes of the synthetic captures")
    ap.add_argument("--repeats", type=int, default=3, help="rounds over every tool (medians are reported)")
    a = ap.parse_args()
    build = Path(a.build).resolve()
    out = Path(a.out).resolve() if a.out else build / "bench"
    mpagectl = build / "mpagectl"
    if not mpagectl.exists():
        sys.exit(f"tools: {mpagectl} missing: run make userspace first")
    out.mkdir(parents=True, exist_ok=True)
    image = make_image(out, mpagectl)
    t = run(out, mpagectl, [int(x) for x in a.events.split(",")], image=image, repeats=a.repeats,
            log=lambda m: print(m, file=sys.stderr, flush=True))
    (out / "tools.json").write_text(json.dumps(t, indent=1))
    print(markdown(t))
    print("\n".join(table(["aim", "measured (median)", ""],
                          [[aim, m, "met" if ok else "**not met**"] for aim, m, ok in aims(t)])))
    print(f"\n(written {out / 'tools.json'})")


if __name__ == "__main__":
    main()
