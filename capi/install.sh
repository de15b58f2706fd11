#!/bin/sh
# Installs the C library built by `cargo build --release -p kmc-capi` under a prefix:
#   PREFIX/lib/libkmc.so.<version> with the links libkmc.so.0 (the SONAME) and libkmc.so,
#   PREFIX/lib/libkmc.a, PREFIX/include/kmc.h and PREFIX/lib/pkgconfig/kmc.pc.
# Usage: capi/install.sh PREFIX [TARGET_DIR]   (TARGET_DIR defaults to ./target)
# Then: cc prog.c $(PKG_CONFIG_PATH=PREFIX/lib/pkgconfig pkg-config --cflags --libs kmc)
#   or, statically: cc prog.c PREFIX/lib/libkmc.a $(pkg-config --static --libs-only-l kmc | sed 's/-lkmc//')
set -eu
[ $# -ge 1 ] || { echo "usage: $0 PREFIX [TARGET_DIR]" >&2; exit 2; }
root=$(cd "$(dirname "$0")/.." && pwd)
prefix=$1
target=${2:-$root/target}
version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$root/capi/Cargo.toml" | head -n 1)
major=${version%%.*}
for f in libkmc.so libkmc.a; do
    [ -f "$target/release/$f" ] || {
        echo "$0: no $target/release/$f; run \`cargo build --release -p kmc-capi\` first" >&2
        exit 1
    }
done
mkdir -p "$prefix/lib/pkgconfig" "$prefix/include"
cp "$target/release/libkmc.so" "$prefix/lib/libkmc.so.$version"
ln -sf "libkmc.so.$version" "$prefix/lib/libkmc.so.$major"
ln -sf "libkmc.so.$major" "$prefix/lib/libkmc.so"
cp "$target/release/libkmc.a" "$prefix/lib/libkmc.a"
cp "$root/include/kmc.h" "$prefix/include/kmc.h"
sed -e "s|@PREFIX@|$prefix|" -e "s|@VERSION@|$version|" "$root/capi/kmc.pc.in" \
    > "$prefix/lib/pkgconfig/kmc.pc"
echo "installed kmc $version under $prefix"
