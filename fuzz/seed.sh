#!/bin/sh
# Fills fuzz/corpus/{header,package,rpmdb_*,apt_list,hash_list,payload,task_files} from the
# third-party test data (never committed): whole .rpm files for `package` and `payload`; main
# header records and bare blobs for `header`, records and lists of them for `apt_list`; rpm
# databases (synthetic ones from seed_rpmdb.sh and the corpus ones) for `rpmdb_*`; the
# committed regression inputs for the loaders' targets.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
td=${ALTREPODB_TESTDATA:-$here/../../shared/testdata}
mkdir -p "$here/corpus/header" "$here/corpus/package"
find "$td/rpm" -name '*.rpm' | while read -r f; do
    b=$(basename "$f")
    # Headers only: the payload adds nothing but slowness.
    head -c 65536 "$f" > "$here/corpus/package/$b"
done
# Main header records: cut with the reader itself (the `rpm show` header boundaries).
python3 - "$td" "$here/corpus/header" <<'PY'
import os, struct, sys
td, out = sys.argv[1], sys.argv[2]
for root, _, files in os.walk(os.path.join(td, "rpm")):
    for n in files:
        if not n.endswith(".rpm"):
            continue
        d = open(os.path.join(root, n), "rb").read()
        try:
            il, dl = struct.unpack(">II", d[96 + 8:96 + 16])
            sig = 16 + 16 * il + dl
            start = 96 + sig + (8 - sig % 8) % 8
            il, dl = struct.unpack(">II", d[start + 8:start + 16])
            rec = d[start:start + 16 + 16 * il + dl]
        except struct.error:
            continue
        if len(rec) > 16 and len(rec) < 200_000:
            open(os.path.join(out, n + ".record"), "wb").write(rec)
            open(os.path.join(out, n + ".blob"), "wb").write(rec[8:])
PY
# rpm databases: the synthetic seeds, plus the corpus databases of at most 1.5 MB.
"$here/seed_rpmdb.sh" "$here/corpus" > /dev/null
for f in "$td"/rpmdb/*/Packages "$td"/rpmdb/*/Packages.xz; do
    [ -e "$f" ] || continue
    n=$(basename "$(dirname "$f")")
    case "$f" in *.xz) xz -dc "$f" > "$here/corpus/rpmdb_bdb/$n" ;; *) cp "$f" "$here/corpus/rpmdb_bdb/$n" ;; esac
done
for f in "$td"/rpmdb/*/Packages.db; do
    [ -e "$f" ] && cp "$f" "$here/corpus/rpmdb_ndb/$(basename "$(dirname "$f")")"
done
for f in "$td"/rpmdb/*/rpmdb.sqlite "$td"/rpmdb/*/rpmdb.sqlite.xz; do
    [ -e "$f" ] || continue
    n=$(basename "$(dirname "$f")")
    case "$f" in *.xz) xz -dc "$f" > "$here/corpus/rpmdb_sqlite/$n" ;; *) cp "$f" "$here/corpus/rpmdb_sqlite/$n" ;; esac
done
# The loaders' targets: regression inputs, header records (one, and all of them as a list),
# whole packages with their payloads.
for t in apt_list hash_list payload task_files; do
    mkdir -p "$here/corpus/$t"
    cp "$here/corpus-regressions/$t"/* "$here/corpus/$t/"
done
for f in "$here"/corpus/header/*.record; do
    [ -e "$f" ] && cp "$f" "$here/corpus/apt_list/"
done
cat "$here"/corpus/header/*.record > "$here/corpus/apt_list/all-records" 2>/dev/null || true
find "$td/rpm" -name '*.rpm' -size -1536k -exec cp {} "$here/corpus/payload/" \;
find "$here/corpus" -name '*' -type f -size +1536k -delete
for t in header package rpmdb_bdb rpmdb_ndb rpmdb_sqlite apt_list hash_list payload task_files; do
    echo "$t: $(ls "$here/corpus/$t" | wc -l)"
done
