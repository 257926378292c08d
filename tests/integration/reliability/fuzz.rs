//! Fuzzed hook input: random and hostile payloads, bytes and arguments never break the
//! hook's contract.

use super::*;

const EVENTS: &[&str] = &[
    "UserPromptSubmit",
    "PostToolUse",
    "PostToolUseFailure",
    "Stop",
    "StopFailure",
    "SessionEnd",
    "SubagentStop",
    "PostToolBatch",
    "PreCompact",
    "PostCompact",
    "SessionStart",
    "PreToolUse",
    "SubagentStart",
    "Notification",
];

fn random_string(rng: &mut Rng, len: usize) -> String {
    const PALETTE: &[&str] = &[
        "a", "Z", "0", "-", "_", ".", "/", "\\", "\"", " ", "\0", "\n", "\t", "\u{1b}", "\u{7f}",
        "é", "😀", "\u{202e}", "\u{fffd}", "\u{ffff}", "{", "}", "[", "]", ":", ",", "~",
    ];
    (0..len).map(|_| *rng.pick(PALETTE)).collect()
}

/// Strings that try to be paths or break length assumptions.
fn hostile_string(rng: &mut Rng) -> String {
    match rng.below(10) {
        0 => String::new(),
        1 => "..".into(),
        2 => "../../../../escape".into(),
        3 => "a/b/../../c".into(),
        4 => "x\0y".into(),
        5 => "/".into(),
        6 => "a".repeat(100 * 1024),
        7 => "../".repeat(30_000),
        8 => "\u{202e}\u{fffd}😀\n\t\"\\".into(),
        _ => {
            let len = rng.below(64);
            random_string(rng, len)
        }
    }
}

fn random_value(rng: &mut Rng, depth: usize) -> Value {
    match rng.below(if depth == 0 { 5 } else { 7 }) {
        0 => Value::Null,
        1 => Value::Bool(rng.one_in(2)),
        2 => rng
            .pick(&[
                json!(0),
                json!(-1),
                json!(i64::MIN),
                json!(u64::MAX),
                json!(1e308),
                json!(-0.0),
                json!(0.5),
            ])
            .clone(),
        3 => {
            let len = rng.below(40);
            Value::String(random_string(rng, len))
        }
        4 => Value::String(hostile_string(rng)),
        5 => Value::Array(
            (0..rng.below(4))
                .map(|_| random_value(rng, depth - 1))
                .collect(),
        ),
        _ => Value::Object(
            (0..rng.below(4))
                .map(|_| {
                    let key = random_string(rng, 4);
                    (key, random_value(rng, depth - 1))
                })
                .collect(),
        ),
    }
}

/// JSON pointers to every node of `value`.
fn pointers(value: &Value, at: String, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                let key = key.replace('~', "~0").replace('/', "~1");
                pointers(child, format!("{at}/{key}"), out);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                pointers(child, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
    out.push(at);
}

fn random_pointer(rng: &mut Rng, value: &Value) -> String {
    let mut all = Vec::new();
    pointers(value, String::new(), &mut all);
    rng.pick(&all).clone()
}

/// Sets a field of `payload` when it is still an object (an earlier mutation may have replaced
/// it whole).
fn set(payload: &mut Value, key: &str, value: Value) {
    if let Value::Object(map) = payload {
        map.insert(key.to_owned(), value);
    }
}

/// Applies one structural mutation to a payload; returns its name.
fn mutate_value(rng: &mut Rng, payload: &mut Value, places: &[String]) -> &'static str {
    const ID_FIELDS: &[&str] = &[
        "session_id",
        "tool_use_id",
        "agent_id",
        "prompt_id",
        "tool_name",
    ];
    match rng.below(8) {
        0 => {
            let at = random_pointer(rng, payload);
            *payload.pointer_mut(&at).unwrap() = random_value(rng, 2);
            "retype a field"
        }
        1 => {
            let at = random_pointer(rng, payload);
            if let Some((parent, key)) = at.rsplit_once('/') {
                let key = key.replace("~1", "/").replace("~0", "~");
                match payload.pointer_mut(parent) {
                    Some(Value::Object(map)) => {
                        map.shift_remove(&key);
                    }
                    Some(Value::Array(items)) => {
                        items.remove(key.parse::<usize>().unwrap());
                    }
                    _ => {}
                }
            }
            "remove a field"
        }
        2 => {
            let event = match rng.below(4) {
                0 => rng.pick(EVENTS).to_lowercase(),
                1 => format!("{} ", rng.pick(EVENTS)),
                2 => hostile_string(rng),
                _ => (*rng.pick(EVENTS)).to_owned(),
            };
            set(payload, "hook_event_name", Value::String(event));
            "event name"
        }
        3 => {
            let field = *rng.pick(ID_FIELDS);
            set(payload, field, Value::String(hostile_string(rng)));
            "hostile id"
        }
        4 => {
            let field = *rng.pick(&["cwd", "transcript_path"]);
            set(payload, field, Value::String(rng.pick(places).clone()));
            "odd path"
        }
        5 => {
            let size = *rng.pick(&[64 << 10, 1 << 20, 3 << 20]);
            let chunk = random_string(rng, 61);
            let huge = chunk.repeat(size / chunk.len() + 1);
            let at = random_pointer(rng, payload);
            *payload.pointer_mut(&at).unwrap() = Value::String(huge);
            "huge string"
        }
        6 => {
            for _ in 0..=rng.below(3) {
                let key = random_string(rng, 6);
                let value = random_value(rng, 3);
                set(payload, &key, value);
            }
            "unknown fields"
        }
        _ => {
            // The same payload, as a real one does more often than not.
            "as recorded"
        }
    }
}

/// Applies one mutation to the payload's bytes; returns its name.
fn mutate_bytes(rng: &mut Rng, bytes: &mut Vec<u8>) -> &'static str {
    match rng.below(4) {
        0 => {
            for _ in 0..=rng.below(8) {
                let at = rng.below(bytes.len().max(1));
                if let Some(byte) = bytes.get_mut(at) {
                    *byte = rng.next() as u8;
                }
            }
            "byte flips"
        }
        1 => {
            bytes.truncate(rng.below(bytes.len().max(1)));
            "truncation"
        }
        2 => {
            let snippets: &[&[u8]] = &[
                b"\"",
                b"\\",
                b"\\ud800",
                b"\\u0000",
                b"}",
                b"]",
                b",",
                b"{\"session_id\":\"other\",",
                b"\xff\xfe",
                b"\xef\xbb\xbf",
            ];
            let at = rng.below(bytes.len() + 1);
            let snippet = *rng.pick(snippets);
            bytes.splice(at..at, snippet.iter().copied());
            "splice"
        }
        _ => {
            // Deep nesting in place of a top-level field, closed or not.
            let depth = *rng.pick(&[64, 127, 128, 129, 1000, 100_000]);
            let (open, close) = if rng.one_in(2) {
                ("[", "]")
            } else {
                ("{\"a\":", "}")
            };
            let mut nested = open.repeat(depth);
            nested.push('1');
            if !rng.one_in(4) {
                nested.push_str(&close.repeat(depth));
            }
            let text = String::from_utf8_lossy(bytes);
            let field = *rng.pick(&["\"tool_input\":", "\"prompt\":", "\"cwd\":"]);
            *bytes = match text.find(field) {
                Some(at) => format!(
                    "{}{field}{nested},\"x\":{}",
                    &text[..at],
                    &text[at + field.len()..]
                ),
                None => format!("{{\"deep\":{nested}}}"),
            }
            .into_bytes();
            "deep nesting"
        }
    }
}

/// Extra arguments after `hook`: flags, nonsense, non-UTF-8.
fn random_args(rng: &mut Rng) -> Vec<OsString> {
    (0..=rng.below(4))
        .map(|_| match rng.below(8) {
            0 => "--help".into(),
            1 => "--version".into(),
            2 => "hook".into(),
            3 => OsString::new(),
            4 => OsString::from_vec(vec![0xff, 0xfe, b'x']),
            5 => "x".repeat(4096).into(),
            6 => "--no-such-flag=1".into(),
            _ => {
                let len = rng.below(12);
                random_string(rng, len).replace('\0', "").into()
            }
        })
        .collect()
}

/// One fuzz case: the bytes for stdin, extra arguments, and what was done (for the message).
fn fuzz_case(
    rng: &mut Rng,
    corpus: &[Value],
    places: &[String],
) -> (Vec<u8>, Vec<OsString>, Vec<&'static str>) {
    let mut done = Vec::new();
    let input = if rng.one_in(20) {
        done.push("garbage");
        match rng.below(3) {
            0 => (0..rng.below(4096)).map(|_| rng.next() as u8).collect(),
            1 => rng
                .pick(&["", " \n", "null", "[]", "\"x\"", "0", "{}", "\u{feff}{}"])
                .as_bytes()
                .to_vec(),
            _ => random_value(rng, 3).to_string().into_bytes(),
        }
    } else {
        let mut payload = rng.pick(corpus).clone();
        for _ in 0..=rng.below(3) {
            done.push(mutate_value(rng, &mut payload, places));
        }
        let mut bytes = payload.to_string().into_bytes();
        if rng.one_in(3) {
            done.push(mutate_bytes(rng, &mut bytes));
        }
        bytes
    };
    let args = if rng.one_in(5) {
        done.push("random argv");
        random_args(rng)
    } else {
        Vec::new()
    };
    (input, args, done)
}

/// Writes every recording's transcripts and subagent files into `env`, so that fuzzed payloads
/// meet the files their ids refer to. Returns every recorded payload, moved into `env`.
fn recorded_world(env: &Env) -> Vec<Value> {
    let mut corpus = Vec::new();
    for name in [
        "simple_bash",
        "parallel_tools",
        "multi_turn_resume",
        "subagent",
    ] {
        let recording = Recording::load(name);
        recording.write_transcript(env, usize::MAX);
        let subagents = recording
            .transcript_path(env)
            .with_extension("")
            .join("subagents");
        for (id, lines, meta) in &recording.subagents {
            std::fs::create_dir_all(&subagents).unwrap();
            let text: String = lines.iter().map(|l| env.localize(l) + "\n").collect();
            std::fs::write(subagents.join(format!("agent-{id}.jsonl")), text).unwrap();
            std::fs::write(subagents.join(format!("agent-{id}.meta.json")), meta).unwrap();
        }
        for hook in &recording.hooks {
            corpus.push(serde_json::from_str(&env.localize(&hook.payload.to_string())).unwrap());
        }
    }
    corpus
}

/// What a fuzz case came to, for the figures: it wrote to a mirror, or what it logged.
fn outcome(wrote: bool, log: &str) -> &'static str {
    const LOGGED: &[(&str, &str)] = &[
        (
            "not a Claude Code hook payload",
            "rejected: not a hook payload",
        ),
        ("empty payload", "rejected: empty stdin"),
        ("not a plain id", "rejected: session id not a plain id"),
        (
            "no absolute",
            "rejected: no absolute cwd or transcript_path",
        ),
        (" ERROR ", "other error logged"),
    ];
    if wrote {
        return "wrote to a mirror";
    }
    LOGGED
        .iter()
        .find(|(needle, _)| log.contains(needle))
        .map_or("nothing to do (event, project or call)", |(_, kind)| kind)
}

fn mirror_bytes(env: &Env) -> u64 {
    env.rollouts().iter().map(|r| size(r)).sum()
}

/// Cases one environment serves. A fuzzed call whose result never reaches the transcript
/// stays in the session's state for good (docs/reliability.md), so a long-lived environment
/// would measure that pile rather than the inputs.
const CASES_PER_ENV: usize = 250;

/// Runs the cases `worker`, `worker + jobs`, … below `cases`; returns how many came to each
/// outcome.
fn fuzz_worker(worker: u64, jobs: u64, cases: u64, seed: u64) -> BTreeMap<&'static str, u64> {
    let mut outcomes = BTreeMap::new();
    let mine: Vec<u64> = (worker..cases).step_by(jobs as usize).collect();
    for batch in mine.chunks(CASES_PER_ENV) {
        fuzz_env(batch, seed, &mut outcomes);
    }
    outcomes
}

/// Runs `cases` in one fresh environment.
fn fuzz_env(cases: &[u64], seed: u64, outcomes: &mut BTreeMap<&'static str, u64>) {
    let env = Env::new();
    env.init();
    let corpus = recorded_world(&env);
    let fifo = env.root.path().join("fifo");
    make_fifo(&fifo);
    let show = |p: &Path| p.to_str().unwrap().to_owned();
    let places = vec![
        String::new(),
        "relative/path".into(),
        "/".into(),
        "/dev/null".into(),
        "/dev/zero".into(),
        "/etc/passwd".into(),
        show(&env.project),
        show(&env.home),
        show(&fifo),
        show(&env.root.path().join("missing/t.jsonl")),
        format!("{}/{}", show(&env.project), "a/".repeat(3000)),
        format!("{}/../../../../../../tmp", show(&env.project)),
    ];
    let log = env.data.join("logs/hook.log");
    let before = outside(env.root.path(), &allowed(&env));
    for &case in cases {
        let mut rng = Rng(seed ^ case.wrapping_mul(0xd134_2543_de82_ef95));
        let (input, args, done) = fuzz_case(&mut rng, &corpus, &places);
        // A fresh log per case: a panic the hook caught is pinned on this case.
        let _ = std::fs::remove_file(&log);
        let mirrored = mirror_bytes(&env);
        let mut command = env.command(&["hook"]);
        command.args(&args);
        let output = run_bounded(command, &input);
        let case_text = || {
            let shown = String::from_utf8_lossy(&input[..input.len().min(400)]).into_owned();
            format!("case {case} of seed {seed:#x} ({done:?}, argv {args:?}): {shown}")
        };
        let Some(output) = output else {
            panic!(
                "{}\n=> the hook was still running after {HANG:?}",
                case_text()
            );
        };
        assert!(
            output.status.code() == Some(0) && output.stdout.is_empty() && output.stderr.is_empty(),
            "{}\n=> {output:?}",
            case_text()
        );
        let logged = std::fs::read_to_string(&log).unwrap_or_default();
        assert!(
            !logged.contains("internal error"),
            "{}\n=> the hook panicked: {logged}",
            case_text()
        );
        *outcomes
            .entry(outcome(mirror_bytes(&env) > mirrored, &logged))
            .or_default() += 1;
    }
    assert_nothing_written_outside(&before, &outside(env.root.path(), &allowed(&env)));
    // Nothing was killed, so every write was whole.
    for rollout in env.rollouts() {
        parse_rollout(&rollout);
    }
    for session in std::fs::read_dir(env.data.join("sessions")).unwrap() {
        let journal = std::fs::read_to_string(session.unwrap().path().join("state.jsonl"));
        for line in journal.unwrap_or_default().lines() {
            serde_json::from_str::<Value>(line).expect("a state journal line is not JSON");
        }
    }
}

/// Mutations of the recorded payloads (byte flips, truncation, retyped and removed fields,
/// huge strings, deep nesting, wrong event names, hostile ids and paths, random argv):
/// `SESSION_SYNC_FUZZ_CASES` cases (200 by default) over `SESSION_SYNC_FUZZ_JOBS` parallel
/// environments, from `SESSION_SYNC_FUZZ_SEED`.
#[test]
fn fuzzed_payloads_never_break_the_contract() {
    let cases = setting("SESSION_SYNC_FUZZ_CASES", 200);
    let jobs = setting("SESSION_SYNC_FUZZ_JOBS", 8).max(1);
    let seed = setting("SESSION_SYNC_FUZZ_SEED", 0x5e55_10c5);
    let started = Instant::now();
    let workers: Vec<_> = (0..jobs)
        .map(|worker| std::thread::spawn(move || fuzz_worker(worker, jobs, cases, seed)))
        .collect();
    let mut outcomes = BTreeMap::new();
    let mut failures = Vec::new();
    for worker in workers {
        match worker.join() {
            Ok(counts) => {
                for (kind, count) in counts {
                    *outcomes.entry(kind).or_insert(0) += count;
                }
            }
            Err(panic) => failures.push(
                panic
                    .downcast_ref::<String>()
                    .cloned()
                    .unwrap_or_else(|| "panic".into()),
            ),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    eprintln!(
        "fuzz: {cases} cases, {jobs} jobs, seed {seed:#x}, {:.1} s: {outcomes:?}",
        started.elapsed().as_secs_f64()
    );
}

// ---------------------------------------------------------------------------------------------
// 2. Stress: 32 concurrent hooks on one session
