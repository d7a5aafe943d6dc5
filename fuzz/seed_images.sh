#!/bin/sh
# Writes small filesystem images for the ext4, iso9660 and squashfs fuzz targets into OUT
# (default fuzz/corpus), built here without root by mke2fs, mksquashfs (every compressor),
# genisoimage/xorriso (Rock Ridge, Joliet, zisofs, El Torito), plus the corpus samples.
# With --regressions, writes only the tiny self-made seeds committed under corpus-regressions/.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
td=${ALTREPODB_TESTDATA:-$here/../../shared/testdata}
out=$here/corpus
tiny=0
[ "${1:-}" = "--regressions" ] && { out=$here/corpus-regressions; tiny=1; }
mkdir -p "$out/ext4" "$out/iso9660" "$out/squashfs"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
r=$tmp/root
mkdir -p "$r/etc" "$r/d/e"
printf 'ID=altlinux\n' > "$r/etc/os-release"
printf 'abc' > "$r/d/e/f"
head -c 5000 /dev/zero | tr '\0' 'x' > "$r/d/big"
ln -s ../etc/os-release "$r/d/link"
ln -s /a/very/long/symlink/target/that/does/not/fit/into/the/sixty/byte/i_block "$r/slow"
export PATH="$PATH:/usr/sbin:/sbin"
# ext4: 64 KiB, 1 KiB blocks, no journal; plus inline data.
truncate -s 64K "$tmp/e.img"
mke2fs -q -F -t ext4 -b 1024 -N 32 -O ^has_journal,^resize_inode -d "$r" "$tmp/e.img" 2>/dev/null && cp "$tmp/e.img" "$out/ext4/synthetic-ext4-1k"
truncate -s 64K "$tmp/i.img"
mke2fs -q -F -t ext4 -b 1024 -N 32 -I 256 -O ^has_journal,^resize_inode,inline_data -d "$r" "$tmp/i.img" 2>/dev/null && cp "$tmp/i.img" "$out/ext4/synthetic-ext4-inline"
# squashfs: one per compressor (a few KiB each).
for c in gzip xz lzo lz4 zstd; do
    mksquashfs "$r" "$tmp/s.$c" -noappend -quiet -no-progress -comp "$c" -b 4096 >/dev/null 2>&1 && cp "$tmp/s.$c" "$out/squashfs/synthetic-$c"
done
# ISO: no padding, Rock Ridge + Joliet (~50 KiB, mostly zeros).
genisoimage -quiet -no-pad -R -J -o "$tmp/g.iso" "$r" 2>/dev/null && cp "$tmp/g.iso" "$out/iso9660/synthetic-rr-joliet"
[ "$tiny" = 1 ] && exit 0
mkzftree "$r" "$tmp/z" && genisoimage -quiet -R -z -o "$tmp/z.iso" "$tmp/z" 2>/dev/null && cp "$tmp/z.iso" "$out/iso9660/synthetic-zisofs"
mkdir -p "$r/boot" && head -c 2048 /dev/zero > "$r/boot/b.img"
xorriso -as mkisofs -R -J -b boot/b.img -no-emul-boot -o "$tmp/x.iso" "$r" >/dev/null 2>&1 && cp "$tmp/x.iso" "$out/iso9660/synthetic-eltorito"
for f in "$td"/images/*/*.iso; do [ -f "$f" ] && cp "$f" "$out/iso9660/"; done
for f in "$td"/images/*/*.squashfs; do [ -f "$f" ] && cp "$f" "$out/squashfs/"; done
for f in "$td"/images/*/*.ext4; do [ -f "$f" ] && cp "$f" "$out/ext4/"; done
