//! Mock OpenAI Responses API for Codex CLI (`POST /v1/responses`, SSE).

use serde_json::{Value, json};

use super::anthropic::mock_id;
pub use super::http::Recorded;
use super::http::{RecordingServer, Request, Response};

pub struct ResponsesMock {
    server: RecordingServer,
    reply: String,
}

impl ResponsesMock {
    /// Answers every `/responses` request with one assistant message saying `reply`.
    pub fn start(reply: &str) -> ResponsesMock {
        let reply_text = reply.to_string();
        ResponsesMock {
            server: RecordingServer::start(move |req| handle(req, &reply_text)),
            reply: reply.to_string(),
        }
    }

    /// `http://127.0.0.1:<port>/v1` — the provider `base_url`.
    pub fn base_url(&self) -> String {
        format!("{}/v1", self.server.base_url())
    }

    pub fn reply(&self) -> &str {
        &self.reply
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

fn handle(req: &Request, reply: &str) -> Response {
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
        return Response::sse(sse_events(reply, &req.json()));
    }
    Response::json(
        404,
        &json!({"error": {"message": format!("mock: no route {} {}", req.method, req.path)}}),
    )
}

/// The SSE stream of a response holding one assistant message.
pub fn sse_events(text: &str, request: &Value) -> Vec<(String, Value)> {
    let resp_id = mock_id("resp");
    let msg_id = mock_id("msg");
    let model = request.get("model").cloned().unwrap_or(json!("mock-model"));
    let item_in_progress = json!({"type": "message", "id": msg_id, "role": "assistant", "status": "in_progress", "content": []});
    let item_done = json!({
        "type": "message", "id": msg_id, "role": "assistant", "status": "completed",
        "content": [{"type": "output_text", "text": text, "annotations": []}],
    });
    let base = json!({"id": resp_id, "object": "response", "model": model, "status": "in_progress", "output": []});
    let mut completed = base.clone();
    completed["status"] = json!("completed");
    completed["output"] = json!([item_done.clone()]);
    completed["usage"] = json!({
        "input_tokens": 100, "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": 10, "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": 110,
    });
    vec![
        (
            "response.created".into(),
            json!({"type": "response.created", "response": base}),
        ),
        (
            "response.output_item.added".into(),
            json!({"type": "response.output_item.added", "output_index": 0, "item": item_in_progress}),
        ),
        (
            "response.output_text.delta".into(),
            json!({"type": "response.output_text.delta", "item_id": msg_id, "output_index": 0, "content_index": 0, "delta": text}),
        ),
        (
            "response.output_item.done".into(),
            json!({"type": "response.output_item.done", "output_index": 0, "item": item_done}),
        ),
        (
            "response.completed".into(),
            json!({"type": "response.completed", "response": completed}),
        ),
    ]
}
