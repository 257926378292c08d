//! Mock Gemini API (`/v1beta/models/<model>:<method>`) for Gemini CLI, and flattening of the
//! `contents` it sends (gemini-cli.md §3, §7).

use std::time::Duration;

use serde_json::{Value, json};

use super::anthropic::Block;
use super::flatten::Item;
use super::http::{Body, Recorded, RecordingServer, Request, Response};
use super::script::Script;

impl Recorded {
    /// The part after `:` in `/v1beta/models/<model>:<method>` (empty if none).
    pub fn rpc(&self) -> &str {
        self.path.rsplit_once(':').map_or("", |(_, m)| m)
    }
}

pub struct GeminiMock {
    server: RecordingServer,
}

impl GeminiMock {
    /// Answers every main turn (`streamGenerateContent`) with one model text saying `reply`.
    pub fn start(reply: &str) -> GeminiMock {
        Self::scripted(Script::text(reply))
    }

    /// Answers each main turn with the turn `script` picks from its `contents`.
    pub fn scripted(script: Script) -> GeminiMock {
        GeminiMock {
            server: RecordingServer::start(move |req| handle(req, &script)),
        }
    }

    /// `http://127.0.0.1:<port>` — `GOOGLE_GEMINI_BASE_URL` (the SDK adds `/v1beta/…`).
    pub fn base_url(&self) -> String {
        self.server.base_url()
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.server.requests()
    }

    /// Bodies of the main-turn requests (`:streamGenerateContent`), in arrival order.
    pub fn stream_requests(&self) -> Vec<Value> {
        self.requests()
            .into_iter()
            .filter(|r| r.method == "POST" && r.rpc() == "streamGenerateContent")
            .map(|r| r.body)
            .collect()
    }

    /// The latest main-turn request whose last content is a user turn holding `prompt`: the
    /// turn that sent the new prompt with the resumed history (side calls such as model
    /// routing also carry the history, but go to `:generateContent`).
    pub fn main_request(&self, prompt: &str) -> Option<Value> {
        self.stream_requests().into_iter().rev().find(|b| {
            b["contents"]
                .as_array()
                .and_then(|c| c.last())
                .is_some_and(|last| {
                    last["role"] == "user"
                        && parts(last)
                            .iter()
                            .any(|p| p["text"].as_str() == Some(prompt))
                })
        })
    }
}

fn handle(req: &Request, script: &Script) -> Response {
    let rpc = req.path.rsplit_once(':').map_or("", |(_, m)| m);
    match (req.method.as_str(), rpc) {
        ("POST", "streamGenerateContent") => {
            let body = req.json();
            let contents = body["contents"].as_array().cloned().unwrap_or_default();
            let offers_tools = body["tools"].as_array().is_some_and(|t| !t.is_empty());
            let blocks = script.reply(&flatten_gemini_contents(&contents), offers_tools);
            sse_data(&[model_chunk(&blocks)])
        }
        ("POST", "generateContent") => {
            Response::json(200, &candidate_chunk(&side_reply(&req.json()), true))
        }
        ("POST", "countTokens") => Response::json(200, &json!({"totalTokens": 100})),
        _ => Response::json(
            404,
            &json!({"error": {"code": 404, "status": "NOT_FOUND", "message": format!("mock: no route {} {}", req.method, req.path)}}),
        ),
    }
}

/// Side calls (model routing, next-speaker check, titles): JSON-mode requests get an object
/// filling every property of the request's schema (`responseJsonSchema`); others a short text.
fn side_reply(body: &Value) -> String {
    let cfg = &body["generationConfig"];
    match [&cfg["responseJsonSchema"], &cfg["responseSchema"]]
        .into_iter()
        .find(|s| s.is_object())
    {
        Some(schema) => fill_schema(schema).to_string(),
        None => "Mock title".to_string(),
    }
}

/// A value matching a (Gemini-style, upper- or lower-case `type`) JSON schema. Enums prefer
/// "user" (next-speaker check: the user speaks next, so the turn ends).
fn fill_schema(schema: &Value) -> Value {
    if let Some(choices) = schema["enum"].as_array() {
        return choices
            .iter()
            .find(|c| *c == "user")
            .or(choices.first())
            .cloned()
            .unwrap_or(Value::Null);
    }
    match schema["type"]
        .as_str()
        .unwrap_or("")
        .to_ascii_lowercase()
        .as_str()
    {
        "object" => {
            let props = schema["properties"]
                .as_object()
                .cloned()
                .unwrap_or_default();
            Value::Object(
                props
                    .iter()
                    .map(|(k, v)| (k.clone(), fill_schema(v)))
                    .collect(),
            )
        }
        "array" => json!([]),
        "integer" | "number" => json!(50),
        "boolean" => json!(false),
        _ => json!("mock"),
    }
}

/// A `GenerateContentResponse` holding one model text (`finishReason` set when `last`).
pub fn candidate_chunk(text: &str, last: bool) -> Value {
    let mut cand = json!({"content": {"role": "model", "parts": [{"text": text}]}, "index": 0});
    if last {
        cand["finishReason"] = json!("STOP");
    }
    response_of(cand)
}

/// A final `GenerateContentResponse` holding a scripted turn: texts, thoughts
/// (`"thought": true`), `functionCall {name, args}` parts (no id: the API sends none, Gemini
/// CLI makes its own).
pub fn model_chunk(blocks: &[Block]) -> Value {
    let parts: Vec<Value> = blocks
        .iter()
        .map(|b| match b {
            Block::Text(t) => json!({"text": t}),
            Block::Thinking(t) => json!({"text": t, "thought": true}),
            Block::ToolUse { name, input } => {
                json!({"functionCall": {"name": name, "args": input}})
            }
        })
        .collect();
    response_of(
        json!({"content": {"role": "model", "parts": parts}, "index": 0, "finishReason": "STOP"}),
    )
}

fn response_of(cand: Value) -> Value {
    json!({
        "candidates": [cand],
        "usageMetadata": {"promptTokenCount": 100, "candidatesTokenCount": 10, "totalTokenCount": 110},
        "modelVersion": "mock-model",
    })
}

/// `?alt=sse` stream: bare `data: <json>` events (no `event:` line, unlike `Response::sse`).
pub fn sse_data(events: &[Value]) -> Response {
    Response {
        status: 200,
        headers: vec![
            ("Content-Type".into(), "text/event-stream".into()),
            ("Cache-Control".into(), "no-cache".into()),
        ],
        body: Body::Chunks {
            chunks: events
                .iter()
                .map(|e| format!("data: {e}\n\n").into_bytes())
                .collect(),
            delay: Duration::ZERO,
        },
    }
}

// ---------------------------------------------------------------------------------------------
// Flattening `contents`

fn parts(content: &Value) -> Vec<Value> {
    content["parts"].as_array().cloned().unwrap_or_default()
}

/// User texts Gemini CLI itself adds, not prompts: `<session_context>` (date, OS, cwd, folder
/// listing; sent as the first part of the first user turn) and `<hook_context>`. These are
/// also the prefixes its loader skips when rebuilding history from a session file.
pub fn is_gemini_injected_user_text(t: &str) -> bool {
    let t = t.trim_start();
    t.starts_with("<session_context>") || t.starts_with("<hook_context>")
}

/// Flattens Gemini `contents`: user text → `User`, model text → `Assistant` (thought parts
/// dropped), `functionCall` → `Call`, `functionResponse` → `Output` with `response.output`
/// (or `response.error`, or the whole `response` as JSON). Injected user texts are dropped.
pub fn flatten_gemini_contents(contents: &[Value]) -> Vec<Item> {
    let mut out = Vec::new();
    for c in contents {
        let role = c["role"].as_str().unwrap_or("");
        for p in parts(c) {
            if p["thought"] == true {
                continue;
            }
            if let Some(t) = p["text"].as_str() {
                match role {
                    "user" if is_gemini_injected_user_text(t) => {}
                    "user" => out.push(Item::User(t.to_string())),
                    "model" => out.push(Item::Assistant(t.to_string())),
                    r => out.push(Item::Other(format!("{r} text: {t}"))),
                }
            } else if let Some(fc) = p.get("functionCall") {
                out.push(Item::Call {
                    id: fc["id"].as_str().unwrap_or("").to_string(),
                    name: fc["name"].as_str().unwrap_or("").to_string(),
                    args: fc["args"].clone(),
                });
            } else if let Some(fr) = p.get("functionResponse") {
                let resp = &fr["response"];
                let text = match (&resp["output"], &resp["error"]) {
                    (Value::String(s), _) | (Value::Null, Value::String(s)) => s.clone(),
                    _ => resp.to_string(),
                };
                out.push(Item::Output {
                    id: fr["id"].as_str().unwrap_or("").to_string(),
                    parts: vec![text],
                });
            } else {
                out.push(Item::Other(format!("{role} part: {p}")));
            }
        }
    }
    out
}

/// The mirrored history as the model saw it: `contents` flattened, the trailing new prompt
/// (the `gemini --resume … -p "<prompt>"` text) removed.
pub fn flatten_gemini_request(body: &Value, new_prompt: &str) -> Vec<Item> {
    let contents = body["contents"].as_array().cloned().unwrap_or_default();
    let mut items = flatten_gemini_contents(&contents);
    if let Some(pos) = items
        .iter()
        .rposition(|i| matches!(i, Item::User(t) if t == new_prompt))
    {
        items.remove(pos);
    }
    items
}

/// Role and part kinds of each content, e.g. `["user[text,text]", "model[text,functionCall]"]`:
/// the turn structure, which flattening hides.
pub fn turn_shapes(body: &Value) -> Vec<String> {
    let contents = body["contents"].as_array().cloned().unwrap_or_default();
    contents
        .iter()
        .map(|c| {
            let kinds: Vec<&str> = parts(c)
                .iter()
                .map(|p| {
                    ["text", "functionCall", "functionResponse", "inlineData"]
                        .into_iter()
                        .find(|k| p.get(*k).is_some())
                        .unwrap_or("other")
                })
                .collect();
            format!("{}[{}]", c["role"].as_str().unwrap_or("?"), kinds.join(","))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn side_replies_fill_the_schema() {
        let body = json!({"generationConfig": {"responseMimeType": "application/json", "responseJsonSchema": {"type": "OBJECT", "properties": {
            "complexity_score": {"type": "INTEGER"}, "complexity_reasoning": {"type": "STRING"},
            "next_speaker": {"type": "string", "enum": ["model", "user"]}}}}});
        let v: Value = serde_json::from_str(&side_reply(&body)).unwrap();
        assert_eq!(
            v,
            json!({"complexity_score": 50, "complexity_reasoning": "mock", "next_speaker": "user"})
        );
    }

    #[test]
    fn flattens_contents() {
        let contents = vec![
            json!({"role": "user", "parts": [{"text": "<session_context>\ndate…</session_context>"}, {"text": "p"}]}),
            json!({"role": "model", "parts": [{"text": "hmm", "thought": true}, {"text": "a"}, {"functionCall": {"id": "t1", "name": "run_shell_command", "args": {"command": "ls"}}}]}),
            json!({"role": "user", "parts": [{"functionResponse": {"id": "t1", "name": "run_shell_command", "response": {"output": "x"}}}]}),
            json!({"role": "model", "parts": [{"text": "done"}]}),
            json!({"role": "user", "parts": [{"text": "new"}]}),
        ];
        let body = json!({"contents": contents});
        assert_eq!(
            flatten_gemini_request(&body, "new"),
            vec![
                Item::User("p".into()),
                Item::Assistant("a".into()),
                Item::Call {
                    id: "t1".into(),
                    name: "run_shell_command".into(),
                    args: json!({"command": "ls"})
                },
                Item::Output {
                    id: "t1".into(),
                    parts: vec!["x".into()]
                },
                Item::Assistant("done".into()),
            ]
        );
        assert_eq!(
            turn_shapes(&body),
            vec![
                "user[text,text]",
                "model[text,text,functionCall]",
                "user[functionResponse]",
                "model[text]",
                "user[text]"
            ]
        );
    }
}
