//! Mock OpenAI Chat Completions API (Qwen Code, OpenCode, Copilot CLI), and flattening its
//! `messages` into agent-neutral items.
//!
//! Every `POST …/chat/completions` is answered with the turn a `Script` picks (texts and
//! `tool_calls`): streamed (`chat.completion.chunk` events, then `data: [DONE]`) when the request
//! says `"stream": true`, else one `chat.completion`. Side calls (Qwen's memory extraction,
//! OpenCode's title agent, …) get the script's fallback text, which ends them without tool
//! calls; a JSON-mode request gets `{}` so the caller's JSON parse succeeds.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use super::anthropic::{Block, mock_id};
use super::flatten::{Item, text_parts};
use super::http::{Body, Recorded, RecordingServer, Request, Response};
use super::script::Script;

pub const MODEL: &str = "mock-model";

pub struct ChatMock {
    server: RecordingServer,
}

impl ChatMock {
    /// Answers every chat completion with `reply`.
    pub fn start(reply: &str) -> ChatMock {
        Self::scripted(Script::text(reply))
    }

    /// Answers each chat completion with the turn `script` picks from its `messages`.
    pub fn scripted(script: Script) -> ChatMock {
        ChatMock {
            server: RecordingServer::start(move |req| handle(req, &script)),
        }
    }

    /// `http://127.0.0.1:<port>/v1` — the OpenAI-compatible base URL.
    pub fn base_url(&self) -> String {
        format!("{}/v1", self.server.base_url())
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.server.requests()
    }

    /// Bodies of the `POST …/chat/completions` requests, in arrival order.
    pub fn chat_requests(&self) -> Vec<Value> {
        self.requests()
            .into_iter()
            .filter(|r| r.method == "POST" && r.path.ends_with("/chat/completions"))
            .map(|r| r.body)
            .collect()
    }

    /// The agent's request for the turn `prompt` started: the first chat request whose last
    /// user message contains `prompt`. Side calls that replay the conversation (Qwen's memory
    /// extraction) end with their own user message, so they are not picked.
    pub fn main_request(&self, prompt: &str) -> Option<Value> {
        self.chat_requests()
            .into_iter()
            .find(|b| last_user_text(b).contains(prompt))
    }

    /// One line per request (method, path, model, stream, message roles, last user text), for
    /// failure messages.
    pub fn describe(&self) -> String {
        let mut s = String::from("=== requests the chat mock saw ===\n");
        for (i, r) in self.requests().iter().enumerate() {
            let b = &r.body;
            let roles: Vec<&str> = b["messages"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|m| m["role"].as_str().unwrap_or("?"))
                .collect();
            s.push_str(&format!(
                "{i:2} {} {} model={} stream={} tools={} messages={roles:?} last user={:?}\n",
                r.method,
                r.path,
                b["model"],
                b["stream"],
                b["tools"].as_array().map_or(0, Vec::len),
                last_user_text(b).chars().take(100).collect::<String>(),
            ));
        }
        s
    }
}

fn handle(req: &Request, script: &Script) -> Response {
    if req.method == "GET" && req.path.ends_with("/models") {
        return Response::json(
            200,
            &json!({"object": "list", "data": [{"id": MODEL, "object": "model", "created": 0, "owned_by": "mock"}]}),
        );
    }
    if req.method == "POST" && req.path.ends_with("/chat/completions") {
        let body = req.json();
        let json_mode = matches!(
            body["response_format"]["type"].as_str(),
            Some("json_object" | "json_schema")
        );
        let blocks = if json_mode {
            vec![Block::text("{}")]
        } else {
            let msgs = body["messages"].as_array().cloned().unwrap_or_default();
            let offers_tools = body["tools"].as_array().is_some_and(|t| !t.is_empty());
            script.reply(&flatten_chat_messages(&msgs), offers_tools)
        };
        return if body["stream"] == true {
            stream_response(&blocks, &body)
        } else {
            Response::json(200, &completion(&blocks, &body))
        };
    }
    Response::json(
        404,
        &json!({"error": {"message": format!("mock: no route {} {}", req.method, req.path)}}),
    )
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn usage() -> Value {
    json!({"prompt_tokens": 100, "completion_tokens": 10, "total_tokens": 110})
}

/// A scripted turn as Chat Completions pieces: the texts joined (thinking dropped), the
/// `tool_calls` (fresh `call_mock_…` ids, `arguments` the JSON string), the finish reason.
fn message_parts(blocks: &[Block]) -> (String, Vec<Value>, &'static str) {
    let text: String = blocks
        .iter()
        .filter_map(|b| match b {
            Block::Text(t) => Some(t.as_str()),
            _ => None,
        })
        .collect();
    let calls: Vec<Value> = blocks
        .iter()
        .filter_map(|b| match b {
            Block::ToolUse { name, input } => Some(json!({
                "id": mock_id("call"), "type": "function",
                "function": {"name": name, "arguments": input.to_string()},
            })),
            _ => None,
        })
        .collect();
    let finish = if calls.is_empty() {
        "stop"
    } else {
        "tool_calls"
    };
    (text, calls, finish)
}

/// A non-streamed `chat.completion` holding one assistant message.
pub fn completion(blocks: &[Block], request: &Value) -> Value {
    let (text, calls, finish) = message_parts(blocks);
    let mut message = json!({"role": "assistant", "content": text});
    if !calls.is_empty() {
        message["tool_calls"] = json!(calls);
    }
    json!({
        "id": mock_id("chatcmpl"), "object": "chat.completion", "created": now_secs(),
        "model": request.get("model").cloned().unwrap_or(json!(MODEL)),
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": usage(),
    })
}

/// The `chat.completion.chunk` events of one assistant turn (role, content, one chunk per tool
/// call, finish, and a usage chunk when `stream_options.include_usage` asks for it).
pub fn chunks(blocks: &[Block], request: &Value) -> Vec<Value> {
    let (text, calls, finish) = message_parts(blocks);
    let id = mock_id("chatcmpl");
    let model = request.get("model").cloned().unwrap_or(json!(MODEL));
    let created = now_secs();
    let chunk = |choices: Value| json!({"id": id, "object": "chat.completion.chunk", "created": created, "model": model, "choices": choices});
    let mut out = vec![chunk(
        json!([{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": null}]),
    )];
    if !text.is_empty() {
        out.push(chunk(
            json!([{"index": 0, "delta": {"content": text}, "finish_reason": null}]),
        ));
    }
    for (i, call) in calls.into_iter().enumerate() {
        let mut call = call;
        call["index"] = json!(i);
        out.push(chunk(
            json!([{"index": 0, "delta": {"tool_calls": [call]}, "finish_reason": null}]),
        ));
    }
    out.push(chunk(
        json!([{"index": 0, "delta": {}, "finish_reason": finish}]),
    ));
    if request["stream_options"]["include_usage"] == true {
        let mut last = chunk(json!([]));
        last["usage"] = usage();
        out.push(last);
    }
    out
}

fn stream_response(blocks: &[Block], request: &Value) -> Response {
    let mut events: Vec<Vec<u8>> = chunks(blocks, request)
        .into_iter()
        .map(|c| format!("data: {c}\n\n").into_bytes())
        .collect();
    events.push(b"data: [DONE]\n\n".to_vec());
    Response {
        status: 200,
        headers: vec![
            ("Content-Type".into(), "text/event-stream".into()),
            ("Cache-Control".into(), "no-cache".into()),
        ],
        body: Body::Chunks {
            chunks: events,
            delay: std::time::Duration::ZERO,
        },
    }
}

// ---------------------------------------------------------------------------------------------
// Flattening

/// Qwen Code's setup message, the first user message of every request ("This is the Qwen Code.
/// We are setting up the context for our chat." + date, OS, cwd, folder listing); Qwen follows
/// it with a canned assistant "Got it. Thanks for the context!".
pub fn is_injected_user_text(t: &str) -> bool {
    t.trim_start()
        .starts_with("This is the Qwen Code. We are setting up the context for our chat.")
}

/// Removes what an agent prepends to the user's prompt: Copilot CLI's
/// `<current_datetime>…</current_datetime>\n\n` on the new prompt.
pub fn strip_injected_prefix(t: &str) -> &str {
    let s = t.trim_start();
    if s.starts_with("<current_datetime>") {
        if let Some(end) = s.find("</current_datetime>") {
            return s[end + "</current_datetime>".len()..].trim_start();
        }
    }
    t
}

/// Flattens Chat Completions `messages`: system/developer dropped; user text parts → `User`
/// (agent-injected ones dropped, see `is_injected_user_text`/`strip_injected_prefix`); assistant
/// content → `Assistant`, `tool_calls` → `Call` (arguments parsed from their JSON string); tool
/// messages → `Output` keyed by `tool_call_id`.
pub fn flatten_chat_messages(messages: &[Value]) -> Vec<Item> {
    let mut out = Vec::new();
    let mut after_injected = false;
    for m in messages {
        let injected_before = std::mem::take(&mut after_injected);
        let parts = text_parts(&m["content"]);
        match m["role"].as_str().unwrap_or("") {
            "system" | "developer" => {}
            "user" => {
                if parts.iter().any(|p| is_injected_user_text(p)) {
                    after_injected = true;
                    continue;
                }
                out.extend(
                    parts
                        .iter()
                        .map(|p| Item::User(strip_injected_prefix(p).to_string())),
                );
            }
            "assistant" => {
                let calls = m["tool_calls"].as_array().cloned().unwrap_or_default();
                if injected_before && calls.is_empty() {
                    // The canned reply to the setup message.
                    continue;
                }
                out.extend(
                    parts
                        .into_iter()
                        .filter(|p| !p.is_empty())
                        .map(Item::Assistant),
                );
                for c in calls {
                    let raw = c["function"]["arguments"].as_str().unwrap_or("");
                    let args = serde_json::from_str(raw)
                        .unwrap_or_else(|_| Value::String(raw.to_string()));
                    out.push(Item::Call {
                        id: c["id"].as_str().unwrap_or("").to_string(),
                        name: c["function"]["name"].as_str().unwrap_or("").to_string(),
                        args,
                    });
                }
            }
            "tool" => out.push(Item::Output {
                id: m["tool_call_id"].as_str().unwrap_or("").to_string(),
                parts,
            }),
            r => out.push(Item::Other(format!("message role {r}: {m}"))),
        }
    }
    out
}

/// The user text of a request's last user message (prefix stripped, parts joined by `\n`).
pub fn last_user_text(body: &Value) -> String {
    body["messages"]
        .as_array()
        .and_then(|ms| ms.iter().rfind(|m| m["role"] == "user"))
        .map(|m| {
            text_parts(&m["content"])
                .iter()
                .map(|p| strip_injected_prefix(p))
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default()
}

/// The history the model saw before the new turn: `messages` flattened, with the trailing
/// `new_prompt` removed.
pub fn flatten_chat_request(body: &Value, new_prompt: &str) -> Vec<Item> {
    let msgs = body["messages"].as_array().cloned().unwrap_or_default();
    let mut items = flatten_chat_messages(&msgs);
    if items.last() == Some(&Item::User(new_prompt.to_string())) {
        items.pop();
    }
    items
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flattens_qwen_copilot_and_opencode_shapes() {
        let msgs = vec![
            json!({"role": "system", "content": "You are …"}),
            json!({"role": "user", "content": [{"type": "text", "text": "This is the Qwen Code. We are setting up the context for our chat.\nToday's date is …"}]}),
            json!({"role": "assistant", "content": "Got it. Thanks for the context!"}),
            json!({"role": "user", "content": [{"type": "text", "text": "p"}]}),
            json!({"role": "assistant", "content": "a", "tool_calls": [{"id": "t1", "type": "function", "function": {"name": "bash", "arguments": "{\"command\":\"ls\"}"}}]}),
            json!({"role": "tool", "tool_call_id": "t1", "content": [{"type": "text", "text": "x"}]}),
            json!({"role": "assistant", "content": null, "tool_calls": [{"id": "t2", "type": "function", "function": {"name": "read", "arguments": "not json"}}]}),
            json!({"role": "tool", "tool_call_id": "t2", "content": "y", "__copilotMessageSource": "z"}),
            json!({"role": "assistant", "content": "done"}),
            json!({"role": "user", "content": "<current_datetime>2026-11-21T11:35:45.552+00:00</current_datetime>\n\nnew"}),
        ];
        let body = json!({"messages": msgs});
        assert_eq!(last_user_text(&body), "new");
        assert_eq!(
            flatten_chat_request(&body, "new"),
            vec![
                Item::User("p".into()),
                Item::Assistant("a".into()),
                Item::Call {
                    id: "t1".into(),
                    name: "bash".into(),
                    args: json!({"command": "ls"})
                },
                Item::Output {
                    id: "t1".into(),
                    parts: vec!["x".into()]
                },
                Item::Call {
                    id: "t2".into(),
                    name: "read".into(),
                    args: json!("not json")
                },
                Item::Output {
                    id: "t2".into(),
                    parts: vec!["y".into()]
                },
                Item::Assistant("done".into()),
            ]
        );
    }

    #[test]
    fn streams_chunks_then_done() {
        let req = json!({"model": "m", "stream": true, "stream_options": {"include_usage": true}});
        let c = chunks(&[Block::text("hi")], &req);
        assert_eq!(c.len(), 4);
        assert_eq!(c[1]["choices"][0]["delta"]["content"], "hi");
        assert_eq!(c[2]["choices"][0]["finish_reason"], "stop");
        assert!(c[3]["usage"].is_object());
        let Body::Chunks { chunks, .. } = stream_response(&[Block::text("hi")], &req).body else {
            panic!("not streamed")
        };
        assert_eq!(chunks.last().unwrap(), b"data: [DONE]\n\n");
    }

    #[test]
    fn tool_calls_stream_one_chunk_each() {
        let req = json!({"model": "m", "stream": true});
        let turn = [
            Block::text("Listing."),
            Block::tool("bash", json!({"command": "ls"})),
        ];
        let c = chunks(&turn, &req);
        let call = &c[2]["choices"][0]["delta"]["tool_calls"][0];
        assert_eq!(
            (
                &call["index"],
                &call["function"]["name"],
                &call["function"]["arguments"]
            ),
            (&json!(0), &json!("bash"), &json!("{\"command\":\"ls\"}"))
        );
        assert_eq!(c[3]["choices"][0]["finish_reason"], "tool_calls");
        let whole = completion(&turn, &req);
        assert_eq!(whole["choices"][0]["message"]["content"], "Listing.");
        assert_eq!(whole["choices"][0]["finish_reason"], "tool_calls");
    }
}
