"""Helpers shared by the dataset scripts (datasets/*/process.py): read an npm tarball after checking
its integrity string, gzip deterministically, write files atomically. Standard library only."""
import base64
import gzip
import hashlib
import io
import os
import sys
import tempfile


def fail(msg):
    """Prints 'process.py: MSG' to stderr and exits with status 1."""
    sys.stderr.write("process.py: " + msg + "\n")
    sys.exit(1)


def read_verified(tarball, integrity):
    """The bytes of TARBALL, after checking them against npm's INTEGRITY string ('sha512-<base64>')."""
    with open(tarball, "rb") as f:
        raw = f.read()
    actual = "sha512-" + base64.b64encode(hashlib.sha512(raw).digest()).decode("ascii")
    if actual != integrity:
        fail("tarball integrity mismatch: expected %s, actual %s" % (integrity, actual))
    return raw


def gzip_bytes(data):
    """gzip of DATA that depends only on DATA: level 9, no file name, mtime 0."""
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, compresslevel=9, mtime=0) as gz:
        gz.write(data)
    return buf.getvalue()


def write_atomic(path, data):
    """Writes DATA to PATH through a temporary file beside it and a rename (mode 0644)."""
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix="." + os.path.basename(path) + ".")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
