//! The interactive Claude Code TUI, driven in a private tmux server (not `claude -p`).

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use super::env::TestEnv;

pub struct Tmux {
    socket: PathBuf,
}

impl Tmux {
    /// Starts `program args` in a detached 200×50 window, in the env's project and environment.
    pub fn start(env: &TestEnv, program: &std::path::Path, args: &[&str]) -> Tmux {
        let tmux = Tmux {
            socket: env.root.join("tmux.sock"),
        };
        let mut command = env.command("tmux");
        command
            .arg("-S")
            .arg(&tmux.socket)
            .args(["new-session", "-d", "-x", "200", "-y", "50", "-s", "tui"])
            .args(["-e", "TERM=xterm-256color"])
            .arg(program)
            .args(args);
        let status = command.status().expect("tmux (apt-get install tmux)");
        assert!(status.success(), "tmux new-session failed");
        tmux
    }

    fn tmux(&self) -> Command {
        let mut command = Command::new("tmux");
        command.arg("-S").arg(&self.socket);
        command
    }

    /// What the window shows now.
    pub fn screen(&self) -> String {
        let out = self
            .tmux()
            .args(["capture-pane", "-p", "-t", "tui"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Types `text`, then Enter.
    pub fn type_line(&self, text: &str) {
        let send = |args: &[&str]| {
            let status = self
                .tmux()
                .args(["send-keys", "-t", "tui"])
                .args(args)
                .status()
                .unwrap();
            assert!(status.success());
        };
        send(&["-l", text]);
        // The TUI takes a burst of keys as a paste: Enter on its own.
        std::thread::sleep(Duration::from_millis(300));
        send(&["Enter"]);
    }

    /// Waits up to `limit` for `done`, which sees the screen; panics showing it otherwise.
    pub fn wait(&self, what: &str, limit: Duration, done: impl Fn(&str) -> bool) {
        let deadline = Instant::now() + limit;
        loop {
            let screen = self.screen();
            if done(&screen) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "waited {limit:?} for {what}; the TUI shows:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// True while the TUI's process runs.
    pub fn alive(&self) -> bool {
        self.tmux()
            .args(["has-session", "-t", "tui"])
            .output()
            .is_ok_and(|o| o.status.success())
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.tmux().arg("kill-server").output();
    }
}
