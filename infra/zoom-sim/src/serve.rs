//! Serving a simulator on 127.0.0.1 and the small HTTP helpers both simulators share.

use percent_encoding::percent_decode_str;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A router served on a listener in the background until [`Server::shutdown`] or drop.
pub struct Server {
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl Server {
    /// Serves `app` on `listener`; `name` labels the log line of a server error.
    pub fn spawn(name: &'static str, listener: tokio::net::TcpListener, app: axum::Router) -> Self {
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async move {
                let _ = stopped.await;
            });
            if let Err(e) = serve.await {
                tracing::warn!(error = %e, server = name, "simulator stopped with an error");
            }
        });
        Self {
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// Stop serving and wait (up to 5 s) for the server task to end.
    pub async fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(mut task) = self.task.take()
            && tokio::time::timeout(std::time::Duration::from_secs(5), &mut task)
                .await
                .is_err()
        {
            task.abort();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// `application/x-www-form-urlencoded` → pairs, in order (`+` is a space).
pub fn query_pairs(q: Option<&str>) -> Vec<(String, String)> {
    let dec = |s: &str| {
        percent_decode_str(&s.replace('+', " "))
            .decode_utf8_lossy()
            .into_owned()
    };
    q.unwrap_or("")
        .split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| match kv.split_once('=') {
            Some((k, v)) => (dec(k), dec(v)),
            None => (dec(kv), String::new()),
        })
        .collect()
}
