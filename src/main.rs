fn main() {
    // The hook is routed before any argument parsing: Claude Code must never see a usage
    // error (exit 2) or a byte of output from it.
    if std::env::args_os().nth(1).is_some_and(|arg| arg == "hook") {
        session_sync::hook::run();
        std::process::exit(0);
    }
    std::process::exit(session_sync::cmd::main());
}
