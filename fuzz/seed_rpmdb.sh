#!/bin/sh
# Small synthetic rpm databases for the rpmdb fuzz targets, written to OUT/rpmdb_{bdb,ndb,sqlite}/.
# Made from scratch (no third-party data): header blobs of fictional packages, a Berkeley DB
# hash file by db5.3_load (little- and big-endian, 512-byte pages so blobs use overflow pages,
# one with page checksums), an NDB file written here, an SQLite file by Python's sqlite3.
# Usage: fuzz/seed_rpmdb.sh OUT   (seed.sh calls it with fuzz/corpus; the committed
# corpus-regressions/rpmdb_* seeds were made with it too).
set -eu
out=${1:?usage: seed_rpmdb.sh OUT}
mkdir -p "$out/rpmdb_bdb" "$out/rpmdb_ndb" "$out/rpmdb_sqlite"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 - "$tmp" "$out" <<'PY'
import os, sqlite3, struct, sys, zlib
tmp, out = sys.argv[1], sys.argv[2]

def blob(name, filler):
    # A bare header blob: NAME (string), VERSION (string), BUILDTIME (int32), DESCRIPTION.
    entries, store = [], b""
    def add(tag, typ, data, count=1, align=1):
        nonlocal store
        store += b"\0" * (-len(store) % align)
        entries.append(struct.pack(">IIiI", tag, typ, len(store), count))
        store += data
    add(1000, 6, name.encode() + b"\0")
    add(1001, 6, b"1.0\0")
    add(1006, 4, struct.pack(">I", 1700000000), align=4)
    add(1005, 9, (filler * 40).encode() + b"\0")
    return struct.pack(">II", len(entries), len(store)) + b"".join(entries) + store

blobs = [(1, blob("alpha", "a")), (2, blob("beta-with-a-longer-name", "b" * 15)), (5, blob("gamma", "c" * 3))]

def dump(order, chksum):
    w = lambda v: struct.pack(order + "I", v)
    lines = ["VERSION=3", "format=bytevalue", "type=hash", "db_pagesize=512",
             "db_lorder=%d" % (1234 if order == "<" else 4321)]
    if chksum:
        lines.append("chksum=1")
    lines.append("HEADER=END")
    lines += [" " + w(0).hex(), " " + w(6).hex()]
    for i, b in blobs:
        lines += [" " + w(i).hex(), " " + b.hex()]
    lines.append("DATA=END")
    return "\n".join(lines) + "\n"

for name, order, chksum in [("le512", "<", False), ("be512-chksum", ">", True)]:
    open(os.path.join(tmp, name + ".dump"), "w").write(dump(order, chksum))

# NDB: header, one slot page, blobs in 16-byte blocks with head and Adler-32 tail.
page = bytearray(4096)
struct.pack_into("<4sIIII", page, 0, b"RpmP", 0, 1, 1, 6)
for s in range(2, 256):
    struct.pack_into("<4sIII", page, s * 16, b"Slot", 0, 0, 0)
data = bytearray(page)
for n, (i, b) in enumerate(blobs):
    blk = len(data) // 16
    head = struct.pack("<4sIII", b"BlbS", i, 1700000000, len(b))
    body = head + b
    body += b"\0" * (-(len(body) + 12) % 16)
    body += struct.pack("<II4s", zlib.adler32(body), len(b), b"BlbE")
    struct.pack_into("<4sIII", data, (2 + n) * 16, b"Slot", i, blk, len(body) // 16)
    data += body
open(os.path.join(out, "rpmdb_ndb", "synthetic-3.ndb"), "wb").write(bytes(data))

# SQLite: rpm's table, 512-byte pages so the blobs overflow.
db = os.path.join(out, "rpmdb_sqlite", "synthetic-3.sqlite")
if os.path.exists(db):
    os.remove(db)
c = sqlite3.connect(db)
c.execute("PRAGMA page_size=512")
c.execute("CREATE TABLE 'Packages' (hnum INTEGER PRIMARY KEY AUTOINCREMENT,blob BLOB NOT NULL)")
c.executemany("INSERT INTO Packages VALUES (?, ?)", blobs)
c.commit()
c.close()
PY
for name in le512 be512-chksum; do
    rm -f "$out/rpmdb_bdb/synthetic-3-$name.bdb"
    db5.3_load -f "$tmp/$name.dump" "$out/rpmdb_bdb/synthetic-3-$name.bdb"
done
ls -l "$out/rpmdb_bdb" "$out/rpmdb_ndb" "$out/rpmdb_sqlite"
