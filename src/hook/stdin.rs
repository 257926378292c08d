//! Reads the hook payload from stdin without ever blocking for long.

use std::io::Read;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

/// Payloads larger than this are not parsed (the transcript catches up on what they carried).
const MAX_PAYLOAD: usize = 64 << 20;
/// Claude Code writes the payload at once and closes stdin; anything slower is not Claude Code.
const READ_TIMEOUT: Duration = Duration::from_secs(5);

/// Reads stdin to EOF within a time bound. An oversized payload is drained and dropped.
pub fn read_all() -> Result<Vec<u8>, &'static str> {
    let stdin = std::io::stdin();
    let fd = stdin.as_raw_fd();
    // SAFETY: isatty only inspects the descriptor.
    if unsafe { libc::isatty(fd) } == 1 {
        return Err("stdin is a terminal: `session-sync hook` is run by Claude Code, not by hand");
    }
    let deadline = Instant::now() + READ_TIMEOUT;
    let mut input = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    let mut oversized = false;
    let mut lock = stdin.lock();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || !readable(fd, left) {
            return Err("stdin was not closed within 5 s");
        }
        match lock.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => {
                if !oversized {
                    input.extend_from_slice(&chunk[..n]);
                    if input.len() > MAX_PAYLOAD {
                        oversized = true;
                        input = Vec::new();
                    }
                }
            }
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return Err("stdin could not be read"),
        }
    }
    if oversized {
        Err("payload over 64 MiB dropped; the transcript will catch up")
    } else {
        Ok(input)
    }
}

fn readable(fd: i32, timeout: Duration) -> bool {
    let mut poll = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    let millis = timeout.as_millis().min(i32::MAX as u128) as i32;
    // SAFETY: one valid pollfd for the duration of the call.
    let ready = unsafe { libc::poll(&mut poll, 1, millis) };
    ready > 0
}
