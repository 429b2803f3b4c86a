#!/bin/sh
# Installs cloudmarker under PREFIX: PREFIX/bin/cloudmarker, the bundled
# plugins in PREFIX/lib/cloudmarker/plugins (where the installed host looks,
# beside its own directory), the man page and the bash completions.
# Used by `just install` and by the Containerfile; the tests run it too.
#
# usage: deploy/install.sh PREFIX [BUILD_DIR]   (BUILD_DIR: target/release)
set -eu
prefix=${1:?usage: deploy/install.sh PREFIX [BUILD_DIR]}
build=${2:-target/release}
install -d -m 0755 "$prefix/bin" "$prefix/lib/cloudmarker/plugins" \
    "$prefix/share/man/man1" "$prefix/share/bash-completion/completions"
install -m 0755 "$build/cloudmarker" "$prefix/bin/cloudmarker"
for lib in "$build"/lib*.so; do
    install -m 0755 "$lib" "$prefix/lib/cloudmarker/plugins/"
done
"$build/cloudmarker" man > "$prefix/share/man/man1/cloudmarker.1"
"$build/cloudmarker" completions bash > "$prefix/share/bash-completion/completions/cloudmarker"
