//! The bytes a child process wrote (its `write` calls), read from `/proc/<pid>/io` once it has
//! ended and before it is reaped: for the tests and the benchmarks that hold a command to
//! writing each byte once.

use std::process::Child;

/// Waits for `child` to end without reaping it (its /proc entry stays); the bytes it wrote.
/// The caller reaps it afterwards.
pub fn written_by_ended(child: &Child) -> u64 {
    let pid = child.id() as libc::pid_t;
    // SAFETY: waits for our own child without reaping it (WNOWAIT), filling a struct we own.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    let waited = unsafe {
        libc::waitid(
            libc::P_PID,
            pid as libc::id_t,
            &mut info,
            libc::WEXITED | libc::WNOWAIT,
        )
    };
    assert_eq!(waited, 0, "waitid failed");
    let io = std::fs::read_to_string(format!("/proc/{pid}/io")).unwrap_or_default();
    io.lines()
        .find_map(|line| line.strip_prefix("wchar:"))
        .and_then(|bytes| bytes.trim().parse().ok())
        .unwrap_or(0)
}
