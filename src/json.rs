//! Compact JSON text of a `serde_json::Value`, byte for byte what `Value::to_string` gives,
//! with strings scanned for escapes sixteen bytes at a time: a catch-up writes every tool
//! output once per target (twice in some), and serde_json's byte-at-a-time scan of those
//! megabytes was a fifth of a six-target backfill.

use serde_json::Value;
use std::fmt::Write;

/// `value` as one line of compact JSON.
pub fn line(value: &Value) -> String {
    let mut out = String::with_capacity(256);
    write_value(&mut out, value);
    out
}

/// Appends `value` as compact JSON.
pub fn write_value(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        // `Number`'s Display is serde_json's own serialization of it.
        Value::Number(number) => {
            let _ = write!(out, "{number}");
        }
        Value::String(text) => write_str(out, text),
        Value::Array(items) => {
            out.push('[');
            for (n, item) in items.iter().enumerate() {
                if n > 0 {
                    out.push(',');
                }
                write_value(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (n, (key, item)) in map.iter().enumerate() {
                if n > 0 {
                    out.push(',');
                }
                write_str(out, key);
                out.push(':');
                write_value(out, item);
            }
            out.push('}');
        }
    }
}

/// Appends `text` as a JSON string, escaped as serde_json escapes it.
pub fn write_str(out: &mut String, text: &str) {
    out.reserve(text.len() + 2);
    out.push('"');
    let bytes = text.as_bytes();
    let mut done = 0;
    let mut at = 0;
    while at < bytes.len() {
        // Whole blocks without anything to escape are skipped at once (the compiler turns
        // this test into vector compares).
        if let Some(block) = bytes.get(at..at + 16) {
            if !block.iter().fold(false, |any, &b| any | needs_escape(b)) {
                at += 16;
                continue;
            }
        }
        let byte = bytes[at];
        if needs_escape(byte) {
            out.push_str(&text[done..at]);
            push_escape(out, byte);
            done = at + 1;
        }
        at += 1;
    }
    out.push_str(&text[done..]);
    out.push('"');
}

fn needs_escape(byte: u8) -> bool {
    byte < 0x20 || byte == b'"' || byte == b'\\'
}

fn push_escape(out: &mut String, byte: u8) {
    let short = match byte {
        b'"' => '"',
        b'\\' => '\\',
        0x08 => 'b',
        0x09 => 't',
        0x0a => 'n',
        0x0c => 'f',
        0x0d => 'r',
        _ => {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.push_str("\\u00");
            out.push(HEX[usize::from(byte >> 4)] as char);
            out.push(HEX[usize::from(byte & 0xf)] as char);
            return;
        }
    };
    out.push('\\');
    out.push(short);
}

/// A JSON object written as text, field by field, without building a tree first.
pub struct Object<'a> {
    out: &'a mut String,
    empty: bool,
}

impl<'a> Object<'a> {
    fn new(out: &'a mut String) -> Self {
        out.push('{');
        Object { out, empty: true }
    }

    fn key(&mut self, key: &str) -> &mut String {
        if !self.empty {
            self.out.push(',');
        }
        self.empty = false;
        write_str(self.out, key);
        self.out.push(':');
        self.out
    }

    pub fn str(&mut self, key: &str, value: &str) -> &mut Self {
        write_str(self.key(key), value);
        self
    }

    pub fn int(&mut self, key: &str, value: i64) -> &mut Self {
        let _ = write!(self.key(key), "{value}");
        self
    }

    pub fn bool(&mut self, key: &str, value: bool) -> &mut Self {
        self.key(key).push_str(if value { "true" } else { "false" });
        self
    }

    pub fn value(&mut self, key: &str, value: &Value) -> &mut Self {
        write_value(self.key(key), value);
        self
    }

    /// A field whose value `write` appends as JSON text.
    pub fn text(&mut self, key: &str, write: impl FnOnce(&mut String)) -> &mut Self {
        write(self.key(key));
        self
    }

    /// A field whose value is JSON text already.
    pub fn raw(&mut self, key: &str, json: &str) -> &mut Self {
        self.key(key).push_str(json);
        self
    }

    pub fn object(&mut self, key: &str, fill: impl FnOnce(&mut Object)) -> &mut Self {
        write_object(self.key(key), fill);
        self
    }

    pub fn array(&mut self, key: &str, fill: impl FnOnce(&mut Array)) -> &mut Self {
        let mut inner = Array::new(self.key(key));
        fill(&mut inner);
        inner.end();
        self
    }

    fn end(self) {
        self.out.push('}');
    }
}

/// A JSON array written as text, item by item.
pub struct Array<'a> {
    out: &'a mut String,
    empty: bool,
}

impl<'a> Array<'a> {
    fn new(out: &'a mut String) -> Self {
        out.push('[');
        Array { out, empty: true }
    }

    fn item(&mut self) -> &mut String {
        if !self.empty {
            self.out.push(',');
        }
        self.empty = false;
        self.out
    }

    pub fn value(&mut self, value: &Value) -> &mut Self {
        write_value(self.item(), value);
        self
    }

    pub fn object(&mut self, fill: impl FnOnce(&mut Object)) -> &mut Self {
        write_object(self.item(), fill);
        self
    }

    fn end(self) {
        self.out.push(']');
    }
}

/// The text of the object `fill` writes.
pub fn object(fill: impl FnOnce(&mut Object)) -> String {
    let mut out = String::with_capacity(256);
    write_object(&mut out, fill);
    out
}

/// Appends the object `fill` writes.
pub fn write_object(out: &mut String, fill: impl FnOnce(&mut Object)) {
    let mut object = Object::new(out);
    fill(&mut object);
    object.end();
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn writes_what_serde_json_writes() {
        let every_byte: String = (0u8..128).map(char::from).collect();
        let long = format!(
            "{}\"{}\u{1f}é\\{}",
            "x".repeat(40),
            "y".repeat(17),
            "z".repeat(15)
        );
        let values = [
            json!(null),
            json!({"a": [1, -2, 3.5, 1e21, 0.1, -0.0, 1.5e-7, f64::MAX, u64::MAX, i64::MIN]}),
            json!({"z": true, "a": false, "m": {"nested": ["", "ü€😀", every_byte]}}),
            json!([long, "\u{7f}\u{0}\n\r\t\u{8}\u{c}", {"k\"\\\n": "v"}]),
            json!("x".repeat(4096)),
        ];
        for value in values {
            assert_eq!(line(&value), value.to_string());
        }
    }

    #[test]
    fn objects_written_as_text_read_back_as_built() {
        let text = object(|o| {
            o.str("a", "x\"y")
                .int("n", -3)
                .bool("t", true)
                .value("v", &json!([1, {"k": null}]))
                .raw("r", "{}")
                .object("o", |inner| {
                    inner.str("b", "");
                })
                .array("e", |_| {})
                .array("l", |items| {
                    items.value(&json!(1)).object(|item| {
                        item.str("k", "v");
                    });
                });
        });
        let built = json!({"a": "x\"y", "n": -3, "t": true, "v": [1, {"k": null}], "r": {}, "o": {"b": ""},
            "e": [], "l": [1, {"k": "v"}]});
        assert_eq!(text, built.to_string());
    }

    #[test]
    fn an_escape_at_every_place_of_a_block_is_found() {
        for at in 0..40 {
            let mut text = "a".repeat(40);
            text.replace_range(at..at + 1, "\"");
            assert_eq!(line(&json!(text)), json!(text).to_string(), "at {at}");
        }
    }
}
