#!/bin/sh
# Fills fuzz/corpus/image_{tar,oci,qcow2,partitions,xz} with small self-made inputs (never
# committed): tars of every header format, a layer stack, qcow2 disks (plain, zlib, zstd), MBR
# and GPT tables, and multi-block xz files. Needs tar, xz, qemu-img and sfdisk.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=$here/corpus
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$out/image_tar" "$out/image_oci" "$out/image_qcow2" "$out/image_partitions" "$out/image_xz"

r=$work/root
mkdir -p "$r/etc" "$r/usr/lib" "$r/var/lib/rpm" "$r/a/very/long/directory/name/that/goes/on/and/on/for/more/than/one/hundred/bytes/in/total/x"
printf 'NAME="ALT"\nID=altlinux\n' > "$r/usr/lib/os-release"
ln -s ../usr/lib/os-release "$r/etc/os-release"
printf 'db' > "$r/var/lib/rpm/Packages"
ln "$r/var/lib/rpm/Packages" "$r/var/lib/rpm/hardlink"
printf 'x' > "$r/a/very/long/directory/name/that/goes/on/and/on/for/more/than/one/hundred/bytes/in/total/x/file-with-a-long-name"
for f in ustar gnu pax v7; do
    tar --format=$f -C "$r" -cf "$out/image_tar/$f.tar" . 2>/dev/null || true
done
tar --format=gnu -C "$r" -cf - ./etc ./usr ./var | gzip -9 > "$out/image_tar/gnu.tar.gz"
tar --format=pax -C "$r" -cf - etc usr var | xz -0 > "$out/image_tar/pax.tar.xz"

# Two layers: the second hides Packages and makes /usr opaque.
l2=$work/l2
mkdir -p "$l2/var/lib/rpm" "$l2/usr"
: > "$l2/var/lib/rpm/.wh.Packages"
: > "$l2/usr/.wh..wh..opq"
printf 'new' > "$l2/usr/new"
{ tar --format=pax -C "$r" -cf - etc usr var; printf -- '--layer--\n'; tar --format=pax -C "$l2" -cf - .; } > "$out/image_oci/two-layers"

raw=$work/raw.img
truncate -s 4M "$raw"
printf 'label: gpt\nstart=2048, size=2048, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name="root"\nstart=4096, size=2048\n' | sfdisk -q "$raw"
head -c 65536 "$raw" > "$out/image_partitions/gpt-head"
truncate -s 4M "$work/mbr.img"
printf 'label: dos\nstart=2048, size=2048, type=83\nstart=4096, size=2048, type=5\nstart=4160, size=1000, type=83\n' | sfdisk -q "$work/mbr.img"
head -c 65536 "$work/mbr.img" > "$out/image_partitions/mbr-extended-head"
printf 'hello qcow2' | dd of="$raw" bs=1 seek=1048576 conv=notrunc 2>/dev/null
qemu-img convert -f raw -O qcow2 "$raw" "$out/image_qcow2/plain.qcow2"
qemu-img convert -c -f raw -O qcow2 "$raw" "$out/image_qcow2/zlib.qcow2"
qemu-img convert -c -f raw -O qcow2 -o compression_type=zstd "$raw" "$out/image_qcow2/zstd.qcow2"
qemu-img convert -f raw -O qcow2 -o compat=0.10 "$raw" "$out/image_qcow2/v2.qcow2"
head -c 300000 /dev/urandom | od -An -tx1 | head -c 300000 > "$work/text"
xz -0 --block-size=65536 -c "$work/text" > "$out/image_xz/blocks.xz"
xz -0 -c "$work/text" > "$out/image_xz/one-block.xz"
printf 'tiny' | xz -c > "$out/image_xz/tiny.xz"
