# Conveniences on top of cargo; the README's commands need only cargo.

# Build the host and every plugin (release).
build:
    cargo build --release

# Run the sanity audit now, with the default config cascade.
run: build
    ./target/release/cloudmarker -n

# Run all tests (what CI runs).
test:
    cargo test --workspace --no-fail-fast

# Formatting and lints, as CI checks them.
lint:
    cargo fmt --all --check
    cargo clippy --workspace --all-targets -- -D warnings

# Throughput and memory of the mock audit (10^5, 10^6, 10^7 records).
bench *sizes:
    cargo bench -p cloudmarker --bench pipeline -- {{sizes}}

# Install cloudmarker and the bundled plugins under PREFIX (default
# /usr/local): PREFIX/bin/cloudmarker, PREFIX/lib/cloudmarker/plugins/, the
# man page and bash completions. The installed host finds its plugins in
# ../lib/cloudmarker/plugins beside its own directory.
install prefix="/usr/local": build
    ./deploy/install.sh {{prefix}} target/release