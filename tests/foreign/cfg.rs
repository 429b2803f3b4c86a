//! Build script of the plugin-api variants: sets the cfg that makes the
//! variant (api-next: a later 0.1.x; api-0.1.0: the 0.1.0 layout;
//! api-broken: an incompatible layout).
fn main() {
    let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap();
    let cfg = if dir.ends_with("api-next") {
        "cloudmarker_api_next"
    } else if dir.ends_with("api-0.1.0") {
        "cloudmarker_api_0_1_0"
    } else {
        "cloudmarker_api_broken"
    };
    println!("cargo:rustc-cfg={cfg}");
}
