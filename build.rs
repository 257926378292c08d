//! The binary is linked as a fixed-address executable: a position-independent one has
//! thousands of relocations applied at every start, which cost the hook (started after every
//! tool call) about a tenth of its time (`cargo bench --bench hook`: 2.25× → 2.10× `/bin/true`).
fn main() {
    println!("cargo:rustc-link-arg-bins=-no-pie");
}
