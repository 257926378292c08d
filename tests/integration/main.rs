//! Integration tests: the built binary in a private HOME (one [`Env`](support::home::Env) per
//! test), fed recorded Claude Code sessions (`tests/fixtures/`), and the encoders' output
//! against the snapshots in `snapshots/`. `cargo test` runs them; no network, no agent CLIs.

/// The shared test support tree (`tests/support/`): the parts this crate uses.
#[path = "../support"]
mod support {
    pub mod files;
    pub mod home;
    pub mod recording;
    pub mod said;
    pub mod tui;
    pub mod written;
}

mod archive;
mod backfill;
mod commands;
mod hook_input;
mod hook_replay;
mod listing;
mod maintenance;
mod packages;
mod reliability;
mod render;
mod snapshots;
