//! How the binary is linked. Claude Code starts the hook after every tool call and waits for
//! it, and starting the process is most of that wait, so on Linux the binary is:
//! - a fixed-address executable: a position-independent one has thousands of relocations
//!   applied at every start (`cargo bench --bench hook`: 2.25× → 2.10× `/bin/true`);
//! - statically linked, where the C library's static archives are installed (glibc's
//!   development files: `libc6-dev`, `glibc-static`): loading `libc`, `libm` and `libgcc_s` at
//!   each start cost about 0.4 ms (the hook: 1.7× → 1.3× `/bin/true`).
//!
//! rustc names those shared libraries (`-lgcc_s -lm -lc` …) when it links the standard library,
//! and `-C target-feature=+crt-static` cannot be set for the binary alone (without `--target` it
//! applies to proc-macros too, which cannot be static). So the linker is pointed first at a
//! directory where each of those names is a static archive, and asked for a static executable.
//! Where one is missing, or when cross-compiling, the binary is linked dynamically as usual.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The libraries rustc links the standard library against on `*-linux-gnu`, as archives.
const SYSTEM_ARCHIVES: [&str; 6] = ["c", "m", "rt", "pthread", "dl", "util"];
/// The unwinder and compiler runtime that `libgcc_s` provides to a dynamic executable.
const RUNTIME_ARCHIVES: [&str; 2] = ["gcc_eh", "gcc"];

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("linux") {
        return;
    }
    println!("cargo:rustc-link-arg-bins=-no-pie");
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    match static_stand_ins(&out_dir.join("static")) {
        Some(dir) => {
            // `-L` given to the linker applies to every `-l`, wherever it stands, and is searched
            // before the system's directories; as a link argument it reaches the binary only, not
            // the test harnesses, which stay dynamic.
            println!("cargo:rustc-link-arg-bins=-L{}", dir.display());
            println!("cargo:rustc-link-arg-bins=-static");
        }
        None => println!(
            "cargo:warning=linking session-sync dynamically: glibc's static libraries were not \
             found (install libc6-dev or glibc-static for a hook that starts faster)"
        ),
    }
}

/// A directory where `lib<name>.a` is the static archive of each library rustc names, or
/// `None` where they are not all installed or the build is not for this machine's glibc.
fn static_stand_ins(dir: &Path) -> Option<PathBuf> {
    let native = env::var("TARGET").ok()? == env::var("HOST").ok()?;
    if !native || env::var("CARGO_CFG_TARGET_ENV").as_deref() != Ok("gnu") {
        return None;
    }
    let linker = env::var("RUSTC_LINKER").unwrap_or_else(|_| "cc".to_owned());
    let archive = |name: &str| -> Option<PathBuf> {
        let output = Command::new(&linker)
            .arg(format!("-print-file-name=lib{name}.a"))
            .output()
            .ok()?;
        let path = PathBuf::from(String::from_utf8(output.stdout).ok()?.trim());
        // An archive the compiler does not find is printed back as its bare name.
        (path.is_absolute() && path.is_file()).then_some(path)
    };
    let mut stand_ins = Vec::new();
    for name in SYSTEM_ARCHIVES {
        stand_ins.push((format!("lib{name}.a"), script(&[archive(name)?])));
    }
    let runtime: Vec<PathBuf> = RUNTIME_ARCHIVES
        .iter()
        .map(|&name| archive(name))
        .collect::<Option<_>>()?;
    stand_ins.push(("libgcc_s.a".to_owned(), script(&runtime)));
    std::fs::create_dir_all(dir).ok()?;
    // Linker scripts naming the archives: ld reads a library that is not an object as one.
    for (file, text) in stand_ins {
        std::fs::write(dir.join(file), text).ok()?;
    }
    Some(dir.to_owned())
}

fn script(archives: &[PathBuf]) -> String {
    let names: Vec<String> = archives
        .iter()
        .map(|path| format!("\"{}\"", path.display()))
        .collect();
    format!("INPUT({})\n", names.join(" "))
}
