//! Installs the pinned real agent CLIs from npm into a cache dir, once.
//!
//! Default dir: `<repo>/target/e2e-clients`; override with `SESSION_SYNC_E2E_CLIENTS`.
//! Safe against concurrent installs (in-process `OnceLock` + a lock directory across processes).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime};

use super::proc::run_with_timeout;

/// An npm package pinned for the end-to-end tests, with the binary it provides.
#[derive(Debug, Clone, Copy)]
pub struct Pinned {
    pub package: &'static str,
    pub version: &'static str,
    pub bin: &'static str,
}

pub const CLAUDE: Pinned = Pinned {
    package: "@anthropic-ai/claude-code",
    version: "2.1.197",
    bin: "claude",
};
pub const CODEX: Pinned = Pinned {
    package: "@openai/codex",
    version: "0.169.0",
    bin: "codex",
};
pub const GEMINI: Pinned = Pinned {
    package: "@google/gemini-cli",
    version: "0.61.0",
    bin: "gemini",
};

/// Everything installed into the cache dir. Add new targets' CLIs here.
pub const PINNED: &[Pinned] = &[
    CODEX,
    CLAUDE,
    GEMINI,
    // Chat Completions targets: each file holds its pin.
    super::qwen::QWEN,
    super::opencode::OPENCODE,
    super::copilot::COPILOT,
];

pub struct Clients {
    /// `<dir>/node_modules/.bin`
    pub bin_dir: PathBuf,
}

impl Clients {
    pub fn bin(&self, p: Pinned) -> PathBuf {
        self.bin_dir.join(p.bin)
    }
    pub fn claude(&self) -> PathBuf {
        self.bin(CLAUDE)
    }
    pub fn codex(&self) -> PathBuf {
        self.bin(CODEX)
    }
}

pub fn clients_dir() -> PathBuf {
    match std::env::var_os("SESSION_SYNC_E2E_CLIENTS") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("target")
            .join("e2e-clients"),
    }
}

/// The installed clients; installs them on first use. Panics if that fails.
pub fn clients() -> &'static Clients {
    static CLIENTS: OnceLock<Clients> = OnceLock::new();
    CLIENTS.get_or_init(|| {
        let dir = clients_dir();
        ensure_installed(&dir, PINNED)
            .unwrap_or_else(|e| panic!("installing e2e clients into {}: {e}", dir.display()));
        let bin_dir = dir.join("node_modules").join(".bin");
        Clients { bin_dir }
    })
}

/// `<bin> --version` contains the pinned version.
fn installed_ok(dir: &Path, p: Pinned) -> bool {
    let bin = dir.join("node_modules").join(".bin").join(p.bin);
    if !bin.exists() {
        return false;
    }
    let mut cmd = Command::new(&bin);
    cmd.arg("--version")
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("HOME", std::env::temp_dir())
        // `gemini --version` registers the cwd in `<home>/.gemini`: keep that out of /tmp.
        .env("GEMINI_CLI_HOME", dir.join("version-check-home"))
        .env("DISABLE_AUTOUPDATER", "1")
        .stdin(Stdio::null());
    match run_with_timeout(&mut cmd, Duration::from_secs(60)) {
        Ok(out) => out.success() && out.stdout.contains(p.version),
        Err(_) => false,
    }
}

pub fn ensure_installed(dir: &Path, pkgs: &[Pinned]) -> Result<(), String> {
    if pkgs.iter().all(|p| installed_ok(dir, *p)) {
        return Ok(());
    }
    fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let _lock = DirLock::acquire(&dir.join(".install.lock"), Duration::from_secs(900))?;
    // Someone else may have installed while we waited.
    if pkgs.iter().all(|p| installed_ok(dir, *p)) {
        return Ok(());
    }
    let mut cmd = Command::new("npm");
    cmd.args(["install", "--no-audit", "--no-fund", "--prefix"])
        .arg(dir)
        .args(pkgs.iter().map(|p| format!("{}@{}", p.package, p.version)))
        .stdin(Stdio::null());
    eprintln!(
        "e2e: installing {:?} into {}",
        pkgs.iter().map(|p| p.package).collect::<Vec<_>>(),
        dir.display()
    );
    let out =
        run_with_timeout(&mut cmd, Duration::from_secs(900)).map_err(|e| format!("npm: {e}"))?;
    if !out.success() {
        return Err(format!(
            "npm install failed ({:?}):\n{}\n{}",
            out.status, out.stdout, out.stderr
        ));
    }
    for p in pkgs {
        if !installed_ok(dir, *p) {
            return Err(format!(
                "{}@{} not usable after npm install",
                p.package, p.version
            ));
        }
    }
    Ok(())
}

/// A cross-process lock: an exclusively created directory holding the owner's pid, removed
/// on drop. A lock whose owner is gone, or older than the wait limit, is taken over.
struct DirLock(PathBuf);

impl DirLock {
    fn acquire(path: &Path, max_wait: Duration) -> Result<DirLock, String> {
        let start = Instant::now();
        loop {
            match fs::create_dir(path) {
                Ok(()) => {
                    let _ = fs::write(path.join("pid"), std::process::id().to_string());
                    return Ok(DirLock(path.to_path_buf()));
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let age = fs::metadata(path)
                        .and_then(|m| m.modified())
                        .ok()
                        .and_then(|t| SystemTime::now().duration_since(t).ok())
                        .unwrap_or_default();
                    let owner_gone = fs::read_to_string(path.join("pid"))
                        .ok()
                        .and_then(|p| p.trim().parse::<u32>().ok())
                        .is_some_and(|pid| !Path::new(&format!("/proc/{pid}")).exists());
                    if owner_gone || age > max_wait {
                        let _ = fs::remove_dir_all(path);
                        continue;
                    }
                    if start.elapsed() > max_wait {
                        return Err(format!("timed out waiting for lock {}", path.display()));
                    }
                    std::thread::sleep(Duration::from_millis(500));
                }
                Err(e) => return Err(format!("lock {}: {e}", path.display())),
            }
        }
    }
}

impl Drop for DirLock {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}
