//! Build script of the plugin-api variants: sets the cfg that makes the
//! variant (api-next: a later 0.1.x; api-broken: an incompatible layout).
fn main() {
    let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap();
    let cfg = if dir.ends_with("api-next") { "cloudmarker_api_next" } else { "cloudmarker_api_broken" };
    println!("cargo:rustc-cfg={cfg}");
}
