//! Hostile input: ids that try to steer where we write, planted symlinks and FIFOs, umask 0.

use super::*;

/// Session, agent and tool_use ids made of `/`, `..`, NUL or 100 KB, in every event that uses
/// them: nothing is written outside our data directory and Codex's sessions, and inside them
/// only plain ids name anything.
#[test]
fn hostile_ids_cannot_steer_where_we_write() {
    let env = Env::new();
    env.init();
    let hostile: Vec<String> = vec![
        "..".into(),
        ".".into(),
        "../../../escape".into(),
        "a/b".into(),
        "/abs".into(),
        "x\0y".into(),
        "a".repeat(100 * 1024),
        "../".repeat(34 * 1024),
        "toolu_ok/../../../escape".into(),
    ];
    let mut conversation = Conversation::new(&env);
    conversation.turn(0..1, |p| {
        env.hook(p);
    });
    let before = outside(env.root.path(), &allowed(&env));
    let s = &conversation.synth;
    let mut payloads = Vec::new();
    for id in &hostile {
        // As the session id, for every kind of hook.
        for event in ["UserPromptSubmit", "PostToolUse", "Stop", "SessionEnd"] {
            let mut payload: Value = serde_json::from_slice(&s.payload(
                event,
                json!({
                    "prompt": "hi", "tool_name": "Bash", "tool_use_id": "toolu_x",
                    "tool_input": {"command": "ls"}, "tool_response": {"stdout": "x"},
                    "last_assistant_message": "Done.",
                }),
            ))
            .unwrap();
            payload["session_id"] = json!(id);
            payloads.push(payload.to_string().into_bytes());
        }
        // As a tool_use id, a subagent's id, and the subagent an Agent call names.
        let call = Call::bash(id.clone(), "out".into());
        payloads.push(s.post_tool_use(&call));
        let mut from_subagent: Value = serde_json::from_slice(&s.post_tool_use(&call)).unwrap();
        from_subagent["agent_id"] = json!(id);
        payloads.push(from_subagent.to_string().into_bytes());
        let agent = s.payload(
            "PostToolUse",
            json!({
                "tool_name": "Agent", "tool_use_id": format!("toolu_agent_{}", payloads.len()),
                "tool_input": {"prompt": "look", "subagent_type": "Explore"},
                "tool_response": {"status": "completed", "agentId": id,
                    "content": [{"type": "text", "text": "report"}]},
            }),
        );
        payloads.push(agent);
        payloads.push(s.payload("SubagentStop", json!({ "agent_id": id })));
    }
    // Run together: the ids that are plain enough to wait for their call wait in parallel.
    let runs: Vec<_> = payloads
        .into_iter()
        .map(|p| {
            let command = env.command(&["hook"]);
            std::thread::spawn(move || hook_via(command, &p))
        })
        .collect();
    for run in runs {
        run.join().unwrap();
    }
    assert_nothing_written_outside(&before, &outside(env.root.path(), &allowed(&env)));
    let sessions: Vec<_> = std::fs::read_dir(env.data.join("sessions"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(sessions, vec![OsString::from(&s.session)]);
    assert_eq!(env.rollouts().len(), 1);
    parse_rollout(&env.rollouts()[0]);
    assert!(env.log().contains("not a plain id"));
}

/// Where a symlink to a file of the user's is planted in place of a file we write.
#[derive(Debug, Clone, Copy)]
enum Planted {
    State,
    Lock,
    Log,
    Mirror,
}

/// A symlink planted where the state journal, the lock, the hook log or the mirror should be
/// is not followed: its target is untouched; the hook logs the problem (unless the log is the
/// link) and catches up once the link is gone.
#[test]
fn planted_symlinks_are_not_followed() {
    for place in [Planted::State, Planted::Lock, Planted::Log, Planted::Mirror] {
        let env = Env::new();
        env.init();
        let mut conversation = Conversation::new(&env);
        let session_dir = env.data.join("sessions").join(&conversation.synth.session);
        let target = env.root.path().join("precious");
        std::fs::write(&target, "the user's own file\n").unwrap();
        let link = match place {
            Planted::State => session_dir.join("state.jsonl"),
            Planted::Lock => session_dir.join("lock"),
            Planted::Log => env.data.join("logs/hook.log"),
            Planted::Mirror => {
                // The mirror's name is known once it exists: after a first turn.
                conversation.turn(0..1, |p| {
                    env.hook(p);
                });
                let rollout = env.rollouts()[0].clone();
                std::fs::rename(&rollout, rollout.with_extension("aside")).unwrap();
                rollout
            }
        };
        std::fs::create_dir_all(link.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let before = std::fs::metadata(&target).unwrap();

        let run = |p: &[u8]| {
            env.hook(p);
        };
        conversation.turn(1..3, run);
        env.hook(b"not a payload");
        let after = std::fs::metadata(&target).unwrap();
        assert_eq!(
            std::fs::read_to_string(&target).unwrap(),
            "the user's own file\n",
            "{place:?}"
        );
        assert_eq!(
            (after.mtime(), after.mtime_nsec(), after.mode()),
            (before.mtime(), before.mtime_nsec(), before.mode()),
            "{place:?}"
        );
        assert!(
            std::fs::symlink_metadata(&link).unwrap().is_symlink(),
            "{place:?}: the link was replaced"
        );
        if !matches!(place, Planted::Log) {
            assert!(!env.log_lines("ERROR").is_empty(), "{place:?}: not logged");
        }

        std::fs::remove_file(&link).unwrap();
        if let Planted::Mirror = place {
            std::fs::rename(link.with_extension("aside"), &link).unwrap();
        }
        conversation.session_end(run);
        let rollouts = env.rollouts();
        assert_eq!(rollouts.len(), 1, "{place:?}: {rollouts:?}");
        assert_mirror_at(&rollouts[0], &env.log(), &conversation.reference);
    }
}

/// A FIFO where the hook reads or writes (the transcript, the state journal, the hook log,
/// the mirror, Codex's writer lock, the project's config reached through a symlink, as a
/// cloned repository could hold) must not block the hook: it would hold up Claude Code until
/// its hook timeout.
#[test]
fn fifos_where_files_belong_do_not_block_the_hook() {
    let env = Env::new();
    env.init();
    let mut conversation = Conversation::new(&env);
    conversation.turn(0..1, |p| {
        env.hook(p);
    });
    let rollout = env.rollouts()[0].clone();
    let id = env.rollout()[0]["payload"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let s = &conversation.synth;
    let session_dir = env.data.join("sessions").join(&s.session);
    let fifo_transcript = env.root.path().join("transcript-fifo");
    make_fifo(&fifo_transcript);
    // Another session: this one's transcript offset must not apply to the FIFO.
    let mut with_fifo_transcript: Value =
        serde_json::from_slice(&s.payload("SessionEnd", json!({}))).unwrap();
    with_fifo_transcript["transcript_path"] = json!(fifo_transcript);
    with_fifo_transcript["session_id"] = json!(uuid::Uuid::new_v4().to_string());
    hook_via(
        env.command(&["hook"]),
        with_fifo_transcript.to_string().as_bytes(),
    );

    let places = [
        env.codex_home
            .join(format!("thread-writer-locks/{id}.lock")),
        rollout.clone(),
        session_dir.join("state.jsonl"),
        env.data.join("logs/hook.log"),
    ];
    for (n, place) in places.iter().enumerate() {
        std::fs::create_dir_all(place.parent().unwrap()).unwrap();
        let aside = place.with_extension("aside");
        let _ = std::fs::rename(place, &aside);
        make_fifo(place);
        let call = conversation.bash(1 + n);
        conversation.step("One more.", &call, |p| hook_via(env.command(&["hook"]), p));
        std::fs::remove_file(place).unwrap();
        let _ = std::fs::rename(&aside, place);
    }
    // The project's config, a symlink to a FIFO.
    let config = env.project.join(".session-sync/config.json");
    let real = config.with_extension("real");
    std::fs::rename(&config, &real).unwrap();
    let fifo_config = env.root.path().join("config-fifo");
    make_fifo(&fifo_config);
    std::os::unix::fs::symlink(&fifo_config, &config).unwrap();
    conversation.session_end(|p| hook_via(env.command(&["hook"]), p));
    std::fs::remove_file(&config).unwrap();
    std::fs::rename(&real, &config).unwrap();

    conversation.stop("Done.", |p| {
        env.hook(p);
    });
    assert_mirror(&env, &conversation.reference);
}

/// Everything we create, in our data directory and in Codex's store, is 0600 (files) or 0700
/// (directories), whatever the umask: the hooks run here with umask 0.
#[test]
fn everything_we_create_is_private_even_with_umask_0() {
    let env = Env::new();
    env.init();
    let command = || {
        let mut command = env.command(&["hook"]);
        // SAFETY: umask is async-signal-safe.
        unsafe {
            command.pre_exec(|| {
                libc::umask(0);
                Ok(())
            });
        }
        command
    };
    let mut conversation = Conversation::new(&env);
    conversation.prompt("Read big files.", |p| hook_via(command(), p));
    // Outputs large enough to get the state journal compacted (rewritten through a rename).
    for n in 0..4 {
        let call = Call::read(conversation.call_id(n), "z".repeat(200 * 1024));
        conversation.step("Reading.", &call, |p| hook_via(command(), p));
    }
    conversation.stop("Done.", |p| hook_via(command(), p));
    hook_via(command(), b"garbage, for a log line");
    assert!(env.log().contains("not a Claude Code hook payload"));

    let mut checked = 0;
    let mut dirs = vec![env.data.clone(), env.codex_home.join("sessions")];
    while let Some(dir) = dirs.pop() {
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700, "{}", dir.display());
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            if meta.is_dir() {
                dirs.push(path);
            } else {
                assert_eq!(
                    meta.permissions().mode() & 0o777,
                    0o600,
                    "{}",
                    path.display()
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 8, "only {checked} paths checked");
    assert_mirror(&env, &conversation.reference);
}

// ---------------------------------------------------------------------------------------------
// 6. Bounded work per hook
