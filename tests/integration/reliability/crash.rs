//! Crash: SIGKILL at random points, and while the state is saved.

use super::*;

/// Reads a file as it grows and checks that every complete line is JSON: a line that never
/// parses is a torn append glued to what came after, i.e. a partial line mid-file.
struct LineWatch {
    path: PathBuf,
    checked: u64,
}

impl LineWatch {
    /// Checks the lines completed since the last call; returns whether the file ends in a torn
    /// tail (what a kill leaves until the next hook completes it).
    fn check(&mut self) -> bool {
        use std::io::{Read, Seek};
        let mut file = std::fs::File::open(&self.path).unwrap();
        file.seek(std::io::SeekFrom::Start(self.checked)).unwrap();
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).unwrap();
        let complete = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        for line in bytes[..complete]
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
        {
            assert!(
                serde_json::from_slice::<Value>(line).is_ok(),
                "{}: a partial line mid-file: {:?}…",
                self.path.display(),
                String::from_utf8_lossy(&line[..line.len().min(200)])
            );
        }
        self.checked += complete as u64;
        complete < bytes.len()
    }
}

/// Hooks appending 200 KiB outputs are SIGKILLed (`SESSION_SYNC_CRASH_KILLS` of them, 40 by
/// default): half after a random delay up to the last unkilled hook's duration, half within
/// 500 µs of the state journal starting to grow, the brief window where the hook writes (a
/// uniform delay would almost never land there). Between them, as many hooks run to the end:
/// a hook killed before it saves leaves its work to the next one, so killing every hook would
/// only pile work up. Then a Stop. The mirror must hold no partial line, nothing missing,
/// nothing twice.
#[test]
fn hooks_killed_at_random_points_lose_nothing_and_double_nothing() {
    let kills = setting("SESSION_SYNC_CRASH_KILLS", 40) as usize;
    let seed = setting("SESSION_SYNC_CRASH_SEED", 0x0c4a_54ed);
    let mut rng = Rng(seed);
    let started = Instant::now();
    let env = Env::new();
    env.init();
    let mut conversation = Conversation::new(&env);
    conversation.prompt("Read the big files.", |p| {
        env.hook(p);
    });
    // The listings index is there: killed hooks leave torn lines in it too (checked at the end).
    env.listings();
    let index = env.data.join("listing.jsonl");
    let mut torn_index = 0;
    let big = |id: String, n: usize| {
        let line = format!("line of file {n}: {}\n", "x".repeat(100));
        Call::read(id, line.repeat(200 * 1024 / line.len()))
    };
    let session_dir = env.data.join("sessions").join(&conversation.synth.session);
    let mut mirror: Option<LineWatch> = None;
    let mut span = Duration::ZERO;
    let journal = session_dir.join("state.jsonl");
    let (mut sent, mut killed, mut torn_mirror, mut torn_journal) = (0, 0, 0, 0);
    let mut n = 0;
    while sent < kills {
        let call = big(conversation.call_id(n), n);
        // Kill only once an unkilled hook has given the span to spread the kills over.
        let kill = !span.is_zero() && rng.one_in(2);
        conversation.step(&format!("Reading file {n}."), &call, |p| {
            let journal_size = size(&journal);
            let spawned = Instant::now();
            let mut child = env.spawn_hook(p);
            if kill {
                let mut delay = rng.below(span.as_micros() as usize + 1);
                if rng.one_in(2) {
                    while size(&journal) == journal_size && child.try_wait().unwrap().is_none() {
                        std::hint::spin_loop();
                    }
                    delay = rng.below(500);
                }
                std::thread::sleep(Duration::from_micros(delay as u64));
                let _ = child.kill();
            }
            let output = child.wait_with_output().unwrap();
            if output.status.signal() == Some(libc::SIGKILL) {
                killed += 1;
            } else {
                assert_silent_success(&output);
                if !kill {
                    span = spawned.elapsed();
                }
            }
        });
        sent += usize::from(kill);
        n += 1;
        let mirror = mirror.get_or_insert_with(|| LineWatch {
            path: env.rollouts()[0].clone(),
            checked: 0,
        });
        torn_mirror += usize::from(mirror.check());
        let journal = std::fs::read(&journal).unwrap();
        torn_journal += usize::from(journal.last() != Some(&b'\n'));
        torn_index += usize::from(std::fs::read(&index).unwrap().last() != Some(&b'\n'));
    }
    conversation.stop("Read them all.", |p| {
        env.hook(p);
    });
    // A kill during a journal compaction leaves its temporary file: harmless, but counted.
    let leftovers = std::fs::read_dir(&session_dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".tmp")
        })
        .count();
    assert!(!mirror.unwrap().check(), "the mirror ends in a torn line");
    assert_eq!(env.log_lines("ERROR"), Vec::<String>::new());
    assert_mirror(&env, &conversation.reference);
    env.listings();
    eprintln!(
        "crash: {n} hooks with 200 KiB outputs, {sent} sent SIGKILL (delays up to {} µs): \
         {killed} killed, {} finished first; torn tails seen: {torn_mirror} in the mirror, \
         {torn_journal} in the state journal, {torn_index} in the listings index; \
         {leftovers} compaction temp files left; {:.1} s",
        span.as_micros(),
        sent - killed,
        started.elapsed().as_secs_f64()
    );
}

/// The crash point random kills reach least often with small entries, made exact: a hook
/// killed halfway through saving the state (its entry torn, nothing appended to the mirror).
/// The next hooks must neither lose their own entries to the torn one nor write anything twice.
#[test]
fn hook_killed_while_saving_the_state_loses_nothing_and_doubles_nothing() {
    let env = Env::new();
    env.init();
    let mut conversation = Conversation::new(&env);
    conversation.turn(0..2, |p| {
        env.hook(p);
    });
    let rollout = env.rollouts()[0].clone();
    let journal = env
        .data
        .join("sessions")
        .join(&conversation.synth.session)
        .join("state.jsonl");
    let call = conversation.bash(2);
    conversation.step("A call whose hook is killed.", &call, |p| {
        let (mirror_before, journal_before) = (
            std::fs::read(&rollout).unwrap(),
            std::fs::read(&journal).unwrap(),
        );
        env.hook(p);
        let entry = std::fs::read(&journal).unwrap()[journal_before.len()..].to_vec();
        let mut torn = journal_before;
        torn.extend_from_slice(&entry[..entry.len() / 2]);
        std::fs::write(&journal, torn).unwrap();
        std::fs::write(&rollout, mirror_before).unwrap();
    });
    for n in 3..6 {
        let call = conversation.bash(n);
        conversation.step(&format!("Call {n}."), &call, |p| {
            env.hook(p);
        });
    }
    conversation.stop("Done.", |p| {
        env.hook(p);
    });
    assert_eq!(env.log_lines("ERROR"), Vec::<String>::new());
    assert_mirror(&env, &conversation.reference);
}

// ---------------------------------------------------------------------------------------------
// 4. Faults

/// A conversation of `calls` reads of 200 KiB each, written to the transcript without hooks
/// (a session that ran before `init`).
fn big_reads(conversation: &mut Conversation, calls: std::ops::Range<usize>) {
    for n in calls {
        let line = format!("line of file {n}: {}\n", "x".repeat(100));
        let call = Call::read(
            conversation.call_id(n),
            line.repeat(200 * 1024 / line.len()),
        );
        conversation.step(&format!("Reading file {n}."), &call, |_| {});
    }
}

/// A session of `calls` big reads from before `init`, mirrored by `mirror`; and its id.
fn mirrored_big_reads(env: &Env, calls: usize) -> (Conversation, String) {
    let mut conversation = Conversation::new(env);
    conversation.prompt("Read the big files.", |_| {});
    big_reads(&mut conversation, 0..calls);
    let session = conversation.synth.session.clone();
    ok(env.run(&["mirror", &session]));
    (conversation, session)
}

fn state_journal(env: &Env, session: &str) -> PathBuf {
    env.data.join("sessions").join(session).join("state.jsonl")
}

/// The codex mirror's last pending write the session's state journal holds (a later save
/// may have dropped it, once done).
fn saved_pending(env: &Env, session: &str) -> Value {
    let text = std::fs::read_to_string(state_journal(env, session)).unwrap();
    text.lines()
        .rev()
        .map(|line| serde_json::from_str::<Value>(line).unwrap())
        .map(|state| state["mirrors"]["codex"]["pending"].clone())
        .find(|pending| !pending.is_null())
        .unwrap()
}

/// `mirror`'s catch-up writes megabytes at a time: a large write is saved ahead by its length
/// alone, so that its bytes are written once, not also into the state.
#[test]
fn a_large_catch_up_write_is_saved_ahead_by_its_length() {
    let env = Env::new();
    env.init();
    let (mut conversation, session) = mirrored_big_reads(&env, 8);
    assert_mirror(&env, &conversation.reference);
    let pending = saved_pending(&env, &session);
    assert!(pending["data"].is_null(), "{pending}");
    let end = pending["offset"].as_u64().unwrap() + pending["len"].as_u64().unwrap();
    assert_eq!(end, std::fs::metadata(&env.rollouts()[0]).unwrap().len());
    assert!(
        std::fs::metadata(state_journal(&env, &session))
            .unwrap()
            .len()
            < 64 * 1024
    );

    // The next sync finds it complete, and appends after it.
    conversation.stop("Read them all.", |_| {});
    ok(env.run(&["mirror", &session]));
    assert_mirror(&env, &conversation.reference);
}

/// A large catch-up write killed mid-way (its lines saved by their length only): the next
/// sync cannot complete it, and forks the mirror with the whole history; the cut one is kept
/// and listed.
#[test]
fn a_large_catch_up_write_cut_short_forks_the_mirror() {
    let env = Env::new();
    env.init();
    let (mut conversation, session) = mirrored_big_reads(&env, 4);
    let cut = env.rollouts()[0].clone();
    let pending = saved_pending(&env, &session);
    let offset = pending["offset"].as_u64().unwrap();
    let len = pending["len"].as_u64().unwrap();
    assert!(pending["data"].is_null() && len > 256 * 1024, "{pending}");
    // As a kill half-way through the write leaves the state (saved before the write, never
    // after) and the file.
    let journal = state_journal(&env, &session);
    let text = std::fs::read_to_string(&journal).unwrap();
    let before_write = text
        .lines()
        .rev()
        .find(|line| line.contains("\"pending\""))
        .unwrap()
        .to_owned();
    std::fs::write(&journal, text + &before_write + "\n").unwrap();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&cut)
        .unwrap()
        .set_len(offset + len / 2)
        .unwrap();

    big_reads(&mut conversation, 4..6);
    conversation.stop("Read them all.", |_| {});
    ok(env.run(&["mirror", &session]));
    let rollouts = env.rollouts();
    assert_eq!(rollouts.len(), 2, "{rollouts:?}");
    let fork = rollouts.iter().find(|r| **r != cut).unwrap();
    assert_mirror_at(fork, &env.log(), &conversation.reference);
    let status = env.status_json();
    let old = &status["sessions"][0]["continued_elsewhere"][0];
    assert_eq!(
        old["reason"],
        format!(
            "a write of session-sync's was cut short ({} bytes of {len})",
            len / 2
        )
    );
    assert_eq!(std::fs::metadata(&cut).unwrap().len(), offset + len / 2);
}

/// `mirror` into OpenCode over several catch-up steps: each step's rows go in beside the next
/// step's work, and every one of them is in the database, recorded complete, in one session;
/// a later sync appends to it.
#[test]
fn a_catch_up_into_opencode_writes_every_row_beside_the_next_step() {
    let env = Env::new();
    env.init();
    let config_path = env.project.join(".session-sync/config.json");
    let mut config: Value =
        serde_json::from_str(&std::fs::read_to_string(&config_path).unwrap()).unwrap();
    for (name, target) in config["targets"].as_object_mut().unwrap() {
        target["enabled"] = (name == "opencode").into();
    }
    std::fs::write(&config_path, config.to_string()).unwrap();
    let db = env.install_opencode_db();
    let count = |sql: &str| -> i64 {
        let connection = rusqlite::Connection::open(&db).unwrap();
        connection.query_row(sql, [], |row| row.get(0)).unwrap()
    };
    let tool_parts = "SELECT count(*) FROM part WHERE data LIKE '{\"type\":\"tool\"%'";

    // 48 reads of 200 KiB: three steps of 4 MiB.
    let (mut conversation, session) = mirrored_big_reads(&env, 48);
    assert_eq!(count(tool_parts), 48);
    assert_eq!(count("SELECT count(*) FROM session"), 1);
    let text = std::fs::read_to_string(state_journal(&env, &session)).unwrap();
    let state: Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    let mirror = &state["mirrors"]["opencode"];
    assert!(mirror["pending"].is_null(), "{mirror}");
    let newest: String = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row(
            "SELECT id FROM message ORDER BY time_created DESC, id DESC LIMIT 1",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(mirror["tail"], newest.as_str());
    assert!(state["retired"].is_null(), "{}", state["retired"]);

    big_reads(&mut conversation, 48..50);
    conversation.stop("Read them all.", |_| {});
    ok(env.run(&["mirror", &session]));
    assert_eq!(count(tool_parts), 50);
    assert_eq!(count("SELECT count(*) FROM session"), 1);
    assert_eq!(env.log_lines("ERROR"), Vec::<String>::new());
}
