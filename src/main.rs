// The hook runs after every tool call: std's start-up work for `main` (a stack guard probe
// that reads /proc/self/maps, signal handlers) is measurable there and buys the hook nothing.
#![no_main]

use std::ffi::c_int;

#[unsafe(no_mangle)]
extern "C" fn main(_argc: c_int, _argv: *const *const std::ffi::c_char) -> c_int {
    // The hook is routed before any argument parsing: Claude Code must never see a usage
    // error (exit 2) or a byte of output from it.
    if std::env::args_os().nth(1).is_some_and(|arg| arg == "hook") {
        // Under a file size limit (`ulimit -f`) a write past it must fail with EFBIG, which
        // the hook logs, rather than kill it with SIGXFSZ, which Claude Code would see.
        // SAFETY: ignoring a signal has no preconditions.
        unsafe { libc::signal(libc::SIGXFSZ, libc::SIG_IGN) };
        session_sync::hook::run();
        return 0;
    }
    // A panic must not unwind into this C frame.
    std::panic::catch_unwind(session_sync::cmd::main).unwrap_or(101)
}
