//! Bounded work per hook: large and endless transcript lines.

use super::*;

/// Runs the hook with `payload` in `mib` MiB of address space (its background child too):
/// enough for bounded steps, too little to hold the transcripts these tests feed it, where an
/// allocation failing aborts the hook. It must exit 0 without a byte of output.
fn hook_in_memory(env: &Env, payload: &[u8], mib: u64) {
    let command = with_limit(env.command(&["hook"]), libc::RLIMIT_AS, mib << 20);
    hook_via(command, payload);
}

/// The session's saved progress, once the transcript is read to its end (by the hook's
/// background child): waits for it, up to HANG.
fn progress_at_end(env: &Env, synth: &Synth) -> Value {
    let state = env
        .data
        .join("sessions")
        .join(&synth.session)
        .join("state.jsonl");
    let deadline = Instant::now() + HANG;
    loop {
        let end = std::fs::metadata(&synth.transcript).unwrap().len();
        let text = std::fs::read_to_string(&state).unwrap_or_default();
        // The last complete entry (a hook may be writing the next one).
        let last = text
            .lines()
            .rev()
            .find_map(|l| serde_json::from_str::<Value>(l).ok());
        if let Some(progress) = last.map(|s| s["progress"].clone()) {
            if progress["transcript_offset"].as_u64() == Some(end) {
                return progress;
            }
        }
        assert!(
            Instant::now() < deadline,
            "the transcript was never read to its end"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_large_unread_transcript_is_read_in_bounded_steps() {
    let env = Env::new();
    env.init();
    // A session that ran before `init`: 64 calls with 200 KiB outputs, 26 MB unread.
    let mut conversation = Conversation::new(&env);
    conversation.prompt("Read every file.", |_| {});
    for n in 0..64 {
        let call = Call::read(conversation.call_id(n), format!("{n:03}").repeat(68 << 10));
        conversation.step(&format!("Reading {n}."), &call, |_| {});
    }
    conversation.stop("All read.", |_| {});
    conversation.prompt("And now?", |payload| hook_in_memory(&env, payload, 64));
    progress_at_end(&env, &conversation.synth);
    conversation.stop("Nothing more.", |payload| hook_in_memory(&env, payload, 64));
    assert!(env.log_lines("ERROR").is_empty(), "{}", env.log());
    assert_mirror(&env, &conversation.reference);
}

#[test]
fn a_transcript_line_without_end_is_skipped_once_not_read_at_every_hook() {
    let env = Env::new();
    env.init();
    let synth = Synth::new(&env);
    synth.append(&[synth.prompt_line("before")]);
    // 256 MiB without a newline (a hole: no disk used). The background child reads 64 MiB of
    // it before it gives up on the line.
    const LINE_MEMORY: u64 = 128;
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(&synth.transcript)
        .unwrap();
    file.set_len(file.metadata().unwrap().len() + (256 << 20))
        .unwrap();
    let end = synth.payload("SessionEnd", json!({ "reason": "other" }));

    for _ in 0..2 {
        hook_in_memory(&env, &end, LINE_MEMORY);
        let progress = progress_at_end(&env, &synth);
        assert_eq!(progress["skipping_line"], true);
    }
    let warnings = env.log_lines("WARN");
    assert_eq!(warnings.len(), 1, "{}", env.log());
    assert!(
        warnings[0].contains("longer than 64 MiB; skipped"),
        "{}",
        warnings[0]
    );

    // Once the line ends, what follows it is read.
    synth.append(&[
        json!("the end of the long line"),
        synth.prompt_line("after"),
    ]);
    hook_in_memory(&env, &end, LINE_MEMORY);
    let progress = progress_at_end(&env, &synth);
    assert_eq!(progress.get("skipping_line"), None);
    hook_in_memory(&env, &end, LINE_MEMORY);
    assert_eq!(
        said(&env.rollout()),
        vec![Said::User("before".into()), Said::User("after".into())]
    );
    assert!(env.log_lines("ERROR").is_empty(), "{}", env.log());
}
