#!/bin/sh
# Installs cloudmarker under PREFIX: PREFIX/bin/cloudmarker, the bundled
# plugins in PREFIX/lib/cloudmarker/plugins (where the installed host looks,
# beside its own directory), the bundled rule packs and benchmark frameworks
# beside them in PREFIX/lib/cloudmarker/rules and .../frameworks (where
# rulesevent and the host look: <plugin dir>/../rules, ../frameworks), the
# man page and the bash completions.
# Used by `just install` and by the Containerfile; the tests run it too.
#
# The bundled plugins are the libraries of plugins/*/ (each crate's [lib]
# name); the build directory also holds the test fixtures' libraries, which
# are never installed.
#
# usage: deploy/install.sh PREFIX [BUILD_DIR]   (BUILD_DIR: target/release)
set -eu
prefix=${1:?usage: deploy/install.sh PREFIX [BUILD_DIR]}
build=${2:-target/release}
source_dir=$(cd "$(dirname "$0")/.." && pwd)
case $(uname -s) in
    Darwin) suffix=.dylib ;;
    *) suffix=.so ;;
esac
install -d -m 0755 "$prefix/bin" "$prefix/lib/cloudmarker/plugins" \
    "$prefix/share/man/man1" "$prefix/share/bash-completion/completions"
install -m 0755 "$build/cloudmarker" "$prefix/bin/cloudmarker"
for manifest in "$source_dir"/plugins/*/Cargo.toml; do
    # The `name` of the manifest's [lib] section.
    name=$(sed -n '/^\[lib\]/,/^\[/s/^name *= *"\([^"]*\)".*/\1/p' "$manifest")
    lib="$build/lib$name$suffix"
    if [ -z "$name" ] || [ ! -f "$lib" ]; then
        echo "install.sh: the bundled plugin library lib$name$suffix (from $manifest) is not in $build; build it first (cargo build --release)." >&2
        exit 1
    fi
    install -m 0755 "$lib" "$prefix/lib/cloudmarker/plugins/"
done
# The rule packs (rules/<cloud>/*.yaml) and frameworks (frameworks/*.yaml).
for data in rules frameworks; do
    (cd "$source_dir" && find "$data" -type f \( -name '*.yaml' -o -name '*.yml' \)) |
        while read -r file; do
            install -d -m 0755 "$prefix/lib/cloudmarker/$(dirname "$file")"
            install -m 0644 "$source_dir/$file" "$prefix/lib/cloudmarker/$file"
        done
done
"$build/cloudmarker" man > "$prefix/share/man/man1/cloudmarker.1"
"$build/cloudmarker" completions bash > "$prefix/share/bash-completion/completions/cloudmarker"
