#!/bin/sh
# Benchmark of the tar image reader next to the floor of just reading the bytes, and of
# hashing an image file (MD5, SHA-256, GOST R 34.11-2012 256) in one pass.
#   scripts/bench-image.sh [SIZE_MB]     (default 1024; needs ~2.5x SIZE_MB of free space)
# BENCH_DIR chooses the scratch directory (default: a new one under /tmp, removed after).
set -eu
size_mb=${1:-1024}
here=$(cd "$(dirname "$0")/.." && pwd)
dir=${BENCH_DIR:-$(mktemp -d)}
[ -n "${BENCH_DIR:-}" ] || trap 'rm -rf "$dir"' EXIT
cd "$here"
cargo build --release -q -p altrepodb-image --example image-bench
bench=$here/target/release/examples/image-bench

# A rootfs-like tree: an rpmdb, os-release through a symlink, and SIZE_MB of files of
# mixed sizes, half random, half text (so zstd has something to do).
root=$dir/root
mkdir -p "$root/var/lib/rpm" "$root/usr/lib" "$root/etc" "$root/usr/share"
printf 'NAME="ALT"\nID=altlinux\n' > "$root/usr/lib/os-release"
ln -sf ../usr/lib/os-release "$root/etc/os-release"
head -c 50000000 /dev/urandom > "$root/var/lib/rpm/Packages"
n=0
while [ $n -lt $((size_mb / 4)) ]; do
    d=$root/usr/share/d$((n / 100))
    mkdir -p "$d"
    if [ $((n % 2)) -eq 0 ]; then
        head -c 4000000 /dev/urandom > "$d/f$n"
    else
        seq 1 600000 | head -c 4000000 > "$d/f$n"
    fi
    # Many small files too, as a real image has.
    for s in 1 2 3 4 5 6 7 8; do printf 'small %s %s\n' $n $s > "$d/s$n-$s"; done
    n=$((n + 1))
done
tar -C "$root" -cf "$dir/image.tar" .
zstd -q -T2 -3 "$dir/image.tar" -o "$dir/image.tar.zst"
rm -rf "$root"
ls -l "$dir/image.tar" "$dir/image.tar.zst"

t() { # label, command...: wall seconds of the command (file already in the page cache)
    label=$1; shift
    s=$(date +%s.%N); "$@" > /dev/null; e=$(date +%s.%N)
    printf '%-44s %6.2f s\n' "$label" "$(echo "$e - $s" | bc)"
}
cat "$dir/image.tar" "$dir/image.tar.zst" > /dev/null
t "floor: cat image.tar" cat "$dir/image.tar"
t "floor: zstd -dc image.tar.zst" zstd -dc "$dir/image.tar.zst"
t "floor: tar -tf image.tar" tar -tf "$dir/image.tar"
t "ours: tar tree of image.tar" "$bench" tar "$dir/image.tar"
t "ours: tar tree of image.tar.zst" "$bench" tar "$dir/image.tar.zst"
"$bench" tar "$dir/image.tar"
"$bench" tar "$dir/image.tar.zst"
"$bench" hash "$dir/image.tar"
