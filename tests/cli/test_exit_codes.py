"""mpagectl's exit codes (README.md, "Exit codes"; exit_codes.hpp):
0 success, 1 a check found a difference, 2 usage error, 3 runtime error;
fsck keeps fsck(8)'s (16: usage).  Runs build/mpagectl on the host, no VM,
no device, no module.
"""
import json
import re

import pytest

OK, CHECK_FAILED, USAGE, RUNTIME = 0, 1, 2, 3
FSCK_USAGE = 16
HINT = "Run with --help for more information."


@pytest.fixture(scope="module")
def prefix(fixtures):
    return fixtures / "mpagefs-f17"


def usage_error(p):
    """CLI11's message, or ours, and the --help hint, all on stderr."""
    assert p.returncode == USAGE, (p.returncode, p.stdout, p.stderr)
    assert HINT in p.stderr, p.stderr
    assert p.stdout == "", p.stdout


def runtime_error(p):
    """Exit 3 with one clear `mpagectl: ...` line on stderr."""
    assert p.returncode == RUNTIME, (p.returncode, p.stdout, p.stderr)
    assert re.fullmatch(r"mpagectl: [^\n]+\n", p.stderr), p.stderr


# --- 0: success, --help, --version -----------------------------------------

def test_version(run):
    p = run("--version")
    assert p.returncode == OK, p.stderr
    assert re.fullmatch(r"mpagectl \d+\.\d+\.\d+\S*\n", p.stdout), p.stdout
    assert p.stderr == ""


@pytest.mark.parametrize("args", [["--help"], ["check", "--help"], ["scenario", "run", "--help"],
                                  ["fsck", "--help"]])
def test_help(run, args):
    p = run(*args)
    assert p.returncode == OK, p.stderr
    assert "Usage:" in p.stdout or "Options:" in p.stdout, p.stdout


def test_check_passing_expectation(run, image, prefix):
    p = run("check", image, prefix, "--file", "/f17",
            "--expect-order", "data:0-11,IND,data:12-16")
    assert p.returncode == OK, p.stdout + p.stderr
    assert "all checks passed" in p.stdout


# --- 1: a check found a difference -----------------------------------------

def test_check_failing_expectation(run, image, prefix):
    # The fixture reads the data first, then the IND block (BH_Boundary).
    p = run("check", image, prefix, "--file", "/f17",
            "--expect-order", "IND,data:0-11,data:12-16")
    assert p.returncode == CHECK_FAILED, p.stdout + p.stderr
    assert "FAIL order" in p.stdout
    assert p.stderr == ""


def test_check_failing_bio_size(run, image, prefix):
    p = run("check", image, prefix, "--file", "/f17", "--max-bio-kib", 1, "--json")
    assert p.returncode == CHECK_FAILED, p.stdout + p.stderr


# --- 2: usage errors --------------------------------------------------------

def test_unknown_subcommand(run):
    usage_error(run("no-such-command"))


def test_no_subcommand(run):
    usage_error(run())


@pytest.mark.parametrize("args", [
    ["check", "IMG", "PREFIX", "--file", "/f17", "--bogus"],
    ["scenario", "run", "ra-boundary", "--bogus"],
    ["scenario", "list", "--bogus"],
    ["decode", "PREFIX", "--bogus"],
])
def test_bad_flag(run, args):
    p = run(*args)
    usage_error(p)
    assert "--bogus" in p.stderr, p.stderr


@pytest.mark.parametrize("args", [
    ["decode"],                                      # no PREFIX
    ["check", "PREFIX", "--file", "/f17"],           # IMAGE and PREFIX: one missing
    ["mutate", "IMG"],                               # no --seed
    ["mutate", "IMG", "--seed", "1", "--count", "0"],  # out of range
    ["mkfs", "--block-size", "1000", "IMG"],         # not 1024, 2048, 4096
])
def test_missing_or_invalid_argument(run, args):
    usage_error(run(*args))


def test_scenario_unknown_name_without_a_device(run, tmp_path):
    # The names are checked before anything touches --dev (or /dev/vdc).
    p = run("scenario", "run", "no-such-scenario", "--dev", tmp_path / "no-disk",
            "--mnt", tmp_path / "mnt", "--work", tmp_path / "work")
    usage_error(p)
    assert "no scenario named 'no-such-scenario'" in p.stderr, p.stderr
    assert list(tmp_path.iterdir()) == []


def test_scenario_run_without_names(run):
    usage_error(run("scenario", "run"))


def test_scenario_paths_names_each_kernels_paths(run):
    """`scenario paths --json`: the paths only 6.1 or only 6.12 has, each with
    the scenarios of `scenario list` that show it."""
    p = run("scenario", "paths", "--json")
    assert p.returncode == OK, p.stderr
    paths = json.loads(p.stdout)
    names = {s["name"] for s in json.loads(run("scenario", "list", "--json").stdout)}
    assert {k for x in paths for k in x["kernels"]} == {"6.1", "6.12"}
    assert any("bdev_read_page" in x["path"] and x["kernels"] == ["6.1"] for x in paths)
    skip = [x for x in paths if "beyond EOF skips get_block" in x["path"]]
    assert skip and skip[0]["kernels"] == ["6.12"] and skip[0]["scenarios"] == ["wb-beyond-eof"]
    for x in paths:
        assert set(x["scenarios"]) <= names, x
    usage_error(run("scenario", "paths", "--bogus"))


def test_check_bad_expect_order(run, image, prefix):
    p = run("check", image, prefix, "--file", "/f17", "--expect-order", "data:0-11,bogus")
    usage_error(p)
    assert p.stderr.startswith("mpagectl: unknown block kind 'bogus'"), p.stderr


@pytest.mark.parametrize("cmd", ["decode", "explain", "check"])
def test_bad_actions(run, image, prefix, cmd):
    args = {"decode": [prefix], "explain": [image, prefix],
            "check": [image, prefix, "--file", "/f17"]}[cmd]
    p = run(cmd, *args, "--actions", "QZ")
    usage_error(p)
    assert "unknown action 'Z'" in p.stderr, p.stderr


def test_explain_notation_needs_file(run, tmp_path):
    # A usage error even though the image and trace do not exist: the
    # arguments are checked first.
    p = run("explain", tmp_path / "none.img", tmp_path / "none", "--notation")
    usage_error(p)
    assert p.stderr.startswith("mpagectl: --notation needs --file PATH\n"), p.stderr


def test_mkfs_new_image_needs_size(run, tmp_path):
    usage_error(run("mkfs", tmp_path / "new.img"))
    assert not (tmp_path / "new.img").exists()


@pytest.mark.parametrize("args", [
    ["set", "/mnt", "maxmap=x"],
    ["inject", "/mnt", "get_block", "--errno", "EIO", "--blocks", "9-3"],
    ["inject", "/mnt", "sometimes"],
    ["reset"],                                       # no MOUNT
])
def test_control_bad_arguments_before_netlink(run, args):
    # Usage errors even without the module: parsed before any netlink.
    usage_error(run(*args))


@pytest.mark.parametrize("args", [
    ["bench-io", "seq-sideways", "PATH"],
    ["bench-io", "seq-read", "PATH", "--block", "0"],
    ["bench-io", "seq-read", "PATH", "--block", "1Q"],
    ["workload", "no-such-workload", "DIR"],
    ["fsx", "FILE", "--maxlen", "0"],
])
def test_bad_values_checked_before_io(run, args, tmp_path):
    usage_error(run(*args, cwd=tmp_path))
    assert list(tmp_path.iterdir()) == []


# --- 3: runtime errors ------------------------------------------------------

def test_check_missing_trace(run, image, tmp_path):
    p = run("check", image, tmp_path / "no-such-trace", "--file", "/f17",
            "--expect-order", "data:0-11,IND,data:12-16")
    runtime_error(p)
    assert "no trace files" in p.stderr


def test_check_missing_image(run, prefix, tmp_path):
    runtime_error(run("check", tmp_path / "none.img", prefix, "--file", "/f17"))


def test_check_file_not_in_image(run, image, prefix):
    runtime_error(run("check", image, prefix, "--file", "/no-such-file"))


def test_decode_missing_file(run, tmp_path):
    p = run("decode", tmp_path / "missing")
    runtime_error(p)
    assert "no trace files" in p.stderr
    runtime_error(run("decode", tmp_path / "missing.blktrace.0"))


def test_decode_corrupt_trace(run, tmp_path):
    (tmp_path / "bad.blktrace.0").write_bytes(b"\xff" * 100)
    runtime_error(run("decode", tmp_path / "bad"))


@pytest.mark.parametrize("cmd", [["dump"], ["ls"], ["map", "/f17"], ["mutate", "--seed", "1"]])
def test_not_an_image(run, tmp_path, cmd):
    img = tmp_path / "zero.img"
    img.write_bytes(bytes(1 << 20))
    runtime_error(run(cmd[0], img, *cmd[1:]))


def test_mutate_missing_image(run, tmp_path):
    runtime_error(run("mutate", tmp_path / "none.img", "--seed", 1))


# --- fsck: fsck(8)'s codes --------------------------------------------------

@pytest.mark.parametrize("args", [["fsck"], ["fsck", "--bogus", "IMG"]])
def test_fsck_usage(run, args):
    p = run(*args)
    assert p.returncode == FSCK_USAGE, (p.returncode, p.stderr)


def test_fsck_clean_and_operational(run, image, tmp_path):
    assert run("fsck", image).returncode == 0
    assert run("fsck", tmp_path / "none.img").returncode == 8
