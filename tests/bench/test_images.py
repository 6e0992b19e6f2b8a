"""Unit test of bench.py's fill_holes (host only, fast): run by `make check`
through `make bench-unit`."""
import os

import bench


def test_fill_holes_allocates_every_hole_and_keeps_the_data(tmp_path):
    img = tmp_path / "disk.img"
    size = 8 << 20
    with open(img, "wb") as f:
        f.truncate(size)
        f.seek(3 << 20)
        f.write(b"\xaa" * 4096)          # data between two holes
        f.seek(size - 4096)
        f.write(b"\x55" * 4096)          # and at the very end
    before = os.stat(img).st_blocks * 512
    written = bench.fill_holes(img, chunk=1 << 20)
    after = os.stat(img).st_blocks * 512
    assert before < size and written == size - 2 * 4096
    assert after >= size                 # nothing left to allocate on the host
    data = img.read_bytes()
    assert len(data) == size
    assert data[3 << 20:(3 << 20) + 4096] == b"\xaa" * 4096
    assert data[-4096:] == b"\x55" * 4096
    assert data[:3 << 20] == bytes(3 << 20)
    assert bench.fill_holes(img) == 0    # a second pass finds no hole
