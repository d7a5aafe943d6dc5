#!/bin/sh
# Fills fuzz/corpus/{header,package} from the third-party test data (never committed):
# whole .rpm files for `package`; main header records and bare blobs for `header`.
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
ls "$here/corpus/header" | wc -l
ls "$here/corpus/package" | wc -l
