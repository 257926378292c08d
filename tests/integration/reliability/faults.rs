//! Faults: stores and files that cannot be written, a full disk, odd HOMEs, a held lock.

use super::*;

/// True when file modes bind this process (not root, or root without CAP_DAC_OVERRIDE).
fn modes_bind(env: &Env) -> bool {
    let probe = env.root.path().join("mode-probe");
    std::fs::write(&probe, "").unwrap();
    std::fs::set_permissions(&probe, std::fs::Permissions::from_mode(0o400)).unwrap();
    let binds = std::fs::OpenOptions::new()
        .append(true)
        .open(&probe)
        .is_err();
    std::fs::remove_file(&probe).unwrap();
    binds
}

/// Codex's store cannot take a new mirror: `sessions` is read-only (mode 0500) where modes
/// bind, else (root) a regular file where the directory should be.
#[test]
fn codex_store_that_cannot_be_written_is_logged_then_caught_up() {
    let env = Env::new();
    env.init();
    let sessions = env.codex_home.join("sessions");
    let by_mode = modes_bind(&env);
    if by_mode {
        std::fs::create_dir(&sessions).unwrap();
        std::fs::set_permissions(&sessions, std::fs::Permissions::from_mode(0o500)).unwrap();
    } else {
        std::fs::write(&sessions, "not a directory").unwrap();
    }
    let mut conversation = Conversation::new(&env);
    conversation.turn(0..3, |p| {
        env.hook(p);
    });
    let errors = env.log_lines("ERROR");
    assert!(
        errors.iter().any(|e| e.contains("codex mirror")),
        "{errors:?}"
    );

    if by_mode {
        std::fs::set_permissions(&sessions, std::fs::Permissions::from_mode(0o700)).unwrap();
    } else {
        std::fs::remove_file(&sessions).unwrap();
    }
    conversation.session_end(|p| {
        env.hook(p);
    });
    assert_eq!(errors_since(&env, errors.len()), Vec::<String>::new());
    assert_mirror(&env, &conversation.reference);
}

/// An existing mirror becomes unwritable: mode 0400 where modes bind, else (root) moved aside
/// with a directory in its place. Hooks meanwhile log; once it is back, all is caught up.
#[test]
fn mirror_file_that_cannot_be_written_is_logged_then_caught_up() {
    let env = Env::new();
    env.init();
    let mut conversation = Conversation::new(&env);
    conversation.turn(0..2, |p| {
        env.hook(p);
    });
    let rollout = env.rollouts()[0].clone();
    let aside = rollout.with_extension("aside");
    let by_mode = modes_bind(&env);
    if by_mode {
        std::fs::set_permissions(&rollout, std::fs::Permissions::from_mode(0o400)).unwrap();
    } else {
        std::fs::rename(&rollout, &aside).unwrap();
        std::fs::create_dir(&rollout).unwrap();
    }
    conversation.turn(2..5, |p| {
        env.hook(p);
    });
    let errors = env.log_lines("ERROR");
    assert!(
        errors.iter().any(|e| e.contains("codex mirror")),
        "{errors:?}"
    );

    if by_mode {
        std::fs::set_permissions(&rollout, std::fs::Permissions::from_mode(0o600)).unwrap();
    } else {
        std::fs::remove_dir(&rollout).unwrap();
        std::fs::rename(&aside, &rollout).unwrap();
    }
    conversation.session_end(|p| {
        env.hook(p);
    });
    assert_eq!(errors_since(&env, errors.len()), Vec::<String>::new());
    assert_mirror(&env, &conversation.reference);
}

/// The hook with its file size limit (RLIMIT_FSIZE, what `ulimit -f` sets) at `bytes`: writes
/// past it fail with EFBIG, and SIGXFSZ would kill a process that does not ignore it.
fn with_file_size_limit(command: Command, bytes: u64) -> Command {
    with_limit(command, libc::RLIMIT_FSIZE, bytes)
}

/// Disk full, simulated with a file size limit: first the mirror's append is cut short (the
/// limit falls inside it), then nothing fits, not even the state. Once the limit is lifted,
/// the next hooks complete the torn line and catch up.
#[test]
fn disk_full_is_logged_then_caught_up() {
    let env = Env::new();
    env.init();
    let mut conversation = Conversation::new(&env);
    conversation.prompt("Read the big files.", |p| {
        env.hook(p);
    });
    // A mirror much larger than the state journal, so that a limit can fall between them.
    for n in 0..4 {
        let call = Call::read(conversation.call_id(n), "y".repeat(200 * 1024));
        conversation.step(&format!("Reading {n}."), &call, |p| {
            env.hook(p);
        });
    }
    let rollout = env.rollouts()[0].clone();
    let journal = env
        .data
        .join("sessions")
        .join(&conversation.synth.session)
        .join("state.jsonl");
    let log = env.data.join("logs/hook.log");

    // 1. The state is saved, the mirror's append stops 100 bytes in.
    let limit = size(&rollout) + 100;
    assert!(size(&journal) + 64 * 1024 < limit && size(&log) + 4096 < limit);
    let call = conversation.bash(4);
    conversation.step("Now a command.", &call, |p| {
        hook_via(with_file_size_limit(env.command(&["hook"]), limit), p)
    });
    assert_eq!(size(&rollout), limit, "the append was cut at the limit");
    let errors = env.log_lines("ERROR");
    assert!(
        errors.iter().any(|e| e.contains("File too large"))
            && !errors.iter().any(|e| e.contains("cannot save state")),
        "{errors:?}"
    );

    // 2. Nothing fits but the log line (the state journal, compacted, may be the smallest
    // file: it is the record journal, far larger, that cannot grow then).
    let limit = size(&log) + 8192;
    let records = journal.with_file_name("records.jsonl");
    assert!(limit < size(&records) && limit < size(&rollout));
    let call = conversation.bash(5);
    conversation.step("Another command.", &call, |p| {
        hook_via(with_file_size_limit(env.command(&["hook"]), limit), p)
    });
    let more = errors_since(&env, errors.len());
    // Either the record journal or the state could not be written: nothing was saved, so the
    // next hook starts again from the same place.
    assert!(
        more.iter().any(|e| e.contains("cannot save state")
            || (e.contains("cannot append to") && e.contains("records.jsonl"))),
        "{more:?}"
    );

    // Space again.
    let errors = env.log_lines("ERROR").len();
    let call = conversation.bash(6);
    conversation.step("Last command.", &call, |p| {
        env.hook(p);
    });
    conversation.stop("Done.", |p| {
        env.hook(p);
    });
    assert_eq!(errors_since(&env, errors), Vec::<String>::new());
    assert_mirror(&env, &conversation.reference);
}

/// HOME unset: with `XDG_DATA_HOME` and `CODEX_HOME` set (so that nothing can fall back to the
/// real home from the password database), the hook works as usual.
#[test]
fn home_unset_still_mirrors() {
    let env = Env::new();
    env.init();
    let xdg = env.root.path().join("xdg");
    let command = || {
        let mut command = env.command(&["hook"]);
        command
            .env_remove("HOME")
            .env_remove("SESSION_SYNC_DATA_DIR")
            .env("XDG_DATA_HOME", &xdg);
        command
    };
    let mut conversation = Conversation::new(&env);
    conversation.turn(0..3, |p| hook_via(command(), p));
    let log = std::fs::read_to_string(xdg.join("session-sync/logs/hook.log")).unwrap_or_default();
    assert!(!log.contains(" ERROR "), "{log}");
    assert_mirror_at(&env.rollouts()[0], &log, &conversation.reference);
}

/// The hook on a HOME that is `home` (relative, missing, a file…), with no variable pointing
/// elsewhere: data directory and Codex home come from HOME alone.
fn home_only(env: &Env, home: &Path) -> Command {
    let mut command = env.command(&["hook"]);
    for var in [
        "SESSION_SYNC_DATA_DIR",
        "CODEX_HOME",
        "XDG_DATA_HOME",
        "XDG_CONFIG_HOME",
        "CLAUDE_CONFIG_DIR",
    ] {
        command.env_remove(var);
    }
    command.env("HOME", home);
    command
}

/// HOME names a directory that does not exist: the hook creates only its own directories in it
/// (data directory, Codex sessions) and mirrors as usual.
#[test]
fn missing_home_gets_only_our_directories() {
    let env = Env::new();
    env.init();
    let home = env.root.path().join("no-such-home");
    let mut conversation = Conversation::new(&env);
    conversation.turn(0..3, |p| hook_via(home_only(&env, &home), p));
    let data = home.join(".local/share/session-sync");
    let log = std::fs::read_to_string(data.join("logs/hook.log")).unwrap_or_default();
    assert!(!log.contains(" ERROR "), "{log}");
    let ours = [data, home.join(".codex/sessions")];
    for (path, _) in outside(&home, &ours) {
        assert!(
            ours.iter().any(|o| o.starts_with(&path)),
            "{} created",
            path.display()
        );
    }
    let rollouts = rollouts_in(&home.join(".codex"));
    assert_mirror_at(&rollouts[0], &log, &conversation.reference);
}

/// HOME is a regular file. With our data directory elsewhere, the Codex mirror (under HOME)
/// fails and is logged; without, nothing can be written or logged, and nothing is. Once HOME
/// is a directory, the next hook mirrors everything.
#[test]
fn home_that_is_a_file_is_survived_then_caught_up() {
    for data_elsewhere in [true, false] {
        let env = Env::new();
        env.init();
        let home = env.root.path().join("home-file");
        std::fs::write(&home, "not a directory").unwrap();
        let command = || {
            let mut command = home_only(&env, &home);
            if data_elsewhere {
                command.env("SESSION_SYNC_DATA_DIR", &env.data);
            }
            command
        };
        let mut conversation = Conversation::new(&env);
        // Claude Code's transcript directory: the test writes there as Claude Code.
        let ours = [
            env.data.clone(),
            conversation.synth.transcript.parent().unwrap().into(),
        ];
        let before = outside(env.root.path(), &ours);
        conversation.turn(0..2, |p| hook_via(command(), p));
        assert_nothing_written_outside(&before, &outside(env.root.path(), &ours));
        if data_elsewhere {
            let errors = env.log_lines("ERROR");
            assert!(
                errors.iter().any(|e| e.contains("codex mirror")),
                "{errors:?}"
            );
        } else {
            assert!(!env.data.exists());
        }

        std::fs::remove_file(&home).unwrap();
        std::fs::create_dir(&home).unwrap();
        conversation.session_end(|p| hook_via(command(), p));
        let data = if data_elsewhere {
            env.data.clone()
        } else {
            home.join(".local/share/session-sync")
        };
        let log = std::fs::read_to_string(data.join("logs/hook.log")).unwrap_or_default();
        let rollouts = rollouts_in(&home.join(".codex"));
        assert_eq!(rollouts.len(), 1, "{rollouts:?}");
        assert_mirror_at(&rollouts[0], &log, &conversation.reference);
    }
}

/// A relative HOME would put our state wherever the hook runs, i.e. in the user's project:
/// the hook must write nothing then, and mirror everything once HOME is absolute again.
#[test]
fn relative_home_writes_nothing_then_caught_up() {
    let env = Env::new();
    env.init();
    let mut conversation = Conversation::new(&env);
    let claude = [conversation
        .synth
        .transcript
        .parent()
        .unwrap()
        .to_path_buf()];
    let before = outside(env.root.path(), &claude);
    conversation.turn(0..2, |p| {
        hook_via(home_only(&env, Path::new("relative-home")), p)
    });
    assert_nothing_written_outside(&before, &outside(env.root.path(), &claude));

    conversation.session_end(|p| hook_via(home_only(&env, &env.home), p));
    let rollouts = rollouts_in(&env.codex_home);
    let log = std::fs::read_to_string(env.home.join(".local/share/session-sync/logs/hook.log"))
        .unwrap_or_default();
    assert_mirror_at(&rollouts[0], &log, &conversation.reference);
}

/// Codex holds the session's writer lock while a batch of parallel calls and a Stop run: they
/// append nothing and log nothing; the first hook after Codex lets go catches up, in order.
#[test]
fn codex_writer_lock_held_through_concurrent_hooks() {
    use fs2::FileExt;
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
    let locks = env.codex_home.join("thread-writer-locks");
    std::fs::create_dir_all(&locks).unwrap();
    let lock = std::fs::File::create(locks.join(format!("{id}.lock"))).unwrap();
    lock.lock_exclusive().unwrap();
    let before = std::fs::read(&rollout).unwrap();

    conversation.prompt("Now in parallel.", |p| {
        env.hook(p);
    });
    let s = &conversation.synth;
    let calls: Vec<Call> = (1..9).map(|n| conversation.bash(n)).collect();
    let mut lines = vec![s.text_line("msg_parallel", "Eight at once.")];
    lines.extend(calls.iter().map(|c| s.tool_use_line("msg_parallel", c)));
    s.append(&lines);
    let children: Vec<_> = calls
        .iter()
        .map(|c| env.spawn_hook(&s.post_tool_use(c)))
        .collect();
    for child in children {
        assert_silent_success(&child.wait_with_output().unwrap());
    }
    s.append(
        &calls
            .iter()
            .map(|c| s.tool_result_line(c))
            .collect::<Vec<_>>(),
    );
    conversation
        .reference
        .push(Said::Assistant("Eight at once.".into()));
    conversation
        .reference
        .extend(calls.iter().map(|c| c.said()[0].clone()));
    conversation
        .reference
        .extend(calls.iter().map(|c| c.said()[1].clone()));
    conversation.stop("All eight done.", |p| {
        env.hook(p);
    });
    assert_eq!(
        std::fs::read(&rollout).unwrap(),
        before,
        "appended while Codex held its lock"
    );
    assert_eq!(env.log_lines("ERROR"), Vec::<String>::new());

    FileExt::unlock(&lock).unwrap();
    conversation.session_end(|p| {
        env.hook(p);
    });
    assert_eq!(env.log_lines("ERROR"), Vec::<String>::new());
    assert_mirror(&env, &conversation.reference);
}

// ---------------------------------------------------------------------------------------------
// 5. Hostile input
