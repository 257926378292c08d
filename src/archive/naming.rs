//! Where a session goes in the archive, and what it is called: the project path relative to
//! home, the slug, and the text the user actually typed (injected context taken out).

use std::path::{Component, Path};

/// Slugs are cut to this many characters.
const MAX_SLUG: usize = 60;

/// Tags of blocks that agents put into a user message themselves: never the user's words.
const INJECTED_TAGS: &[&str] = &[
    "environment_context",
    "user_instructions",
    "system-reminder",
    "command-message",
    "command-name",
    "command-args",
    "command-contents",
    "local-command-caveat",
    "local-command-stdout",
    "local-command-stderr",
    "user-prompt-submit-hook",
    "turn_aborted",
    "INSTRUCTIONS",
];

/// A user message split into what the user typed and the blocks an agent injected.
#[derive(Debug, Default, PartialEq)]
pub struct Prompt {
    pub words: String,
    /// `(tag, content)` in order of appearance.
    pub injected: Vec<(String, String)>,
}

impl Prompt {
    /// The slash command the message ran (`/init`), with its arguments.
    pub fn command(&self) -> Option<String> {
        let name = self
            .injected
            .iter()
            .find(|(tag, _)| tag == "command-name")?
            .1
            .trim();
        let args = self
            .injected
            .iter()
            .find(|(tag, _)| tag == "command-args")
            .map(|(_, a)| a.trim())
            .unwrap_or("");
        Some(if args.is_empty() {
            name.to_owned()
        } else {
            format!("{name} {args}")
        })
    }
}

/// Takes the injected blocks out of a user message.
pub fn split_prompt(text: &str) -> Prompt {
    let trimmed = text.trim_start();
    // Codex and others paste a project's AGENTS.md as a user message of its own.
    if trimmed.starts_with("# AGENTS.md") || trimmed.starts_with("<INSTRUCTIONS>") {
        return Prompt {
            words: String::new(),
            injected: vec![("AGENTS.md".to_owned(), text.trim().to_owned())],
        };
    }
    let mut words = String::new();
    let mut injected = Vec::new();
    let mut rest = text;
    while let Some((start, tag)) = next_tag(rest) {
        let open_end = match rest[start..].find('>') {
            Some(i) => start + i + 1,
            None => break,
        };
        let close = format!("</{tag}>");
        let Some(close_at) = rest[open_end..].find(&close) else {
            break;
        };
        words.push_str(&rest[..start]);
        injected.push((
            tag.to_owned(),
            rest[open_end..open_end + close_at].trim().to_owned(),
        ));
        rest = &rest[open_end + close_at + close.len()..];
    }
    words.push_str(rest);
    Prompt {
        words: words.trim().to_owned(),
        injected,
    }
}

/// The first opening tag of an injected block in `text`.
fn next_tag(text: &str) -> Option<(usize, &'static str)> {
    INJECTED_TAGS
        .iter()
        .filter_map(|tag| {
            let mut from = 0;
            while let Some(i) = text[from..].find(&format!("<{tag}")) {
                let at = from + i;
                let after = text[at + 1 + tag.len()..].chars().next();
                if matches!(after, Some('>') | Some(' ') | Some('\n')) {
                    return Some((at, *tag));
                }
                from = at + 1;
            }
            None
        })
        .min_by_key(|(at, _)| *at)
}

/// A title as a file-name slug: ASCII, lower case, words joined by `-`, at most 60
/// characters, cut at a word boundary where there is one.
pub fn slug(title: &str) -> String {
    let mut out = String::new();
    for c in title.chars().flat_map(fold) {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
        if out.len() > MAX_SLUG {
            break;
        }
    }
    if out.len() > MAX_SLUG {
        out.truncate(MAX_SLUG);
        if let Some(cut) = out.rfind('-').filter(|&i| i >= MAX_SLUG / 2) {
            out.truncate(cut);
        }
    }
    out.trim_matches('-').to_owned()
}

/// Latin letters with accents to their ASCII base; other characters stay as they are.
fn fold(c: char) -> impl Iterator<Item = char> {
    let folded: &str = match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'À' | 'Á' | 'Â' | 'Ã' | 'Ä' | 'Å' => {
            "a"
        }
        'ç' | 'ć' | 'č' | 'Ç' | 'Č' => "c",
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ę' | 'ě' | 'È' | 'É' | 'Ê' | 'Ë' => "e",
        'ì' | 'í' | 'î' | 'ï' | 'Ì' | 'Í' | 'Î' | 'Ï' => "i",
        'ñ' | 'ń' | 'ň' | 'Ñ' => "n",
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ö' | 'Ø' => "o",
        'ù' | 'ú' | 'û' | 'ü' | 'ů' | 'Ù' | 'Ú' | 'Û' | 'Ü' => "u",
        'ý' | 'ÿ' | 'Ý' => "y",
        'š' | 'ś' | 'Š' => "s",
        'ž' | 'ź' | 'ż' | 'Ž' => "z",
        'ł' | 'Ł' => "l",
        'ř' => "r",
        'ß' => "ss",
        'æ' | 'Æ' => "ae",
        'œ' | 'Œ' => "oe",
        _ => "",
    };
    let mut chars: Vec<char> = folded.chars().collect();
    if chars.is_empty() {
        chars.push(c);
    }
    chars.into_iter()
}

/// One path segment as `[A-Za-z0-9._-]`, other characters as `-`, no leading or trailing
/// `.`/`-` (so never `..`).
fn segment(text: &str) -> String {
    let mapped: String = text
        .chars()
        .flat_map(fold)
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect();
    mapped.trim_matches(|c| c == '.' || c == '-').to_owned()
}

/// The project's folder under `<host>/`: the cwd relative to home, each segment made safe;
/// a cwd outside home keeps all its segments. `_home` for home itself, `_unknown` without one.
pub fn project_dir(cwd: Option<&Path>, home: Option<&Path>) -> String {
    let Some(cwd) = cwd else {
        return "_unknown".to_owned();
    };
    let relative = home
        .and_then(|home| cwd.strip_prefix(home).ok())
        .unwrap_or(cwd);
    let segments: Vec<String> = relative
        .components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(segment(&s.to_string_lossy())),
            _ => None,
        })
        .filter(|s| !s.is_empty())
        .collect();
    if segments.is_empty() {
        return if relative == cwd && home.is_some_and(|h| h != cwd) {
            "_root".to_owned()
        } else {
            "_home".to_owned()
        };
    }
    segments.join("/")
}

/// The project as people read it: `~/work/app` under home, the absolute path otherwise.
pub fn project_label(cwd: Option<&Path>, home: Option<&Path>) -> String {
    let Some(cwd) = cwd else {
        return "unknown".to_owned();
    };
    match home.and_then(|home| cwd.strip_prefix(home).ok()) {
        Some(rest) if rest.as_os_str().is_empty() => "~".to_owned(),
        Some(rest) => format!("~/{}", rest.display()),
        None => cwd.display().to_string(),
    }
}

/// A machine or user name as one path segment.
pub fn name_segment(text: &str) -> String {
    let s = segment(text);
    if s.is_empty() { "_".to_owned() } else { s }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn injected_blocks_are_not_the_users_words() {
        let p = split_prompt(
            "<command-message>init is analyzing</command-message>\n<command-name>/init</command-name>",
        );
        assert_eq!(p.words, "");
        assert_eq!(p.command().as_deref(), Some("/init"));
        let p = split_prompt("fix the bug<system-reminder>\nbe careful\n</system-reminder>");
        assert_eq!(p.words, "fix the bug");
        assert_eq!(
            p.injected,
            vec![("system-reminder".into(), "be careful".into())]
        );
        assert_eq!(
            split_prompt("# AGENTS.md instructions for /x\n...").words,
            ""
        );
        assert_eq!(split_prompt("a <b> c").words, "a <b> c");
        assert_eq!(
            split_prompt("<system-reminder>unclosed").words,
            "<system-reminder>unclosed"
        );
    }

    #[test]
    fn slugs_are_ascii_short_and_cut_at_words() {
        assert_eq!(slug("Fix the café's Bug!"), "fix-the-cafe-s-bug");
        assert_eq!(slug("  --  "), "");
        assert_eq!(slug("日本語 only"), "only");
        let long = slug(&"word ".repeat(40));
        assert!(long.len() <= 60 && !long.ends_with('-'), "{long}");
        assert_eq!(slug(&"x".repeat(100)).len(), 60);
    }

    #[test]
    fn projects_are_relative_to_home() {
        let home = Path::new("/home/u");
        let dir = |p: &str| project_dir(Some(Path::new(p)), Some(home));
        assert_eq!(dir("/home/u/work/my app"), "work/my-app");
        assert_eq!(dir("/home/u"), "_home");
        assert_eq!(dir("/srv/x/.."), "srv/x");
        assert_eq!(dir("/"), "_root");
        assert_eq!(project_dir(None, Some(home)), "_unknown");
        assert_eq!(
            project_label(Some(Path::new("/home/u/a")), Some(home)),
            "~/a"
        );
    }
}
