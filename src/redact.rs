//! Secrets out of conversations before they leave the machine's agent stores (packages, the
//! archive): a gitleaks-derived set of rules (`../shared/specs/packages.md`, "Redaction").
//! Each match becomes `[REDACTED:<rule>]`. A floor, not a guarantee: what no rule knows stays.

use crate::model::Record;
use regex::Regex;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// The rule set's name, recorded with the counts.
pub const RULESET: &str = "session-sync-1";

/// Rules in the order they apply: the more specific first (an Anthropic key also looks like an
/// OpenAI one). The assignment rule keeps its key and redacts only the value (group `v`).
const RULES: &[(&str, &str)] = &[
    ("anthropic-key", r"sk-ant-[A-Za-z0-9_\-]{20,}"),
    ("openai-key", r"sk-(?:proj-)?[A-Za-z0-9_\-]{20,}"),
    ("aws-access-key", r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    (
        "github-token",
        r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})",
    ),
    ("slack-token", r"\bxox[baprs]-[A-Za-z0-9\-]{10,}"),
    ("stripe-key", r"\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}"),
    ("google-api-key", r"\bAIza[0-9A-Za-z_\-]{35}"),
    (
        "jwt",
        r"\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}",
    ),
    (
        "private-key",
        r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----",
    ),
    (
        "secret-assignment",
        r#"(?i)\b(?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|auth)\s*[=:]\s*["']?(?P<v>[^\s"'`,;]{6,})"#,
    ),
];

fn rules() -> &'static [(&'static str, Regex)] {
    static COMPILED: OnceLock<Vec<(&'static str, Regex)>> = OnceLock::new();
    COMPILED.get_or_init(|| {
        RULES
            .iter()
            .map(|(name, pattern)| (*name, Regex::new(pattern).expect("redaction rules compile")))
            .collect()
    })
}

/// Matches found, by rule.
pub type Counts = BTreeMap<String, u64>;

/// `text` with every secret replaced, counting what was replaced into `counts`.
pub fn text(text: &str, counts: &mut Counts) -> String {
    let mut out = text.to_owned();
    for (name, rule) in rules() {
        if !rule.is_match(&out) {
            continue;
        }
        let mut found = 0;
        let replaced = rule.replace_all(&out, |caps: &regex::Captures| {
            found += 1;
            let whole = caps.get(0).map_or("", |m| m.as_str());
            match caps.name("v") {
                Some(value) => {
                    let start = value.start() - caps.get(0).map_or(0, |m| m.start());
                    format!("{}[REDACTED:{name}]", &whole[..start])
                }
                None => format!("[REDACTED:{name}]"),
            }
        });
        out = replaced.into_owned();
        if found > 0 {
            *counts.entry((*name).to_owned()).or_default() += found;
        }
    }
    out
}

/// Every string in a JSON value (keys stay).
pub fn json(value: &Value, counts: &mut Counts) -> Value {
    match value {
        Value::String(s) => Value::String(text(s, counts)),
        Value::Array(items) => Value::Array(items.iter().map(|v| json(v, counts)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), json(v, counts)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// A record with every secret in its text, arguments and output replaced.
pub fn record(record: &Record, counts: &mut Counts) -> Record {
    record.map_text(&mut |t| text(t, counts))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_rule_redacts_and_counts() {
        let mut counts = Counts::new();
        let input = "key sk-ant-api03-abcdefghijklmnopqrstuvwxyz and sk-proj-ABCDEFGHIJKLMNOPQRSTUV12 \
             AKIAABCDEFGHIJKLMNOP ghp_abcdefghijklmnopqrstuvwxyz0123456789AB \
             AIzaSyA-abcdefghijklmnopqrstuvwxyz0123456 password=hunter22 \
             -----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----";
        let out = text(input, &mut counts);
        for secret in [
            "sk-ant-api03",
            "sk-proj-",
            "AKIA",
            "ghp_",
            "AIzaSy",
            "hunter22",
            "MIIE",
        ] {
            assert!(!out.contains(secret), "{secret} in {out}");
        }
        assert!(
            out.contains("password=[REDACTED:secret-assignment]"),
            "{out}"
        );
        assert_eq!(counts["anthropic-key"], 1);
        assert_eq!(counts["openai-key"], 1);
        assert_eq!(counts["private-key"], 1);
        assert_eq!(counts.values().sum::<u64>(), 7);
    }

    #[test]
    fn ordinary_text_is_left_alone() {
        let mut counts = Counts::new();
        let input = "cargo build --release; the token budget is fine; ls -la /tmp";
        assert_eq!(text(input, &mut counts), input);
        assert!(counts.is_empty());
    }
}
