//! Mock Anthropic Messages API (`POST /v1/messages[?beta=true]`), driven by a scripted closure.
//!
//! Every request is recorded with the content the mock answered, so a test can rebuild the
//! exact conversation the (fake) model saw and produced.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

use super::http::{Request, Response, Server};

/// One content block of a scripted assistant turn.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    Text(String),
    /// Thinking text; the mock adds a signature.
    Thinking(String),
    /// A tool call; the mock assigns a `toolu_mock_…` id.
    ToolUse {
        name: String,
        input: Value,
    },
}

impl Block {
    pub fn text(t: impl Into<String>) -> Block {
        Block::Text(t.into())
    }
    pub fn thinking(t: impl Into<String>) -> Block {
        Block::Thinking(t.into())
    }
    pub fn tool(name: impl Into<String>, input: Value) -> Block {
        Block::ToolUse {
            name: name.into(),
            input,
        }
    }
}

/// What the script answers for one `/v1/messages` request.
#[derive(Debug, Clone)]
pub enum Reply {
    /// An assistant message with these blocks. `stop_reason` is `tool_use` if any block is a
    /// tool call, else `end_turn`.
    Blocks(Vec<Block>),
    /// A harmless generic answer (a short text); for side requests (titles, quota checks, …).
    Generic,
}

impl From<Vec<Block>> for Reply {
    fn from(b: Vec<Block>) -> Reply {
        Reply::Blocks(b)
    }
}

/// One request the mock received and what it answered.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub method: String,
    pub path: String,
    pub query: String,
    pub headers: std::collections::BTreeMap<String, String>,
    /// Request body (`Null` if none or not JSON).
    pub body: Value,
    /// `true` if the script answered with `Reply::Blocks`.
    pub scripted: bool,
    /// The assistant message returned (`{id, role, content, stop_reason, …}`), if any.
    pub response: Option<Value>,
}

pub type Script = dyn Fn(&Value) -> Reply + Send + Sync + 'static;

pub struct AnthropicMock {
    server: Server,
    log: Arc<Mutex<Vec<Exchange>>>,
}

static ID_COUNTER: AtomicU64 = AtomicU64::new(1);

/// A fresh mock id such as `msg_mock_0a1b…` (24 hex digits).
pub fn mock_id(prefix: &str) -> String {
    let n = ID_COUNTER.fetch_add(1, Ordering::SeqCst);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let mixed = (t ^ (n.wrapping_mul(0x9E37_79B9_7F4A_7C15))) as u128 * 0x1_0000 + n as u128;
    format!("{prefix}_mock_{:024x}", mixed & ((1u128 << 96) - 1))
}

impl AnthropicMock {
    pub fn start(script: impl Fn(&Value) -> Reply + Send + Sync + 'static) -> AnthropicMock {
        Self::start_with_delay(script, Duration::ZERO)
    }

    /// Like `start`, with a pause between streamed SSE events.
    pub fn start_with_delay(
        script: impl Fn(&Value) -> Reply + Send + Sync + 'static,
        event_delay: Duration,
    ) -> AnthropicMock {
        let log: Arc<Mutex<Vec<Exchange>>> = Arc::default();
        let log2 = log.clone();
        let script: Arc<Script> = Arc::new(script);
        let server = Server::start(Arc::new(move |req: &Request| {
            let (resp, scripted, message) = handle(req, &*script, event_delay);
            log2.lock().unwrap().push(Exchange {
                method: req.method.clone(),
                path: req.path.clone(),
                query: req.query.clone(),
                headers: req.headers.clone(),
                body: req.json(),
                scripted,
                response: message,
            });
            resp
        }));
        AnthropicMock { server, log }
    }

    /// `http://127.0.0.1:<port>` — the value for `ANTHROPIC_BASE_URL`.
    pub fn base_url(&self) -> String {
        self.server.base_url()
    }

    /// Every request received so far, in arrival order.
    pub fn exchanges(&self) -> Vec<Exchange> {
        self.log.lock().unwrap().clone()
    }

    /// Only the `/v1/messages` requests the script answered with blocks.
    pub fn scripted_exchanges(&self) -> Vec<Exchange> {
        self.exchanges()
            .into_iter()
            .filter(|e| e.scripted)
            .collect()
    }
}

fn handle(
    req: &Request,
    script: &Script,
    event_delay: Duration,
) -> (Response, bool, Option<Value>) {
    if req.method == "POST" && req.path.ends_with("/v1/messages/count_tokens") {
        let n = (req.body.len() / 4).max(1);
        return (
            Response::json(200, &json!({"input_tokens": n})),
            false,
            None,
        );
    }
    if !(req.method == "POST" && req.path.ends_with("/v1/messages")) {
        // Anything else Claude Code may ask (settings, quotas, feature flags…): empty JSON.
        return (Response::json(200, &json!({})), false, None);
    }
    let body = req.json();
    let reply = script(&body);
    let (blocks, scripted) = match reply {
        Reply::Blocks(b) => (b, true),
        Reply::Generic => (vec![Block::text("OK.")], false),
    };
    let model = body
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or("claude-mock")
        .to_string();
    let message = build_message(&blocks, &model, req.body.len());
    let stream = body.get("stream").and_then(Value::as_bool).unwrap_or(false);
    let resp = if stream {
        Response::sse(sse_events(&message)).with_chunk_delay(event_delay)
    } else {
        Response::json(200, &message)
    }
    .with_header("request-id", &mock_id("req"));
    (resp, scripted, Some(message))
}

fn build_message(blocks: &[Block], model: &str, req_len: usize) -> Value {
    let content: Vec<Value> = blocks
        .iter()
        .map(|b| match b {
            Block::Text(t) => json!({"type": "text", "text": t}),
            Block::Thinking(t) => {
                json!({"type": "thinking", "thinking": t, "signature": signature_for(t)})
            }
            Block::ToolUse { name, input } => {
                json!({"type": "tool_use", "id": mock_id("toolu"), "name": name, "input": input})
            }
        })
        .collect();
    let has_tool = blocks.iter().any(|b| matches!(b, Block::ToolUse { .. }));
    let out_tokens: usize = content.iter().map(|c| c.to_string().len() / 4 + 1).sum();
    json!({
        "id": mock_id("msg"),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": if has_tool { "tool_use" } else { "end_turn" },
        "stop_sequence": null,
        "usage": {
            "input_tokens": (req_len / 4).max(1),
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "output_tokens": out_tokens,
        },
    })
}

fn signature_for(thinking: &str) -> String {
    // Opaque, stable, base64-looking.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in thinking.bytes() {
        h = (h ^ b as u64).wrapping_mul(0x100_0000_01b3);
    }
    format!("bW9jay1zaWduYXR1cmUt{h:016x}")
}

/// Split a string into pieces of at most `n` chars (never inside a UTF-8 char).
fn pieces(s: &str, n: usize) -> Vec<String> {
    let chars: Vec<char> = s.chars().collect();
    if chars.is_empty() {
        return vec![];
    }
    chars.chunks(n).map(|c| c.iter().collect()).collect()
}

/// The SSE stream for a complete message, as the Messages API streams it.
pub fn sse_events(message: &Value) -> Vec<(String, Value)> {
    let mut ev: Vec<(String, Value)> = Vec::new();
    let mut push = |name: &str, data: Value| ev.push((name.to_string(), data));
    let mut start = message.clone();
    start["content"] = json!([]);
    start["stop_reason"] = Value::Null;
    start["usage"]["output_tokens"] = json!(1);
    push(
        "message_start",
        json!({"type": "message_start", "message": start}),
    );
    push("ping", json!({"type": "ping"}));
    for (i, block) in message["content"].as_array().unwrap().iter().enumerate() {
        match block["type"].as_str().unwrap() {
            "text" => {
                push(
                    "content_block_start",
                    json!({"type": "content_block_start", "index": i, "content_block": {"type": "text", "text": ""}}),
                );
                for p in pieces(block["text"].as_str().unwrap(), 24) {
                    push(
                        "content_block_delta",
                        json!({"type": "content_block_delta", "index": i, "delta": {"type": "text_delta", "text": p}}),
                    );
                }
            }
            "thinking" => {
                push(
                    "content_block_start",
                    json!({"type": "content_block_start", "index": i, "content_block": {"type": "thinking", "thinking": "", "signature": ""}}),
                );
                for p in pieces(block["thinking"].as_str().unwrap(), 24) {
                    push(
                        "content_block_delta",
                        json!({"type": "content_block_delta", "index": i, "delta": {"type": "thinking_delta", "thinking": p}}),
                    );
                }
                push(
                    "content_block_delta",
                    json!({"type": "content_block_delta", "index": i, "delta": {"type": "signature_delta", "signature": block["signature"]}}),
                );
            }
            "tool_use" => {
                push(
                    "content_block_start",
                    json!({"type": "content_block_start", "index": i, "content_block": {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}}),
                );
                let input = block["input"].to_string();
                for p in pieces(&input, 16) {
                    push(
                        "content_block_delta",
                        json!({"type": "content_block_delta", "index": i, "delta": {"type": "input_json_delta", "partial_json": p}}),
                    );
                }
            }
            other => panic!("unsupported block type {other}"),
        }
        push(
            "content_block_stop",
            json!({"type": "content_block_stop", "index": i}),
        );
    }
    push(
        "message_delta",
        json!({"type": "message_delta", "delta": {"stop_reason": message["stop_reason"], "stop_sequence": null}, "usage": {"output_tokens": message["usage"]["output_tokens"]}}),
    );
    push("message_stop", json!({"type": "message_stop"}));
    ev
}

// ---------------------------------------------------------------------------------------------
// Helpers for scripts: reading a Messages API request.

/// The text of a user message's content that is not harness-injected: string content as is,
/// or the `text` blocks that do not start with `<system-reminder>` (and similar tags), joined.
pub fn user_text_blocks(message: &Value) -> Vec<String> {
    match &message["content"] {
        Value::String(s) => {
            if is_harness_text(s) {
                vec![]
            } else {
                vec![s.clone()]
            }
        }
        Value::Array(blocks) => blocks
            .iter()
            .filter(|b| b["type"] == "text")
            .filter_map(|b| b["text"].as_str())
            .filter(|t| !is_harness_text(t))
            .map(str::to_string)
            .collect(),
        _ => vec![],
    }
}

/// Text Claude Code injects into user turns that is not the user's own prompt.
pub fn is_harness_text(t: &str) -> bool {
    let t = t.trim_start();
    t.is_empty()
        || t.starts_with("<system-reminder>")
        || t.starts_with("<local-command-")
        || t.starts_with("<command-name>")
        || t.starts_with("Caveat:")
        || t.starts_with("[Request interrupted")
}

/// The first non-harness user text of the request (identifies the conversation: the main
/// prompt, or a subagent's task).
pub fn first_user_text(req: &Value) -> String {
    req["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| m["role"] == "user")
        .flat_map(user_text_blocks)
        .next()
        .unwrap_or_default()
}

/// The last non-harness user text of the request (the prompt of the current turn).
pub fn last_user_text(req: &Value) -> String {
    req["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| m["role"] == "user")
        .flat_map(user_text_blocks)
        .last()
        .unwrap_or_default()
}

/// How many assistant messages come after the last message holding a real user prompt:
/// 0 for the first model call of a prompt, 1 after one tool round, and so on.
pub fn turns_since_prompt(req: &Value) -> usize {
    let msgs = req["messages"].as_array().cloned().unwrap_or_default();
    let last_prompt = msgs
        .iter()
        .rposition(|m| m["role"] == "user" && !user_text_blocks(m).is_empty())
        .unwrap_or(0);
    msgs[last_prompt..]
        .iter()
        .filter(|m| m["role"] == "assistant")
        .count()
}

/// Whether the request offers tools at all (side requests such as titles do not).
pub fn has_tools(req: &Value) -> bool {
    req["tools"].as_array().is_some_and(|t| !t.is_empty())
}
