//! End-to-end tests: the real agent CLIs (pinned, from npm) against local mock model servers,
//! each test in a fresh [`TestEnv`](support::env::TestEnv). Every test that runs a CLI is
//! `#[ignore]`d (`cargo test` runs only the support's own tests and the fixtures' check):
//!
//! ```sh
//! cargo test --test e2e -- --ignored --test-threads=2 --skip record_native::
//! cargo test --test e2e -- --ignored e2e_gemini::   # one module
//! ```
//!
//! They need node/npm and install the pinned CLIs into `target/e2e-clients` or
//! `$SESSION_SYNC_E2E_CLIENTS` on first use. Set `SESSION_SYNC_E2E_KEEP=1` to keep each test's
//! temp dir, and `SESSION_SYNC_E2E_DUMP=<dir>` to write the captured requests there.
//! `record_native` re-records the native fixtures rather than testing (see there).

/// The shared test support tree (`tests/support/`): the parts this crate uses.
#[path = "../support"]
mod support {
    pub mod anthropic;
    pub mod chat;
    pub mod clients;
    pub mod codex;
    pub mod copilot;
    pub mod env;
    pub mod files;
    pub mod fixture;
    pub mod flatten;
    pub mod gemini;
    pub mod gemini_api;
    pub mod http;
    pub mod native;
    pub mod openai;
    pub mod opencode;
    pub mod proc;
    pub mod qwen;
    pub mod scenario;
    pub mod script;
    pub mod tmux;
}

mod e2e;
mod e2e_codex;
mod e2e_gemini;
mod e2e_handoff;
mod e2e_mirrors;
mod e2e_targets;
mod record_native;
