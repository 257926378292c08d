//! Mock OpenAI Responses API for Codex CLI (`POST /v1/responses`, SSE), answering the turns of
//! a `Script`: texts, function calls and custom (free-form) tool calls.

use serde_json::{Value, json};

use super::anthropic::{Block, mock_id};
use super::flatten::flatten_responses_input;
pub use super::http::Recorded;
use super::http::{RecordingServer, Request, Response};
use super::script::Script;

pub struct ResponsesMock {
    server: RecordingServer,
}

impl ResponsesMock {
    /// Answers every `/responses` request with one assistant message saying `reply`.
    pub fn start(reply: &str) -> ResponsesMock {
        Self::scripted(Script::text(reply))
    }

    /// Answers each `/responses` request with the turn `script` picks from its `input`.
    pub fn scripted(script: Script) -> ResponsesMock {
        ResponsesMock {
            server: RecordingServer::start(move |req| handle(req, &script)),
        }
    }

    /// `http://127.0.0.1:<port>/v1` — the provider `base_url`.
    pub fn base_url(&self) -> String {
        format!("{}/v1", self.server.base_url())
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.server.requests()
    }

    /// Bodies of the `POST …/responses` requests.
    pub fn response_requests(&self) -> Vec<Value> {
        self.requests()
            .into_iter()
            .filter(|r| r.method == "POST" && r.path.ends_with("/responses"))
            .map(|r| r.body)
            .collect()
    }
}

fn handle(req: &Request, script: &Script) -> Response {
    if req.is_websocket_upgrade() {
        return Response::json(
            426,
            &json!({"error": {"message": "websocket not supported by mock"}}),
        );
    }
    if req.method == "GET" && req.path.ends_with("/models") {
        return Response::json(200, &json!({"models": []}));
    }
    if req.method == "POST" && req.path.ends_with("/responses") {
        let body = req.json();
        let input = body["input"].as_array().cloned().unwrap_or_default();
        let offers_tools = body["tools"].as_array().is_some_and(|t| !t.is_empty());
        let blocks = script.reply(&flatten_responses_input(&input), offers_tools);
        return Response::sse(sse_events(&output_items(&blocks, &body), &body));
    }
    Response::json(
        404,
        &json!({"error": {"message": format!("mock: no route {} {}", req.method, req.path)}}),
    )
}

/// The Responses output items of a scripted turn: texts as assistant messages, thinking as a
/// reasoning summary, tool calls as `custom_tool_call` (free-form `input`) when the request
/// offers the tool as `"type": "custom"`, else as `function_call` (`arguments` = the JSON).
pub fn output_items(blocks: &[Block], request: &Value) -> Vec<Value> {
    let custom = |name: &str| {
        request["tools"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|t| t["name"] == name && t["type"] == "custom")
    };
    blocks
        .iter()
        .map(|b| match b {
            Block::Text(t) => json!({
                "type": "message", "id": mock_id("msg"), "role": "assistant", "status": "completed",
                "content": [{"type": "output_text", "text": t, "annotations": []}],
            }),
            Block::Thinking(t) => json!({
                "type": "reasoning", "id": mock_id("rs"),
                "summary": [{"type": "summary_text", "text": t}],
            }),
            Block::ToolUse { name, input } if custom(name) => json!({
                "type": "custom_tool_call", "id": mock_id("ctc"), "call_id": mock_id("call"),
                "status": "completed", "name": name,
                "input": input.as_str().map_or_else(|| input.to_string(), str::to_string),
            }),
            Block::ToolUse { name, input } => json!({
                "type": "function_call", "id": mock_id("fc"), "call_id": mock_id("call"),
                "status": "completed", "name": name, "arguments": input.to_string(),
            }),
        })
        .collect()
}

/// The SSE stream of a response holding `items` (each added, text streamed, done).
pub fn sse_events(items: &[Value], request: &Value) -> Vec<(String, Value)> {
    let resp_id = mock_id("resp");
    let model = request.get("model").cloned().unwrap_or(json!("mock-model"));
    let base = json!({"id": resp_id, "object": "response", "model": model, "status": "in_progress", "output": []});
    let mut completed = base.clone();
    completed["status"] = json!("completed");
    completed["output"] = json!(items);
    completed["usage"] = json!({
        "input_tokens": 100, "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": 10, "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": 110,
    });
    let mut events = vec![(
        "response.created".to_string(),
        json!({"type": "response.created", "response": base}),
    )];
    for (i, item) in items.iter().enumerate() {
        let mut added = item.clone();
        if item["type"] == "message" {
            added["status"] = json!("in_progress");
            added["content"] = json!([]);
        }
        events.push((
            "response.output_item.added".into(),
            json!({"type": "response.output_item.added", "output_index": i, "item": added}),
        ));
        if item["type"] == "message" {
            events.push((
                "response.output_text.delta".into(),
                json!({"type": "response.output_text.delta", "item_id": item["id"], "output_index": i, "content_index": 0, "delta": item["content"][0]["text"]}),
            ));
        }
        events.push((
            "response.output_item.done".into(),
            json!({"type": "response.output_item.done", "output_index": i, "item": item}),
        ));
    }
    events.push((
        "response.completed".into(),
        json!({"type": "response.completed", "response": completed}),
    ));
    events
}
