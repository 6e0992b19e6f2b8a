"""mpagectl's one command-line convention (README.md, "Command-line
convention"): how commands name the image, the traced device and the
output; short options as blktrace's and mke2fs's; sizes with suffixes;
mkfs's refusal to overwrite a filesystem without -F; the README's synopsis
table against the commands themselves.  Host only: nothing is mounted or
traced (the refusal of a mounted device runs in the VM:
tests/vm/test_mkfs_refusals.py).
"""
import hashlib
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

OK, CHECK_FAILED, USAGE, RUNTIME = 0, 1, 2, 3
HINT = "Run with --help for more information."
README = Path(__file__).resolve().parents[2] / "README.md"


def usage_error(p, word=None):
    assert p.returncode == USAGE, (p.returncode, p.stdout, p.stderr)
    assert HINT in p.stderr, p.stderr
    if word:
        assert word in p.stderr, p.stderr


def digest(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def prefix(fixtures):
    return fixtures / "mpagefs-f17"


# --- the image and the trace are positional in explain and check ----------

def test_explain_and_check_take_image_and_prefix_positionally(run, image, prefix):
    p = run("explain", image, prefix, "--file", "/f17", "--notation")
    assert p.returncode == OK, p.stderr
    assert p.stdout.strip() == "[0 1 2 3 4 5 6 7 8 9 10 11] [12] [13 14 15 16 17]"
    p = run("check", image, prefix, "--file", "/f17", "--expect-order", "data:0-11,IND,data:12-16")
    assert p.returncode == OK, p.stdout + p.stderr


@pytest.mark.parametrize("cmd", ["explain", "check"])
def test_image_option_is_gone(run, image, prefix, cmd):
    # The old spelling is a usage error naming the option, not a silent
    # reinterpretation.
    usage_error(run(cmd, "--image", image, prefix, "--file", "/f17"), "--image")


# --- trace: blktrace's options, checked before any device is touched -------

@pytest.mark.parametrize("args, word", [
    (["-o", "P"], "--dev"),                              # -d is required
    (["-d", "DEV"], "--output"),                         # -o is required
    (["-d", "DEV", "-o", "P", "-b", "12X"], "--buffer-size"),
    (["-d", "DEV", "-o", "P", "-b", "0"], "--buffer-size"),
    (["-d", "DEV", "-o", "P", "-b", "4T"], "--buffer-size"),      # over 32 bits of bytes
    (["-d", "DEV", "-o", "P", "-n", "0"], "--num-sub-buffers"),
    (["-d", "DEV", "-o", "P", "-w", "0"], "--stopwatch"),
    (["-d", "DEV", "-o", "P", "-w", "2s"], "--stopwatch"),
    (["-d", "DEV", "-o", "P", "--gb-buffer-size", "1Q"], "--gb-buffer-size"),
    # The old names are gone (one name per option).
    (["--dev", "DEV", "--out", "P"], "--out"),
    (["-d", "DEV", "-o", "P", "--buf-size", "4096"], "--buf-size"),
    (["-d", "DEV", "-o", "P", "--buf-nr", "4"], "--buf-nr"),
    (["-d", "DEV", "-o", "P", "--gb-buffer-kb", "4"], "--gb-buffer-kb"),
])
def test_trace_usage_errors_before_the_device(run, tmp_path, args, word):
    p = run("trace", *args, cwd=tmp_path)
    usage_error(p, word)
    assert list(tmp_path.iterdir()) == []


def test_trace_help_names_blktrace_short_options(run):
    p = run("trace", "--help")
    assert p.returncode == OK
    for opt in ("-d,--dev", "-o,--output", "-b,--buffer-size", "-n,--num-sub-buffers", "-r,--debugfs",
                "-w,--stopwatch"):
        assert opt in p.stdout, opt
    assert "in KiB" in p.stdout


# --- trace-synth writes with -o, decode reads the prefix --------------------

def test_trace_synth_output_option(run, tmp_path):
    out = tmp_path / "s"
    p = run("trace-synth", "-o", out, "--events", 100)
    assert p.returncode == OK, p.stderr
    p = run("decode", out)
    assert p.returncode == OK, p.stderr
    assert "mpagectl decode: 100 events" in p.stderr
    usage_error(run("trace-synth", out, "--events", 100, cwd=tmp_path))   # no positional PREFIX


# --- devices print as blkparse prints them ---------------------------------

def test_decode_prints_major_comma_minor(run, prefix):
    p = run("decode", prefix, "--actions", "Q")
    assert p.returncode == OK, p.stderr
    lines = p.stdout.splitlines()
    assert lines and all(re.match(r"\s*\d+,\d+\s", ln) for ln in lines), lines[:3]
    p = run("decode", prefix, "--actions", "Q", "--json")
    assert {json.loads(ln)["dev"] for ln in p.stdout.splitlines()} == {"254,32"}


# --- stats only reads; reset zeroes ------------------------------------------

def test_stats_reset_is_gone(run):
    # Usage errors before any netlink: no module needed.
    usage_error(run("stats", "--reset", "/mnt"), "--reset")
    usage_error(run("reset"), "MOUNT")


# --- scenario run: the scratch device is -d too ------------------------------

def test_scenario_run_short_dev(run, tmp_path):
    p = run("scenario", "run", "no-such-scenario", "-d", tmp_path / "no-disk",
            "--mnt", tmp_path / "mnt", "--work", tmp_path / "work")
    usage_error(p, "no scenario named 'no-such-scenario'")
    assert list(tmp_path.iterdir()) == []


# --- sizes: bytes with K/M/G suffixes ---------------------------------------

@pytest.mark.parametrize("size", ["4194304", "4M", "4MiB", "4096K", "4mb"])
def test_mkfs_size_suffixes(run, tmp_path, size):
    img = tmp_path / "s.img"
    p = run("mkfs", "-s", size, img)
    assert p.returncode == OK, p.stderr
    assert img.stat().st_size == 4 << 20


@pytest.mark.parametrize("args", [
    ["mkfs", "-s", "12X", "IMG"],
    ["mkfs", "-s", "-1", "IMG"],
    ["mkfs", "-s", "99999999999999999999", "IMG"],
    ["fsx", "FILE", "--file-size-max", "1.5M"],
    ["workload", "seq-write", "DIR", "--chunk", "K"],
    ["bench-io", "seq-read", "PATH", "--bytes", "-5"],
])
def test_bad_sizes_are_usage_errors(run, tmp_path, args):
    usage_error(run(*args, cwd=tmp_path))
    assert list(tmp_path.iterdir()) == []


# --- mkfs: an existing filesystem needs -F (mke2fs's behaviour) -------------

def make_ext(tmp_path, kind):
    img = tmp_path / f"{kind}.img"
    subprocess.run(["truncate", "-s", "8M", img], check=True)
    subprocess.run([f"mkfs.{kind}", "-q", "-F", img], check=True, capture_output=True)
    return img


def make_vfat(tmp_path):
    if shutil.which("mkfs.vfat") is None:
        pytest.skip("mkfs.vfat (dosfstools) not installed")
    img = tmp_path / "vfat.img"
    subprocess.run(["truncate", "-s", "8M", img], check=True)
    subprocess.run(["mkfs.vfat", img], check=True, capture_output=True)
    return img


def make_mpagefs(run, tmp_path):
    img = tmp_path / "mpagefs.img"
    assert run("mkfs", "-s", "4M", img).returncode == OK
    return img


@pytest.mark.parametrize("kind", ["mpagefs", "ext2", "ext3", "ext4", "vfat"])
def test_mkfs_refuses_an_existing_filesystem_without_force(run, tmp_path, kind):
    img = {"mpagefs": lambda: make_mpagefs(run, tmp_path), "vfat": lambda: make_vfat(tmp_path)}.get(
        kind, lambda: make_ext(tmp_path, kind))()
    before = digest(img)
    for args in (["-s", "8M"], []):      # re-creating the file or formatting it in place
        p = run("mkfs", *args, img)
        assert p.returncode == RUNTIME, (p.returncode, p.stdout, p.stderr)
        assert p.stderr == f"mpagectl: {img} already contains a filesystem (type {kind}); " \
                           "use -F to overwrite it\n", p.stderr
        assert p.stdout == ""
        assert digest(img) == before          # nothing written
    p = run("mkfs", "-F", img)
    assert p.returncode == OK, p.stderr
    dump = run("dump", img, "--json")
    assert dump.returncode == OK and '"fs": "mpagefs"' in dump.stdout


def test_mkfs_needs_no_force_for_a_blank_file(run, tmp_path):
    img = tmp_path / "blank.img"
    subprocess.run(["truncate", "-s", "4M", img], check=True)
    assert run("mkfs", img).returncode == OK
    (tmp_path / "empty.img").touch()
    assert run("mkfs", "-s", "4M", tmp_path / "empty.img").returncode == OK


# --- mutate: a failure is an exit status ------------------------------------

def test_mutate_fails_on_an_ext2_image(run, tmp_path):
    img = make_ext(tmp_path, "ext2")
    before = digest(img)
    p = run("mutate", img, "--seed", 1)
    assert p.returncode == RUNTIME, (p.returncode, p.stdout, p.stderr)
    assert re.fullmatch(r"mpagectl: [^\n]+\n", p.stderr), p.stderr
    assert digest(img) == before


# --- the README's synopsis table is the CLI's --------------------------------

def readme_synopses():
    """(command, synopsis) for every `mpagectl ...` in the README's table."""
    text = README.read_text()
    table = text[text.index("## mpagectl\n"):text.index("### Command-line convention")]
    out = []
    for line in table.splitlines():
        if not line.startswith("| `mpagectl "):
            continue
        first_cell = line.split(" | ")[0]
        for syn in re.findall(r"`(mpagectl [^`]+)`", first_cell):
            syn = syn.replace("\\|", "|")
            words = syn.split()
            cmd = words[1:3] if words[1] == "scenario" else words[1:2]
            out.append((" ".join(cmd), syn))
    return out


def test_readme_lists_every_command(run):
    top = run("--help").stdout
    commands = set(re.findall(r"^  ([a-z][a-z-]+) {2,}", top[top.index("Subcommands:"):], re.M))
    commands.discard("scenario")
    commands |= {"scenario list", "scenario run"}
    documented = {c for c, _ in readme_synopses()}
    assert commands == documented, (commands - documented, documented - commands)


@pytest.mark.parametrize("cmd, synopsis", readme_synopses())
def test_readme_synopsis_options_exist(run, cmd, synopsis):
    p = run(*cmd.split(), "--help")
    assert p.returncode == OK
    for opt in re.findall(r"(?<![\w-])(--?[A-Za-z][\w-]*)", synopsis):
        if opt == "--":
            continue
        assert re.search(rf"(?<![\w-]){re.escape(opt)}(?![\w-])", p.stdout), (opt, synopsis)
