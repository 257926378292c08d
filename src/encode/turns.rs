//! Records as chat turns, for targets whose sessions list an assistant turn's tool calls
//! together, each answered before the next turn (Gemini CLI, OpenCode, Copilot CLI, Qwen
//! Code, OpenAI chat). Calls wait in the cursor until every call of their turn has its
//! result, so a turn is written once, whole; a subagent's calls join the turn of the Agent
//! call that spawned them.

use super::{ToolStyle, cap_parts};
use crate::model::{Item, Part, Record, joined_text};
use serde_json::{Map, Value, json};
use std::borrow::Cow;

/// A turn, borrowing from the records it comes from (owning what an earlier call held back
/// in the cursor): a catch-up encodes megabytes of outputs per target.
#[derive(Debug, Clone, PartialEq)]
pub enum Turn<'a> {
    User(Cow<'a, [Part]>),
    Assistant(Cow<'a, str>),
    /// One assistant turn's calls, each with its result, in call order.
    Calls(Vec<Exchange<'a>>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Exchange<'a> {
    pub id: Cow<'a, str>,
    pub name: Cow<'a, str>,
    pub input: Cow<'a, Value>,
    pub parts: Cow<'a, [Part]>,
    pub is_error: bool,
    /// When the call was made and when its result came.
    pub called_at: Option<String>,
    pub answered_at: Option<String>,
}

impl Exchange<'_> {
    /// The output's text parts, joined; borrowed when there is one.
    pub fn output_text(&self) -> Cow<'_, str> {
        match &*self.parts {
            [Part::Text(text)] => Cow::Borrowed(text),
            parts => Cow::Owned(joined_text(parts)),
        }
    }
}

/// A turn and when it happened.
pub struct Timed<'a> {
    pub turn: Turn<'a>,
    pub timestamp: Option<String>,
}

/// What a model is told for a call whose result was never recorded (the turn moved on).
pub const NO_RESULT: &str = "[session-sync: no result was recorded for this call]";

/// Turns for `records`, continuing from what `cursor["turns"]` held back; returns them and
/// how many records they carry.
pub fn turns<'a>(
    records: &'a [Record],
    cursor: &mut Value,
    style: ToolStyle,
    max_output_bytes: usize,
) -> (Vec<Timed<'a>>, u64) {
    let mut memory = Memory::load(cursor);
    let mut out = Vec::new();
    let mut count = 0;
    for record in records {
        let main = record.agent.is_none();
        match &record.item {
            Item::Prompt { parts } if main => {
                memory.close(&mut out, &mut count);
                out.push(Timed {
                    turn: Turn::User(Cow::Borrowed(parts)),
                    timestamp: record.timestamp.clone(),
                });
                count += 1;
            }
            Item::Text { text } if main => {
                memory.close(&mut out, &mut count);
                out.push(Timed {
                    turn: Turn::Assistant(Cow::Borrowed(text)),
                    timestamp: record.timestamp.clone(),
                });
                count += 1;
            }
            Item::ToolCall { .. } => memory.held.push(Cow::Borrowed(record)),
            Item::ToolResult { id, .. } => {
                if memory.held.iter().any(|call| call_id(call) == Some(id)) {
                    memory.results.push(Cow::Borrowed(record));
                    if memory.complete() {
                        memory.close(&mut out, &mut count);
                    }
                }
                // A result for a call we never saw (or already closed) has no turn to join.
            }
            // Thinking cannot be replayed to another model; a subagent's own prompt and
            // texts are summed up by its Agent call's result.
            Item::Thinking { .. } | Item::Prompt { .. } | Item::Text { .. } => {}
        }
    }
    memory.save(cursor);
    let out = match style {
        ToolStyle::Structured => out,
        ToolStyle::Text => out.into_iter().flat_map(as_text).collect(),
    };
    let out = out
        .into_iter()
        .map(|mut timed| {
            if let Turn::Calls(exchanges) = &mut timed.turn {
                for exchange in exchanges {
                    let long =
                        |part: &Part| part.text().is_some_and(|t| t.len() > max_output_bytes);
                    if exchange.parts.iter().any(long) {
                        exchange.parts = Cow::Owned(cap_parts(&exchange.parts, max_output_bytes));
                    }
                }
            }
            timed
        })
        .collect();
    (out, count)
}

/// Calls and results waiting for their turn to be complete.
#[derive(Default)]
struct Memory<'a> {
    held: Vec<Cow<'a, Record>>,
    results: Vec<Cow<'a, Record>>,
}

fn call_id(record: &Record) -> Option<&String> {
    match &record.item {
        Item::ToolCall { id, .. } | Item::ToolResult { id, .. } => Some(id),
        _ => None,
    }
}

impl<'a> Memory<'a> {
    fn load(cursor: &Value) -> Self {
        let list = |key: &str| -> Vec<Cow<'a, Record>> {
            cursor["turns"][key]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Record::from_json)
                .map(Cow::Owned)
                .collect()
        };
        Memory {
            held: list("held"),
            results: list("results"),
        }
    }

    fn save(&self, cursor: &mut Value) {
        if !cursor.is_object() {
            *cursor = Value::Object(Map::new());
        }
        let list = |records: &[Cow<Record>]| -> Value {
            records
                .iter()
                .map(|r| r.to_json())
                .collect::<Vec<_>>()
                .into()
        };
        if self.held.is_empty() {
            cursor.as_object_mut().map(|c| c.remove("turns"));
        } else {
            cursor["turns"] = json!({ "held": list(&self.held), "results": list(&self.results) });
        }
    }

    fn complete(&self) -> bool {
        self.held.iter().all(|call| {
            self.results
                .iter()
                .any(|result| call_id(result) == call_id(call))
        })
    }

    /// Writes the held calls as one turn; a call still without a result gets `NO_RESULT`.
    fn close(&mut self, out: &mut Vec<Timed<'a>>, count: &mut u64) {
        if self.held.is_empty() {
            return;
        }
        let timestamp = self.held[0].timestamp.clone();
        let mut results = std::mem::take(&mut self.results);
        let exchanges = std::mem::take(&mut self.held)
            .into_iter()
            .filter_map(|call| {
                let (id, name, input, called_at) = match call {
                    Cow::Borrowed(Record {
                        item: Item::ToolCall { id, name, input },
                        timestamp,
                        ..
                    }) => (
                        Cow::Borrowed(id.as_str()),
                        Cow::Borrowed(name.as_str()),
                        Cow::Borrowed(input),
                        timestamp.clone(),
                    ),
                    Cow::Owned(Record {
                        item: Item::ToolCall { id, name, input },
                        timestamp,
                        ..
                    }) => (
                        Cow::Owned(id),
                        Cow::Owned(name),
                        Cow::Owned(input),
                        timestamp,
                    ),
                    _ => return None,
                };
                let result = results
                    .iter()
                    .position(|r| call_id(r).map(String::as_str) == Some(&*id))
                    .map(|at| results.swap_remove(at));
                *count += 1 + u64::from(result.is_some());
                let (parts, is_error, answered_at) = match result {
                    Some(Cow::Borrowed(Record {
                        item:
                            Item::ToolResult {
                                parts, is_error, ..
                            },
                        timestamp,
                        ..
                    })) => (
                        Cow::Borrowed(parts.as_slice()),
                        *is_error,
                        timestamp.clone(),
                    ),
                    Some(Cow::Owned(Record {
                        item:
                            Item::ToolResult {
                                parts, is_error, ..
                            },
                        timestamp,
                        ..
                    })) => (Cow::Owned(parts), is_error, timestamp),
                    _ => (Cow::Owned(vec![Part::Text(NO_RESULT.into())]), true, None),
                };
                Some(Exchange {
                    id,
                    name,
                    input,
                    parts,
                    is_error,
                    called_at,
                    answered_at,
                })
            })
            .collect();
        out.push(Timed {
            turn: Turn::Calls(exchanges),
            timestamp,
        });
    }
}

/// A turn of calls as plain messages, for `tool_style: "text"`.
fn as_text(timed: Timed) -> Vec<Timed> {
    let Turn::Calls(exchanges) = timed.turn else {
        return vec![timed];
    };
    let mut out = Vec::new();
    for exchange in exchanges {
        out.push(Timed {
            turn: Turn::Assistant(Cow::Owned(format!(
                "[tool call {} {}]\n{}",
                exchange.name, exchange.id, exchange.input
            ))),
            timestamp: exchange.called_at.clone(),
        });
        let status = if exchange.is_error { " error" } else { "" };
        out.push(Timed {
            turn: Turn::User(Cow::Owned(vec![Part::Text(format!(
                "[tool result {}{status}]\n{}",
                exchange.id,
                exchange.output_text()
            ))])),
            timestamp: exchange.answered_at.clone(),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(id: &str, agent: Option<&str>) -> Record {
        Record {
            timestamp: None,
            agent: agent.map(str::to_owned),
            rid: None,
            item: Item::ToolCall {
                id: id.into(),
                name: "Bash".into(),
                input: json!({"command": id}),
            },
        }
    }

    fn result(id: &str) -> Record {
        Record::new(Item::ToolResult {
            id: id.into(),
            parts: vec![Part::Text(format!("out {id}"))],
            is_error: false,
        })
    }

    fn ids<'a>(turns: &'a [Timed]) -> Vec<Vec<&'a str>> {
        turns
            .iter()
            .map(|t| match &t.turn {
                Turn::Calls(e) => e.iter().map(|e| &*e.id).collect(),
                Turn::User(_) => vec!["user"],
                Turn::Assistant(_) => vec!["assistant"],
            })
            .collect()
    }

    #[test]
    fn parallel_calls_make_one_turn_across_hooks() {
        let mut cursor = Value::Null;
        let earlier = [call("a", None), call("b", None), result("a")];
        let (first, n) = turns(&earlier, &mut cursor, ToolStyle::Structured, 1000);
        assert!(first.is_empty());
        assert_eq!(n, 0);
        let later = [result("b")];
        let (second, n) = turns(&later, &mut cursor, ToolStyle::Structured, 1000);
        assert_eq!(ids(&second), vec![vec!["a", "b"]]);
        assert_eq!(n, 4);
        assert!(cursor.get("turns").is_none());
    }

    #[test]
    fn subagent_calls_join_the_agent_call_turn() {
        let mut cursor = Value::Null;
        let records = [
            call("agent", None),
            call("s1", Some("x")),
            result("s1"),
            call("s2", Some("x")),
            result("s2"),
            result("agent"),
            Record::new(Item::Text {
                text: "done".into(),
            }),
        ];
        let (out, _) = turns(&records, &mut cursor, ToolStyle::Structured, 1000);
        assert_eq!(
            ids(&out),
            vec![vec!["agent", "s1", "s2"], vec!["assistant"]]
        );
    }

    #[test]
    fn a_call_left_without_result_is_closed_when_the_turn_moves_on() {
        let mut cursor = Value::Null;
        let records = [
            call("a", None),
            Record::new(Item::Text { text: "t".into() }),
        ];
        let (out, _) = turns(&records, &mut cursor, ToolStyle::Structured, 1000);
        let Turn::Calls(exchanges) = &out[0].turn else {
            panic!()
        };
        assert_eq!(exchanges[0].output_text(), NO_RESULT);
    }
}
