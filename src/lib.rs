//! session-sync mirrors Claude Code sessions live into other coding agents' session stores.
//!
//! Data flow: `hook` (Claude Code's payload) → `claude` (transcript and payload reader) →
//! `model` (one normalized conversation) → `sync` (what is new) → `encode` (one encoder per
//! agent) → `store` (the only writer of files).

pub mod agents;
pub mod archive;
pub mod cmd;
pub mod config;
pub mod encode;
pub mod fanout;
pub mod handoff;
pub mod hash;
pub mod hook;
pub mod import;
pub mod json;
pub mod model;
pub mod package;
pub mod parallel;
pub mod paths;
pub mod pipeline;
pub mod read;
pub mod redact;
pub mod settings;
pub mod store;
pub mod sync;
