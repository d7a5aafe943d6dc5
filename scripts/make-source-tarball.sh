#!/bin/sh
# Makes an offline source tarball for rpmbuild: the committed tree of HEAD plus every crate it
# needs, vendored, and a .cargo/config.toml that points cargo at them.
#   scripts/make-source-tarball.sh [OUTDIR]   (default: dist/)
# Writes OUTDIR/altrepodb-VERSION.tar.gz, the Source of altrepodb.spec. Needs git and cargo;
# cargo downloads the crates not already in its cache.
set -eu
top=$(git rev-parse --show-toplevel)
cd "$top"
out=${1:-dist}
mkdir -p "$out"
out=$(cd "$out" && pwd)
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
name=altrepodb-$version
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
git archive --format=tar --prefix="$name/" HEAD | tar -x -C "$work"
cd "$work/$name"
mkdir -p .cargo
cargo vendor --locked --versioned-dirs vendor > .cargo/config.toml
cd "$work"
tar --owner=0 --group=0 --sort=name -czf "$out/$name.tar.gz" "$name"
echo "$out/$name.tar.gz"
