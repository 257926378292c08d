//! End-to-end test support: mock model APIs, pinned real agent CLIs, isolated environments,
//! and conversation flattening for comparing what different agents' models saw.
#![allow(dead_code)] // each test crate uses part of this module

pub mod anthropic;
pub mod chat;
pub mod clients;
pub mod codex;
pub mod copilot;
pub mod env;
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
