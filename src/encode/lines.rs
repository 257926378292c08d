//! The lines an encoder writes, in one buffer: a catch-up step writes megabytes per target,
//! and a string per line, gathered again into the write, cost a copy and the memory twice.

use crate::json;
use serde_json::Value;

/// Lines, each ended by a newline, in the order written.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Lines {
    text: String,
    /// Where each line ends, before its newline.
    ends: Vec<usize>,
}

impl Lines {
    /// Appends `line`, which holds no newline (compact JSON never does).
    pub fn push(&mut self, line: &str) {
        debug_assert!(!line.contains('\n'), "a line with a newline: {line:?}");
        self.text.push_str(line);
        self.end_line();
    }

    /// Appends `value` as a line of compact JSON.
    pub fn value(&mut self, value: &Value) {
        json::write_value(&mut self.text, value);
        self.end_line();
    }

    /// Appends the object `fill` writes, as a line.
    pub fn object(&mut self, fill: impl FnOnce(&mut json::Object)) {
        json::write_object(&mut self.text, fill);
        self.end_line();
    }

    fn end_line(&mut self) {
        self.ends.push(self.text.len());
        self.text.push('\n');
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Each line, without its newline.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &str> + ExactSizeIterator {
        self.ends.iter().enumerate().map(|(n, &end)| {
            let start = n.checked_sub(1).map_or(0, |before| self.ends[before] + 1);
            &self.text[start..end]
        })
    }

    /// The lines from the `from`th on, as owned strings.
    pub fn split_off(&mut self, from: usize) -> Vec<String> {
        let split: Vec<String> = self.iter().skip(from).map(str::to_owned).collect();
        let start = from
            .checked_sub(1)
            .and_then(|before| self.ends.get(before))
            .map_or(0, |end| end + 1);
        self.text.truncate(start.min(self.text.len()));
        self.ends.truncate(from);
        split
    }

    /// Every line, each with its newline: what goes into the file.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// `text`, taken.
    pub fn into_text(self) -> String {
        self.text
    }
}

impl<S: AsRef<str>> FromIterator<S> for Lines {
    fn from_iter<I: IntoIterator<Item = S>>(lines: I) -> Self {
        let mut all = Lines::default();
        for line in lines {
            all.push(line.as_ref());
        }
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lines_written_any_way_read_back_in_order() {
        let mut lines = Lines::default();
        lines.push("{\"a\":1}");
        lines.value(&json!({"b": "x\ny"}));
        lines.object(|o| {
            o.int("c", 3);
        });
        assert_eq!(
            lines.iter().collect::<Vec<_>>(),
            ["{\"a\":1}", "{\"b\":\"x\\ny\"}", "{\"c\":3}"]
        );
        assert_eq!(lines.iter().next_back(), Some("{\"c\":3}"));
        let tail = lines.split_off(1);
        assert_eq!(tail, ["{\"b\":\"x\\ny\"}", "{\"c\":3}"]);
        assert_eq!(lines.len(), 1);
        assert_eq!(lines.into_text(), "{\"a\":1}\n");
    }
}
