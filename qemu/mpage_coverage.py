#!/usr/bin/env python3
"""mpage_coverage.py - line and branch coverage of fs/mpage.c (and the fs/buffer.c
functions mpage falls back to) from the debug kernel's gcov counters.

(Not named coverage.py: that would shadow the coverage package of pytest-cov.)

The debug kernel (qemu/debug-kernel/build.sh) profiles only fs/mpage.o and fs/buffer.o;
its build tree, in ~/.cache/mpagefs, keeps fs/mpage.gcno and fs/buffer.gcno.  Inside the
VM the counters are /sys/kernel/debug/gcov/<tree>/fs/{mpage,buffer}.gcda.

Getting counters out of the VM, two ways:
  * per VM run (what make check-debug / make coverage do): under the debug kernel
    qemu/init zeroes the counters right before the job and run_vm brings them back in
    <out_dir>/gcov/; with MPAGEFS_GCOV_COLLECT=DIR run_vm also copies them to
    DIR/<run name>/.  One run = one "scenario" of the report.
  * per job of a shared boot (run_batch, the VM tests' lab.vm_job): qemu/init zeroes
    the counters before each job and saves them after it; they come back in
    <boot>/gcov/<job>/ and, with MPAGEFS_GCOV_COLLECT=DIR, in DIR/<boots>__<boot>__<job>/.
    One job (one mpage.c scenario, say) = one "scenario" of the report.

Host side:
    runs = {"seed": Path(".../gcov"), ...}          # name -> directory of .gcda files
    cov = merge(tree, runs)                          # summed counts + first scenario per line
    write_report(tree, cov, Path("build/coverage"))  # report.md, mpage.c.gcov.txt, ...
CLI: python3 qemu/mpage_coverage.py --tree TREE --runs DIR --out build/coverage
     (every subdirectory of DIR with .gcda files is one run, taken in name order)
"""
import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent

# Objects whose counters are reported (fs/<name>.o, profiled by the debug kernel).
OBJECTS = ("mpage", "buffer")

# fs/buffer.c functions that fs/mpage.c calls or falls back to (6.1 and 6.12's names): the buffer-head
# read/write of a "confused" page, the helpers of map_buffer_to_folio and of the
# boundary submit, and the buffer-head I/O completions.
BUFFER_FUNCTIONS = (
    "block_read_full_folio", "mark_buffer_async_read", "end_buffer_async_read",
    "end_buffer_async_read_io", "block_write_full_page", "__block_write_full_page",
    "mark_buffer_async_write", "mark_buffer_async_write_endio", "end_buffer_async_write",
    "create_empty_buffers", "alloc_page_buffers", "write_boundary_block",
    "clean_bdev_aliases", "try_to_free_buffers", "submit_bh_wbc", "submit_bh",
    "block_write_full_folio", "__block_write_full_folio", "folio_create_empty_buffers",
    "folio_alloc_buffers",
)


@dataclass
class FileCov:
    """Coverage of one source file, summed over runs."""
    path: str                                   # as gcov names it (fs/mpage.c)
    lines: dict = field(default_factory=dict)   # line -> hit count
    first: dict = field(default_factory=dict)   # line -> name of the first run reaching it
    branches: dict = field(default_factory=dict)  # line -> [taken count per branch]
    functions: dict = field(default_factory=dict)  # name -> (start, end, hit count)


def runs_from_dir(root):
    """{name: directory} for every subdirectory of ROOT that holds .gcda files."""
    root = Path(root)
    if not root.is_dir():
        return {}
    return {d.name: d for d in sorted(root.iterdir()) if d.is_dir() and any(d.glob("*.gcda"))}


def gcov_json(tree, gcda_dir, obj):
    """gcov's JSON for fs/OBJ.o with the counters of GCDA_DIR (None: no counters, all 0).

    The .gcno of the build tree and the .gcda are put side by side in a scratch directory
    and gcov (of the gcc that built the kernel) runs from the tree's root, where the
    sources are."""
    tree = Path(tree)
    gcno = tree / "fs" / f"{obj}.gcno"
    if not gcno.exists():
        raise SystemExit(f"mpage_coverage: {gcno} missing: not a gcov build tree "
                         "(qemu/debug-kernel/build.sh)")
    with tempfile.TemporaryDirectory(prefix="mpagecov-") as tmp:
        shutil.copy(gcno, Path(tmp) / f"{obj}.gcno")
        gcda = Path(gcda_dir) / f"{obj}.gcda" if gcda_dir else None
        if gcda and gcda.exists():
            shutil.copy(gcda, Path(tmp) / f"{obj}.gcda")
        p = subprocess.run(["gcov", "--json-format", "--stdout", "--branch-probabilities",
                            "--object-directory", tmp, f"fs/{obj}.c"],
                           cwd=tree, capture_output=True, text=True)
        if p.returncode != 0:
            raise SystemExit(f"mpage_coverage: gcov failed for {obj}: {p.stderr.strip()}")
        if "mismatch" in p.stderr or "stamp" in p.stderr:
            raise SystemExit(f"mpage_coverage: {gcda} does not belong to {gcno}: "
                             f"{p.stderr.strip()}")
    docs = [json.loads(line) for line in p.stdout.splitlines() if line.strip()]
    for doc in docs:
        for f in doc.get("files", []):
            if f["file"].endswith(f"fs/{obj}.c"):
                return f
    raise SystemExit(f"mpage_coverage: gcov printed nothing for fs/{obj}.c")


def merge(tree, runs):
    """{obj: FileCov} summed over RUNS ({name: gcda directory}, in order); the first run
    (in that order) that reached a line is remembered for it."""
    result = {}
    for obj in OBJECTS:
        base = gcov_json(tree, None, obj)
        cov = FileCov(path=base["file"])
        for ln in base["lines"]:
            cov.lines.setdefault(ln["line_number"], 0)
            cov.branches.setdefault(ln["line_number"], [0] * len(ln.get("branches", [])))
        for fn in base["functions"]:
            cov.functions[fn["demangled_name"]] = (fn["start_line"], fn["end_line"], 0)
        for name, d in runs.items():
            if not (Path(d) / f"{obj}.gcda").exists():
                continue
            data = gcov_json(tree, d, obj)
            for ln in data["lines"]:
                n = ln["line_number"]
                cov.lines[n] = cov.lines.get(n, 0) + ln["count"]
                if ln["count"] and n not in cov.first:
                    cov.first[n] = name
                br = [b["count"] for b in ln.get("branches", [])]
                old = cov.branches.get(n, [0] * len(br))
                if len(old) == len(br):
                    cov.branches[n] = [a + b for a, b in zip(old, br)]
            for fn in data["functions"]:
                s, e, c = cov.functions.get(fn["demangled_name"], (fn["start_line"],
                                                                   fn["end_line"], 0))
                cov.functions[fn["demangled_name"]] = (s, e, c + fn["execution_count"])
        result[obj] = cov
    return result


def line_stats(cov, lines=None):
    """(lines hit, lines instrumented, branches taken, branches) over LINES (all: None)."""
    keys = [n for n in cov.lines if lines is None or n in lines]
    hit = sum(1 for n in keys if cov.lines[n])
    brs = [c for n in keys for c in cov.branches.get(n, [])]
    return hit, len(keys), sum(1 for c in brs if c), len(brs)


def function_lines(cov, name):
    s, e, _ = cov.functions[name]
    return {n for n in cov.lines if s <= n <= e}


def pct(a, b):
    return f"{100.0 * a / b:.1f}%" if b else "n/a"


# Why a line of fs/mpage.c (6.1 or 6.12) can stay unreached in this lab: (function, a
# piece of the line or of the 3 lines before it, reason).  The first match wins.
UNREACHED_REASONS = [
    ("do_mpage_readpage", "bdev_read_page",
     "bdev_read_page() succeeded: only drivers with ->rw_page (brd, zram, pmem) read a page "
     "synchronously; virtio-blk has none, so mpage always builds a bio"),
    ("do_mpage_readpage", "args->bio == NULL",
     "bio_alloc() returned NULL: the mask is mapping_gfp_constraint(..., GFP_KERNEL), which "
     "allows direct reclaim, so bio_alloc waits on fs_bio_set's mempool and cannot fail"),
    ("__mpage_writepage", "bdev_write_page",
     "bdev_write_page() succeeded: no ->rw_page on virtio-blk (see bdev_read_page)"),
    ("__mpage_writepage", "!buffer_mapped(&map_bh)",
     "get_block(create=1) answered with an unmapped buffer (6.12): mpagefs's get_block maps "
     "the block or fails, never both succeeds and leaves it unmapped"),
    ("clean_buffers", "try_to_free_buffers",
     "buffer_heads_over_limit: buffer heads would have to take more than 10% of low memory "
     "(max_buffer_heads), millions of them in a 2 GiB guest"),
    ("clean_page_buffers", "",
     "clean_page_buffers() is exported but has no caller anywhere in the 6.1 tree"),
]


def unreached_reason(fn, n, src):
    """The reason UNREACHED_REASONS gives for line N (1-based) of SRC in function FN."""
    context = " ".join(src[max(0, n - 4):n])
    for name, piece, why in UNREACHED_REASONS:
        if name == fn and piece in context:
            return why
    return "no scenario reaches it yet"


def write_report(tree, covs, out, runs=()):
    """Write OUT/report.md, OUT/mpage.c.gcov.txt (every line with its hit count and
    first run), OUT/mpage.c.unreached.txt and OUT/coverage.json.  Returns the
    (hit, total) lines of fs/mpage.c."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    mp = covs["mpage"]
    src = (Path(tree) / "fs" / "mpage.c").read_text(errors="replace").splitlines()

    width = max((len(v) for v in mp.first.values()), default=1)
    annotated = []
    for i, text in enumerate(src, start=1):
        if i in mp.lines:
            count = f"{mp.lines[i]:>9}" if mp.lines[i] else "    #####"
        else:
            count = "        -"
        annotated.append(f"{count} {mp.first.get(i, ''):<{width}} {i:5}: {text}")
    (out / "mpage.c.gcov.txt").write_text(
        "# fs/mpage.c: hit count (##### = instrumented, never reached; - = no code),\n"
        "# the first run that reached the line, line number, source\n"
        + "\n".join(annotated) + "\n")

    unreached = [n for n in sorted(mp.lines) if not mp.lines[n]]
    fn_of = {}
    for name, (s, e, _) in mp.functions.items():
        for n in range(s, e + 1):
            fn_of[n] = name
    (out / "mpage.c.unreached.txt").write_text(
        "".join(f"{n:5} {fn_of.get(n, '?'):<24} {src[n - 1].strip()}\n" for n in unreached))

    hit, total, bhit, btotal = line_stats(mp)
    rows = []
    for name in BUFFER_FUNCTIONS:
        if name in covs["buffer"].functions:
            h, t, bh, bt = line_stats(covs["buffer"], function_lines(covs["buffer"], name))
            rows.append(f"| `{name}` | {h}/{t} | {pct(h, t)} | {bh}/{bt} | {pct(bh, bt)} |")
    fnrows = []
    for name, (s, e, calls) in sorted(mp.functions.items(), key=lambda kv: kv[1][0]):
        h, t, _, _ = line_stats(mp, function_lines(mp, name))
        fnrows.append(f"| `{name}` | {s} | {calls} | {h}/{t} | {pct(h, t)} |")
    md = [
        "# fs/mpage.c coverage (debug kernel, gcov)",
        "",
        f"Runs: {len(runs)} ({', '.join(runs) if len(runs) <= 12 else 'see coverage.json'}).",
        "",
        f"**fs/mpage.c: {hit}/{total} lines ({pct(hit, total)}), "
        f"{bhit}/{btotal} branches taken ({pct(bhit, btotal)}).**",
        "",
        "## fs/mpage.c by function",
        "",
        "| function | line | calls | lines hit | % |",
        "|---|---|---|---|---|",
        *fnrows,
        "",
        "## fs/buffer.c functions mpage falls back to",
        "",
        "| function | lines hit | % | branches taken | % |",
        "|---|---|---|---|---|",
        *rows,
        "",
        f"## Lines of fs/mpage.c never reached ({len(unreached)})",
        "",
        "Also in mpage.c.unreached.txt; mpage.c.gcov.txt has every line with its count and",
        "the first run that reached it.",
        "",
        "```",
        *(f"{n:5} {fn_of.get(n, '?'):<24} {src[n - 1].strip()}" for n in unreached),
        "```",
        "",
        "Why each is not reached:",
        "",
        *(f"- {n} (`{fn_of.get(n, '?')}`): {unreached_reason(fn_of.get(n, '?'), n, src)}"
          for n in unreached),
        "",
    ]
    (out / "report.md").write_text("\n".join(md))
    (out / "coverage.json").write_text(json.dumps({
        "runs": list(runs),
        "mpage": {"lines_hit": hit, "lines": total, "branches_taken": bhit, "branches": btotal,
                  "unreached": unreached,
                  "first_run": {str(k): v for k, v in sorted(mp.first.items())},
                  "counts": {str(k): v for k, v in sorted(mp.lines.items())}},
        "buffer_functions": {
            name: dict(zip(("lines_hit", "lines", "branches_taken", "branches"),
                           line_stats(covs["buffer"], function_lines(covs["buffer"], name))))
            for name in BUFFER_FUNCTIONS if name in covs["buffer"].functions},
    }, indent=1) + "\n")
    return hit, total


def debug_tree():
    return Path(subprocess.run([str(HERE / "debug-kernel" / "build.sh"), "--dir"], check=True,
                               capture_output=True, text=True).stdout.strip())


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tree", type=Path, help="debug kernel tree (default: build.sh --dir)")
    ap.add_argument("--runs", type=Path, required=True,
                    help="directory with one subdirectory of .gcda files per run")
    ap.add_argument("--out", type=Path, required=True, help="report directory")
    args = ap.parse_args()
    tree = args.tree or debug_tree()
    runs = runs_from_dir(args.runs)
    if not runs:
        sys.exit(f"mpage_coverage: no .gcda files under {args.runs} "
                 "(were the tests run under the debug kernel with MPAGEFS_GCOV_COLLECT?)")
    hit, total = write_report(tree, merge(tree, runs), args.out, runs)
    print(f"mpage_coverage: fs/mpage.c {hit}/{total} lines ({pct(hit, total)}) over "
          f"{len(runs)} runs: {args.out / 'report.md'}")


if __name__ == "__main__":
    main()
