//! Decides what to append to the mirrors.
//!
//! Two sources describe one conversation. The transcript is complete and ordered but lags
//! (Claude Code flushes it every 100 ms and writes a call's result only after PostToolUse
//! returns). Hook payloads are early but partial. The engine reads the transcript in order from
//! where it stopped and lets payloads run ahead of it, remembering what ran ahead so that each
//! item is emitted exactly once. Everything it remembers is bounded by the current turn.

use crate::agents::claude::Entry;
use crate::model::{Item, Part, Record, joined_text};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// How far a session has been mirrored; saved in the session state.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    /// Bytes of the transcript already read; at a line boundary, unless `skipping_line`.
    pub transcript_offset: u64,
    /// The offset is inside a line too long to read, whose rest is skipped.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub skipping_line: bool,
    /// Calls emitted whose result line the transcript has not shown yet, and how far.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub calls: BTreeMap<String, CallState>,
    /// The latest calls whose result line was read, oldest first, so that a late hook for
    /// one of them adds nothing. Capped: the state stays the same size however long the turn.
    #[serde(default, skip_serializing_if = "VecDeque::is_empty")]
    pub closed_calls: VecDeque<String>,
    /// A prompt emitted from UserPromptSubmit before the transcript had it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_ahead: Option<PromptKey>,
    /// The last prompt emitted, whichever source it came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_prompt: Option<PromptKey>,
    /// Digest of a final answer emitted from the Stop payload before the transcript had it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_ahead: Option<String>,
    /// Digests of the latest main-agent texts emitted, oldest first: a Stop hook's child
    /// may find its final answer already read, and more after it. Capped, like `closed_calls`.
    #[serde(default, skip_serializing_if = "VecDeque::is_empty")]
    pub recent_texts: VecDeque<String>,
    /// Subagent calls emitted live, per subagent, until the Agent call's result is emitted.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub subagent_calls: BTreeMap<String, BTreeSet<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallState {
    /// The call is emitted, its output is not.
    Called,
    /// Called, and a later prompt was emitted from its payload since: abandoned when that
    /// prompt's line is read, unless its result line comes first.
    CalledEarlier,
    /// Call and output are emitted (the output from a hook payload).
    Answered,
    /// Answered, and a prompt line was read since: forgotten at the next one.
    AnsweredEarlier,
}

/// Calls answered from payloads remembered at most: payloads with ids the transcript never
/// shows (hostile or from a lost transcript) must not grow the state without end.
const MAX_OPEN_CALLS: usize = 1024;

impl Progress {
    /// Forgets answered calls past `MAX_OPEN_CALLS`, the earlier turns' first.
    fn bound_calls(&mut self) {
        for stage in [CallState::AnsweredEarlier, CallState::Answered] {
            while self.calls.len() > MAX_OPEN_CALLS {
                let Some(id) = self
                    .calls
                    .iter()
                    .find(|(_, state)| **state == stage)
                    .map(|(id, _)| id.clone())
                else {
                    break;
                };
                self.calls.remove(&id);
            }
        }
    }

    /// Has this call been emitted already (whether or not its result has)?
    pub fn knows_call(&self, id: &str) -> bool {
        self.calls.contains_key(id) || self.closed_calls.iter().any(|c| c == id)
    }

    /// Was a main-agent text with this digest emitted lately?
    pub fn read_text(&self, digest: &str) -> bool {
        self.recent_texts.iter().any(|t| t == digest)
    }
}

/// Identifies a prompt across the hook payload and the transcript.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromptKey {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub digest: String,
}

impl PromptKey {
    pub fn new(id: Option<String>, text: &str) -> Self {
        PromptKey {
            id,
            digest: digest(text),
        }
    }

    fn same(&self, other: &PromptKey) -> bool {
        match (&self.id, &other.id) {
            (Some(a), Some(b)) => a == b,
            _ => self.digest == other.digest,
        }
    }
}

/// What a hook reported beyond "the transcript may have grown".
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// UserPromptSubmit.
    Prompt { key: PromptKey, text: String },
    /// PostToolUse / PostToolUseFailure, the output already rendered as the model sees it.
    ToolDone {
        agent: Option<String>,
        id: String,
        name: String,
        input: Value,
        parts: Vec<Part>,
        is_error: bool,
        /// For an Agent call: the subagent it ran.
        spawned_agent: Option<String>,
    },
    /// Stop with the final answer's last text block, when the transcript never showed it.
    FinalText { text: String },
    /// Nothing beyond the transcript.
    CatchUp,
}

/// Subagents tracked at once; background subagents may never report back.
const MAX_TRACKED_SUBAGENTS: usize = 32;
/// Closed calls remembered; more than any batch of parallel calls.
const MAX_CLOSED_CALLS: usize = 64;
/// Main-agent texts remembered: the final answer of a turn and what little may follow it
/// before its Stop hook's child runs.
const MAX_RECENT_TEXTS: usize = 8;

/// Runs the engine once: `chunk`'s transcript lines read in order, then `event`; returns the
/// records to write. `progress` is the session's memory between runs (a whole transcript read
/// at once starts from the default). The hook, `mirror`, `export` and the readers all come
/// through here.
pub fn reconcile(
    progress: &mut Progress,
    read_subagent: &dyn Fn(&str) -> Vec<Entry>,
    now: String,
    chunk: &str,
    event: Event,
) -> Vec<Record> {
    let mut engine = Engine::new(progress, read_subagent, now);
    for entry in crate::agents::claude::read_lines(chunk, None) {
        engine.consume(entry);
    }
    engine.apply(event);
    engine.records()
}

/// The records of a whole transcript read at once.
pub fn whole(transcript: &str, read_subagent: &dyn Fn(&str) -> Vec<Entry>) -> Vec<Record> {
    reconcile(
        &mut Progress::default(),
        read_subagent,
        String::new(),
        transcript,
        Event::CatchUp,
    )
}

/// One engine run: feed transcript entries, then the hook's event, then take the records.
pub struct Engine<'a> {
    progress: &'a mut Progress,
    read_subagent: &'a dyn Fn(&str) -> Vec<Entry>,
    now: String,
    out: Vec<Record>,
}

impl<'a> Engine<'a> {
    /// `read_subagent` returns the entries of a subagent's transcript; `now` stamps records
    /// that come from payloads.
    pub fn new(
        progress: &'a mut Progress,
        read_subagent: &'a dyn Fn(&str) -> Vec<Entry>,
        now: String,
    ) -> Self {
        Engine {
            progress,
            read_subagent,
            now,
            out: Vec::new(),
        }
    }

    pub fn records(self) -> Vec<Record> {
        self.out
    }

    /// Takes the next transcript entry of the main session, in file order.
    pub fn consume(&mut self, entry: Entry) {
        let Entry {
            record,
            prompt_id,
            spawned_agent,
        } = entry;
        match &record.item {
            Item::Prompt { parts } => {
                let key = PromptKey::new(prompt_id, &joined_text(parts));
                let ran_ahead = self
                    .progress
                    .prompt_ahead
                    .as_ref()
                    .is_some_and(|ahead| ahead.same(&key));
                // A prompt line closes the previous turn: its open calls were abandoned.
                // Calls answered from payloads may belong to this turn, read late; those
                // answered before the previous prompt line never will be. A prompt emitted
                // from its payload opened the turn already: calls read since are its own
                // (the TUI writes the first prompt's line after the first call's).
                self.progress.calls.retain(|_, state| {
                    *state == CallState::Answered || (ran_ahead && *state == CallState::Called)
                });
                for state in self.progress.calls.values_mut() {
                    if *state == CallState::Answered {
                        *state = CallState::AnsweredEarlier;
                    }
                }
                if ran_ahead {
                    self.progress.prompt_ahead = None;
                } else {
                    // Unannounced prompt: a final text still expected belonged to the turn
                    // before, which this line follows.
                    self.progress.text_ahead = None;
                }
                self.progress.last_prompt = Some(key);
                if ran_ahead {
                    // The payload carried only text; pasted images arrive with the transcript.
                    let images: Vec<Part> = parts
                        .iter()
                        .filter(|p| matches!(p, Part::Image(_)))
                        .cloned()
                        .collect();
                    if !images.is_empty() {
                        self.emit(Record {
                            item: Item::Prompt { parts: images },
                            ..record
                        });
                    }
                } else {
                    self.emit(record);
                }
            }
            Item::Text { text } => {
                let text_digest = digest(text);
                if self.progress.text_ahead.as_deref() == Some(text_digest.as_str()) {
                    self.progress.text_ahead = None;
                } else {
                    self.emit(record);
                }
            }
            Item::Thinking { .. } => self.emit(record),
            Item::ToolCall { id, .. } => {
                if !self.progress.knows_call(id) {
                    self.progress.calls.insert(id.clone(), CallState::Called);
                    self.emit(record);
                }
            }
            Item::ToolResult { id, .. } => {
                let state = self.progress.calls.remove(id);
                if !self.progress.closed_calls.contains(id) {
                    if self.progress.closed_calls.len() == MAX_CLOSED_CALLS {
                        self.progress.closed_calls.pop_front();
                    }
                    self.progress.closed_calls.push_back(id.clone());
                }
                if matches!(state, Some(CallState::Called | CallState::CalledEarlier)) {
                    self.splice_subagent(spawned_agent.as_deref());
                    self.emit(record);
                }
                // Answered: emitted from the payload. None: closed already, or never called.
            }
        }
    }

    /// Applies what the hook itself reported, after the transcript was consumed.
    pub fn apply(&mut self, event: Event) {
        match event {
            Event::Prompt { key, text } => {
                if self
                    .progress
                    .last_prompt
                    .as_ref()
                    .is_some_and(|last| last.same(&key))
                {
                    return;
                }
                self.progress.prompt_ahead = Some(key.clone());
                self.progress.last_prompt = Some(key);
                self.progress.text_ahead = None;
                for state in self.progress.calls.values_mut() {
                    if *state == CallState::Called {
                        *state = CallState::CalledEarlier;
                    }
                }
                let record = self.stamped(
                    None,
                    Item::Prompt {
                        parts: vec![Part::Text(text)],
                    },
                );
                self.emit(record);
            }
            Event::ToolDone {
                agent: Some(agent),
                id,
                name,
                input,
                parts,
                is_error,
                spawned_agent: _,
            } => {
                let emitted = self
                    .progress
                    .subagent_calls
                    .entry(agent.clone())
                    .or_default();
                if !emitted.insert(id.clone()) {
                    return;
                }
                if self.progress.subagent_calls.len() > MAX_TRACKED_SUBAGENTS {
                    self.progress.subagent_calls.pop_first();
                }
                let call = self.stamped(
                    Some(&agent),
                    Item::ToolCall {
                        id: id.clone(),
                        name,
                        input,
                    },
                );
                let result = self.stamped(
                    Some(&agent),
                    Item::ToolResult {
                        id,
                        parts,
                        is_error,
                    },
                );
                self.emit(call);
                self.emit(result);
            }
            Event::ToolDone {
                agent: None,
                id,
                name,
                input,
                parts,
                is_error,
                spawned_agent,
            } => {
                if self.progress.closed_calls.contains(&id) {
                    return;
                }
                match self.progress.calls.get(&id) {
                    Some(CallState::Answered | CallState::AnsweredEarlier) => return,
                    Some(CallState::Called | CallState::CalledEarlier) => {}
                    None => {
                        // The transcript has not shown the call yet: it runs ahead too.
                        let call = self.stamped(
                            None,
                            Item::ToolCall {
                                id: id.clone(),
                                name,
                                input,
                            },
                        );
                        self.emit(call);
                    }
                }
                self.progress.calls.insert(id.clone(), CallState::Answered);
                self.progress.bound_calls();
                self.splice_subagent(spawned_agent.as_deref());
                let result = self.stamped(
                    None,
                    Item::ToolResult {
                        id,
                        parts,
                        is_error,
                    },
                );
                self.emit(result);
            }
            Event::FinalText { text } => {
                let text_digest = digest(&text);
                if self.progress.read_text(&text_digest) {
                    return;
                }
                self.progress.text_ahead = Some(text_digest);
                let record = self.stamped(None, Item::Text { text });
                self.emit(record);
            }
            Event::CatchUp => {}
        }
    }

    /// Emits the subagent calls that no live hook reported, before the Agent call's result.
    fn splice_subagent(&mut self, agent: Option<&str>) {
        let Some(agent) = agent else { return };
        let emitted = self
            .progress
            .subagent_calls
            .remove(agent)
            .unwrap_or_default();
        let mut spliced = BTreeSet::new();
        for entry in (self.read_subagent)(agent) {
            match &entry.record.item {
                Item::ToolCall { id, .. } if !emitted.contains(id) => {
                    spliced.insert(id.clone());
                    self.emit(entry.record);
                }
                Item::ToolResult { id, .. } if spliced.contains(id) => self.emit(entry.record),
                // The subagent's prompt is the Agent call's input and its report is the
                // Agent call's result; its other text stays out of the main conversation.
                _ => {}
            }
        }
    }

    fn stamped(&self, agent: Option<&str>, item: Item) -> Record {
        Record {
            timestamp: Some(self.now.clone()),
            agent: agent.map(str::to_owned),
            rid: crate::model::origin_id(&item, None),
            item,
        }
    }

    fn emit(&mut self, record: Record) {
        if record.agent.is_none() {
            if let Item::Text { text } = &record.item {
                let texts = &mut self.progress.recent_texts;
                if texts.len() == MAX_RECENT_TEXTS {
                    texts.pop_front();
                }
                texts.push_back(digest(text));
            }
        }
        self.out.push(record);
    }
}

/// Short stable digest used to recognise a text without storing it.
pub fn digest(text: &str) -> String {
    let hash = Sha256::digest(text.as_bytes());
    crate::hash::hex(&hash[..8])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Image;
    use serde_json::json;

    fn entry(item: Item) -> Entry {
        Entry {
            record: Record::new(item),
            prompt_id: None,
            spawned_agent: None,
        }
    }

    fn prompt_entry(id: &str, parts: Vec<Part>) -> Entry {
        Entry {
            prompt_id: Some(id.into()),
            ..entry(Item::Prompt { parts })
        }
    }

    fn call(id: &str) -> Item {
        Item::ToolCall {
            id: id.into(),
            name: "Bash".into(),
            input: json!({"command": "ls"}),
        }
    }

    fn result(id: &str, text: &str) -> Item {
        Item::ToolResult {
            id: id.into(),
            parts: vec![Part::Text(text.into())],
            is_error: false,
        }
    }

    fn done(id: &str, text: &str) -> Event {
        done_by(None, id, text)
    }

    fn done_by(agent: Option<&str>, id: &str, text: &str) -> Event {
        Event::ToolDone {
            agent: agent.map(str::to_owned),
            id: id.into(),
            name: "Bash".into(),
            input: json!({"command": "ls"}),
            parts: vec![Part::Text(text.into())],
            is_error: false,
            spawned_agent: None,
        }
    }

    /// Runs one hook: transcript entries, then the event; returns the items written.
    fn hook(progress: &mut Progress, entries: Vec<Entry>, event: Event) -> Vec<Item> {
        hook_with(progress, entries, event, &|_| Vec::new())
    }

    fn hook_with(
        progress: &mut Progress,
        entries: Vec<Entry>,
        event: Event,
        subagent: &dyn Fn(&str) -> Vec<Entry>,
    ) -> Vec<Item> {
        let mut engine = Engine::new(progress, subagent, "now".into());
        for e in entries {
            engine.consume(e);
        }
        engine.apply(event);
        engine.records().into_iter().map(|r| r.item).collect()
    }

    #[test]
    fn a_prompt_written_early_is_not_repeated_but_its_images_follow() {
        let mut progress = Progress::default();
        let key = PromptKey::new(Some("p1".into()), "look");
        let first = hook(
            &mut progress,
            vec![],
            Event::Prompt {
                key,
                text: "look".into(),
            },
        );
        assert_eq!(first.len(), 1);
        let image = Part::Image(Image {
            media_type: "image/png".into(),
            data: "AAAA".into(),
        });
        let parts = vec![Part::Text("look".into()), image.clone()];
        let later = hook(
            &mut progress,
            vec![prompt_entry("p1", parts)],
            Event::CatchUp,
        );
        assert_eq!(later, vec![Item::Prompt { parts: vec![image] }]);
    }

    #[test]
    fn a_call_reported_twice_or_read_later_is_written_once() {
        let mut progress = Progress::default();
        let text = entry(Item::Text {
            text: "Listing.".into(),
        });
        let first = hook(
            &mut progress,
            vec![text, entry(call("t1"))],
            done("t1", "a"),
        );
        assert_eq!(first.len(), 3, "{first:?}");
        assert!(hook(&mut progress, vec![], done("t1", "a")).is_empty());
        let later = hook(
            &mut progress,
            vec![entry(result("t1", "a"))],
            done("t1", "a"),
        );
        assert!(later.is_empty(), "{later:?}");
        assert!(
            progress.calls.is_empty(),
            "a closed call leaves no open state"
        );
    }

    #[test]
    fn a_prompt_line_read_after_its_turns_calls_closes_none_of_them() {
        // The TUI writes the first prompt's line after the first calls' lines; a hook may read
        // the calls, and the next one the prompt line, before their PostToolUse hooks run.
        let mut progress = Progress::default();
        hook(&mut progress, vec![entry(call("old"))], Event::CatchUp);
        let prompt = |id: &str| Event::Prompt {
            key: PromptKey::new(Some(id.into()), "go"),
            text: "go".into(),
        };
        assert_eq!(hook(&mut progress, vec![], prompt("p1")).len(), 1);
        let first = hook(
            &mut progress,
            vec![entry(call("a")), entry(call("b"))],
            done("a", "A"),
        );
        assert_eq!(first, vec![call("a"), call("b"), result("a", "A")]);
        let line = prompt_entry("p1", vec![Part::Text("go".into())]);
        let second = hook(&mut progress, vec![line], done("b", "B"));
        assert_eq!(second, vec![result("b", "B")]);
        // The call an earlier turn left open is abandoned, as before.
        assert!(!progress.calls.contains_key("old"), "{:?}", progress.calls);
    }

    #[test]
    fn a_final_answer_written_from_stop_is_skipped_when_the_transcript_brings_it() {
        let mut progress = Progress::default();
        let stop = hook(
            &mut progress,
            vec![],
            Event::FinalText {
                text: "Done.".into(),
            },
        );
        assert_eq!(stop.len(), 1);
        let answer = entry(Item::Text {
            text: "Done.".into(),
        });
        assert!(hook(&mut progress, vec![answer], Event::CatchUp).is_empty());
        // A repeated Stop (stop_hook_active) adds nothing either.
        assert!(
            hook(
                &mut progress,
                vec![],
                Event::FinalText {
                    text: "Done.".into()
                }
            )
            .is_empty()
        );
    }

    #[test]
    fn subagent_calls_no_hook_reported_are_spliced_before_the_agent_result() {
        let mut progress = Progress::default();
        hook(
            &mut progress,
            vec![entry(Item::ToolCall {
                id: "agent".into(),
                name: "Agent".into(),
                input: json!({}),
            })],
            Event::CatchUp,
        );
        let live = done_by(Some("sub"), "s1", "one");
        assert_eq!(hook(&mut progress, vec![], live).len(), 2);
        let subagent = |_: &str| {
            [
                call("s1"),
                result("s1", "one"),
                call("s2"),
                result("s2", "two"),
            ]
            .into_iter()
            .map(|item| Entry {
                record: Record {
                    agent: Some("sub".into()),
                    ..Record::new(item)
                },
                prompt_id: None,
                spawned_agent: None,
            })
            .collect()
        };
        let agent_result = Entry {
            spawned_agent: Some("sub".into()),
            ..entry(result("agent", "report"))
        };
        let items = hook_with(&mut progress, vec![agent_result], Event::CatchUp, &subagent);
        assert_eq!(
            items,
            vec![call("s2"), result("s2", "two"), result("agent", "report")]
        );
        assert!(progress.subagent_calls.is_empty());
    }

    #[test]
    fn answered_calls_are_bounded_earlier_turns_first() {
        let mut progress = Progress::default();
        for n in 0..MAX_OPEN_CALLS {
            progress
                .calls
                .insert(format!("old{n:04}"), CallState::AnsweredEarlier);
        }
        progress.calls.insert("new".into(), CallState::Answered);
        progress.bound_calls();
        assert_eq!(progress.calls.len(), MAX_OPEN_CALLS);
        assert_eq!(progress.calls.get("new"), Some(&CallState::Answered));
    }
}
