//! Scripted model turns, shared by the Responses, Gemini and Chat Completions mocks: per
//! prompt, the turns the model answers in order, the next one chosen from the conversation the
//! request carries (flattened by the mock's own flattener).

use super::anthropic::Block;
use super::flatten::Item;

/// A scripted model. Requests whose last prompt the script does not know (side calls such as
/// titles, or requests offering no tools) get the fallback text.
#[derive(Debug, Clone)]
pub struct Script {
    fallback: String,
    prompts: Vec<(String, Vec<Vec<Block>>)>,
}

impl Script {
    /// Answers every request with one text.
    pub fn text(fallback: &str) -> Script {
        Script {
            fallback: fallback.to_string(),
            prompts: Vec::new(),
        }
    }

    /// `turns` answer `prompt`: the first when the prompt is new, the next after each model
    /// turn (a tool round); past the end, a text saying the script is exhausted.
    pub fn on(mut self, prompt: &str, turns: Vec<Vec<Block>>) -> Script {
        self.prompts.push((prompt.to_string(), turns));
        self
    }

    /// The turn answering a request whose conversation is `items`; `None` means the fallback
    /// (unknown prompt, or `offers_tools` false).
    pub fn turn(&self, items: &[Item], offers_tools: bool) -> Option<Vec<Block>> {
        if !offers_tools {
            return None;
        }
        let at = items.iter().rposition(|i| matches!(i, Item::User(_)))?;
        let Item::User(prompt) = &items[at] else {
            unreachable!()
        };
        let (_, turns) = self.prompts.iter().find(|(p, _)| p == prompt)?;
        let n = model_turns(&items[at + 1..]);
        Some(turns.get(n).cloned().unwrap_or_else(|| {
            vec![Block::text(format!(
                "SCRIPT EXHAUSTED after {n} turns of {prompt:?}"
            ))]
        }))
    }

    /// `turn`, or the fallback text.
    pub fn reply(&self, items: &[Item], offers_tools: bool) -> Vec<Block> {
        self.turn(items, offers_tools)
            .unwrap_or_else(|| vec![Block::text(&self.fallback)])
    }
}

/// How many model turns `items` (what follows a prompt) hold: runs of texts and calls, each
/// ended by tool outputs.
pub fn model_turns(items: &[Item]) -> usize {
    let mut n = 0;
    let mut in_turn = false;
    for it in items {
        match it {
            Item::Output { .. } => in_turn = false,
            _ if !in_turn => {
                n += 1;
                in_turn = true;
            }
            _ => {}
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn call(id: &str) -> Item {
        Item::Call {
            id: id.into(),
            name: "bash".into(),
            args: json!({}),
        }
    }
    fn out(id: &str) -> Item {
        Item::Output {
            id: id.into(),
            parts: vec![],
        }
    }

    #[test]
    fn picks_the_turn_after_each_tool_round() {
        let script = Script::text("side").on(
            "p",
            vec![
                vec![Block::text("one")],
                vec![Block::text("two")],
                vec![Block::text("three")],
            ],
        );
        let text = |b: Option<Vec<Block>>| match b.as_deref() {
            Some([Block::Text(t)]) => t.clone(),
            other => format!("{other:?}"),
        };
        let mut items = vec![Item::User("p".into())];
        assert_eq!(text(script.turn(&items, true)), "one");
        items.extend([Item::Assistant("a".into()), call("1"), call("2")]);
        items.extend([out("1"), out("2")]);
        assert_eq!(text(script.turn(&items, true)), "two");
        items.extend([call("3"), out("3")]);
        assert_eq!(text(script.turn(&items, true)), "three");
        items.extend([Item::Assistant("b".into()), call("4"), out("4")]);
        assert!(text(script.turn(&items, true)).starts_with("SCRIPT EXHAUSTED"));
        assert_eq!(script.turn(&items, false), None);
        assert_eq!(script.turn(&[Item::User("other".into())], true), None);
        assert_eq!(script.reply(&[], true), vec![Block::text("side")]);
    }
}
