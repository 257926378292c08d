//! Stress: 32 concurrent hooks on one session.

use super::*;

/// Rounds of 32 parallel calls (`SESSION_SYNC_STRESS_ROUNDS`, 20 by default). Odd rounds flush
/// the calls' lines to the transcript only while the hooks run, so that they wait and race for
/// the lock again; then a Stop.
#[test]
fn concurrent_hooks_write_every_call_exactly_once() {
    const PARALLEL: usize = 32;
    let rounds = setting("SESSION_SYNC_STRESS_ROUNDS", 20) as usize;
    let started = Instant::now();
    let env = Env::new();
    env.init();
    let mut conversation = Conversation::new(&env);
    conversation.prompt("Run everything at once.", |p| {
        env.hook(p);
    });
    // The listings index is there: every hook keeps it (checked at the end).
    env.listings();
    let s = &conversation.synth;
    let mut reference = conversation.reference.clone();
    for round in 0..rounds {
        let message = format!("msg_round_{round}");
        let text = format!("Round {round}: {PARALLEL} commands in parallel.");
        let calls: Vec<Call> = (0..PARALLEL)
            .map(|i| conversation.bash(round * PARALLEL + i))
            .collect();
        let mut lines = vec![s.text_line(&message, &text)];
        lines.extend(calls.iter().map(|c| s.tool_use_line(&message, c)));
        reference.push(Said::Assistant(text));
        reference.extend(calls.iter().map(|c| c.said()[0].clone()));
        reference.extend(calls.iter().map(|c| c.said()[1].clone()));

        let lagging = round % 2 == 1;
        if !lagging {
            s.append(&lines);
        }
        let children: Vec<_> = calls
            .iter()
            .map(|c| env.spawn_hook(&s.post_tool_use(c)))
            .collect();
        if lagging {
            // Claude Code's flush arrives while the hooks wait for it.
            std::thread::sleep(Duration::from_millis(40));
            s.append(&lines);
        }
        for child in children {
            assert_silent_success(&child.wait_with_output().unwrap());
        }
        // Claude Code writes the results once every hook of the batch has returned.
        let results: Vec<Value> = calls.iter().rev().map(|c| s.tool_result_line(c)).collect();
        s.append(&results);
    }
    conversation.reference = reference;
    conversation.stop("All rounds done.", |p| {
        env.hook(p);
    });
    assert_eq!(env.log_lines("ERROR"), Vec::<String>::new());
    assert_mirror(&env, &conversation.reference);
    env.listings();
    eprintln!(
        "stress: {rounds} rounds of {PARALLEL} concurrent hooks ({} calls), {} WARN, {:.1} s",
        rounds * PARALLEL,
        env.log_lines("WARN").len(),
        started.elapsed().as_secs_f64()
    );
}

// ---------------------------------------------------------------------------------------------
// 3. Crash: SIGKILL at random points
