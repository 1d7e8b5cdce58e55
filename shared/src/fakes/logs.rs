//! Captures what the current thread logs, so tests can assert that no secret reaches a log line.

use std::cell::RefCell;
use std::sync::{Arc, Mutex, Once};

thread_local! {
    static CAPTURE: RefCell<Option<Arc<Mutex<Vec<u8>>>>> = const { RefCell::new(None) };
}

/// Writes log lines to this thread's capture buffer, if any.
struct ThreadWriter;

impl std::io::Write for ThreadWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        CAPTURE.with(|c| {
            if let Some(c) = &*c.borrow() {
                c.lock().unwrap().extend_from_slice(buf);
            }
        });
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs the one process-wide capturing subscriber. Fixtures call it before any test logs, so that no
/// callsite is cached as disabled by a test that ran without a subscriber.
pub fn install_log_subscriber() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        let subscriber = tracing_subscriber::fmt()
            .with_writer(|| ThreadWriter)
            .with_ansi(false)
            .finish();
        let _ = tracing::subscriber::set_global_default(subscriber);
    });
}

/// Returns the buffer that keeps what this thread logs from now on. Use it with a current-thread runtime
/// (`#[tokio::test]`), whose tasks run on the test's thread.
pub fn capture_logs() -> Arc<Mutex<Vec<u8>>> {
    install_log_subscriber();
    let buf = Arc::new(Mutex::new(Vec::new()));
    CAPTURE.with(|c| *c.borrow_mut() = Some(buf.clone()));
    buf
}

#[cfg(test)]
mod tests {
    #[test]
    fn what_this_thread_logs_is_captured() {
        let buf = super::capture_logs();
        tracing::warn!(connection = "c1", "something to see");
        let text = String::from_utf8(buf.lock().unwrap().clone()).unwrap();
        assert!(
            text.contains("something to see") && text.contains("c1"),
            "{text}"
        );
    }
}
