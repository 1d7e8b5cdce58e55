//! `zoom-sim`: an in-process stand-in for Zoom, for tests and the demo.
//!
//! It behaves like Zoom where our importer can tell (see the project's protocol
//! reference, sections 1–4):
//!
//! - webhooks: [`sign`] / [`deliver`] produce exactly what Zoom POSTs, and
//!   [`SimRecording::recording_completed_body`] / [`SimRecording::transcript_completed_body`]
//!   the raw JSON bodies;
//! - downloads: `GET {api_base}/rec/download/{file_id}` wants `Authorization: Bearer`
//!   with a valid token and answers **302** to a signed URL on a *different host*
//!   (`cdn_base`); every refusal is **HTTP 200 with an HTML page**, as on Zoom;
//! - the CDN (`GET {cdn_base}/cdn/{file_id}?Policy=…&Signature=…&Key-Pair-Id=…`) streams
//!   deterministic bytes, supports `Range: bytes=N-`, and counts any `Authorization`
//!   header that leaks to it;
//! - `GET /v2/meetings/{meetingId}/recordings` with Zoom's double-encoding rules for
//!   instance UUIDs and `include_fields=download_access_token`;
//! - per-file fault injection ([`Fault`]) and per-file statistics ([`FileStats`]).
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use zoom_sim::{RecordingSpec, ZoomSim};
//! let sim = ZoomSim::start().await?;
//! let rec = sim.add_recording(RecordingSpec::realistic("demo", 64 * 1024));
//! let body = rec.recording_completed_body();
//! let ts = zoom_sim::unix_now();
//! let (status, _) =
//!     zoom_sim::deliver(&reqwest::Client::new(), "http://127.0.0.1:9/webhook", "secret", ts, &body)
//!         .await?;
//! # let _ = status; Ok(()) }
//! ```

mod content;
mod payload;
mod serve;
mod server;
mod signing;
mod spec;

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use anyhow::Context as _;
use rand::Rng as _;

pub use content::{ContentKind, Generator, content_type_for};
pub use serve::{Server, query_pairs};
pub use signing::{
    ZOOM_USER_AGENT, deliver, expected_encrypted_token, jwt_claims, jwt_exp, random_plain_token,
    sign, test_vector, unix_now, url_validation_body,
};
pub use spec::{FileSpec, RecordingSpec};

use payload::{Envelope, ObjectCtx, Payload};

/// Lifetime of a webhook `download_token` (Zoom: about 24 hours).
pub const DOWNLOAD_TOKEN_TTL_SECS: i64 = 24 * 3600;
/// Lifetime of an API (OAuth) token from [`ZoomSim::issue_api_token`].
pub const API_TOKEN_TTL_SECS: i64 = 3600;
/// Default `ttl` of a `download_access_token` from the REST API.
pub const DEFAULT_ACCESS_TOKEN_TTL_SECS: i64 = 24 * 3600;
/// Largest `ttl` Zoom accepts (7 days).
pub const MAX_ACCESS_TOKEN_TTL_SECS: i64 = 604_800;

/// A fault injected for one file. Times-limited faults clear themselves once used up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// `/rec/download` always answers the HTML page, even with a good token.
    Html200,
    /// The next `times` `/rec/download` requests get 429 with `Retry-After`
    /// (seconds), `X-RateLimit-Type: QPS` and Zoom's JSON body.
    RateLimited { times: u32, retry_after_secs: u64 },
    /// The next `times` `/rec/download` requests get 503.
    ServerError { times: u32 },
    /// The next `times` CDN responses promise the full `Content-Length` and close the
    /// connection after `bytes` bytes of body.
    DropAfter { bytes: u64, times: u32 },
    /// The file is gone: `/rec/download` answers the HTML page, the CDN 404, and the
    /// REST API leaves it out.
    Deleted,
    /// Every CDN response waits `millis` before sending its headers.
    SlowStart { millis: u64 },
}

/// What the simulator saw and did for one file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FileStats {
    /// Requests to `/rec/download/{id}` (API host).
    pub download_requests: u64,
    /// Requests to `/cdn/{id}` (CDN host).
    pub cdn_requests: u64,
    /// 302 redirects to the CDN.
    pub redirects: u64,
    /// HTML-200 refusals (bad/missing/revoked/expired token, token in query, deleted,
    /// [`Fault::Html200`]).
    pub html_responses: u64,
    /// CDN requests that carried an `Authorization` header (each answered 400).
    pub auth_leaks: u64,
    /// CDN requests refused for a missing, bad or expired signature (403).
    pub bad_signatures: u64,
    /// 429s sent.
    pub rate_limited: u64,
    /// 503s sent.
    pub server_errors: u64,
    /// CDN responses cut short on purpose ([`Fault::DropAfter`]).
    pub dropped_connections: u64,
    /// CDN responses answered 206 to a `Range` request.
    pub range_requests: u64,
    /// Body bytes handed to the connection by the CDN.
    pub bytes_served: u64,
    /// CDN bodies streamed to their end (full file or range to end).
    pub complete_bodies: u64,
    /// The bearer token of the last `/rec/download` request, if any.
    pub last_bearer: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Scope {
    /// Download token for one recording (by uuid).
    Recording(String),
    /// OAuth access token: REST API and any download.
    Api,
}

#[derive(Clone, Debug)]
pub(crate) struct Grant {
    pub scope: Scope,
    pub exp: i64,
    pub revoked: bool,
}

pub(crate) struct FileEntry {
    pub uuid: String,
    pub spec: FileSpec,
    pub generator: Generator,
    pub file_name: String,
    pub fault: Option<Fault>,
    pub stats: FileStats,
}

pub(crate) struct RecEntry {
    pub spec: RecordingSpec,
    pub share_url: String,
    pub password: String,
    pub play_passcode: String,
}

#[derive(Default)]
pub(crate) struct State {
    pub recordings: HashMap<String, RecEntry>,
    pub files: HashMap<String, FileEntry>,
    pub tokens: HashMap<String, Grant>,
}

pub(crate) struct Shared {
    state: Mutex<State>,
    pub api_base: String,
    pub cdn_base: String,
    pub token_key: [u8; 32],
    pub cdn_key: [u8; 32],
}

impl Shared {
    /// Lock the state. Never held across an `.await`.
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn issue_token(&self, scope: Scope, ttl_secs: i64) -> String {
        let now = unix_now();
        let jti: [u8; 16] = rand::rng().random();
        let (token_type, sub) = match &scope {
            Scope::Recording(uuid) => ("recording_download", uuid.clone()),
            Scope::Api => ("access_token", "s2s".to_owned()),
        };
        let claims = serde_json::json!({
            "iss": "zoom-sim",
            "aud": "https://oauth.zoom.us",
            "sub": sub,
            "tokenType": token_type,
            "iat": now,
            "exp": now + ttl_secs,
            "jti": hex::encode(jti),
        });
        let token = signing::make_jwt(&self.token_key, &claims);
        self.lock().tokens.insert(
            token.clone(),
            Grant {
                scope,
                exp: now + ttl_secs,
                revoked: false,
            },
        );
        token
    }
}

/// One file of a [`SimRecording`]: the spec plus what a test needs to check a download.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimFile {
    pub id: String,
    pub file_type: String,
    pub file_extension: String,
    pub recording_type: String,
    pub recording_start: chrono::DateTime<chrono::Utc>,
    pub recording_end: chrono::DateTime<chrono::Utc>,
    pub size: u64,
    pub seed: u64,
    /// Lower-case hex SHA-256 of the whole content.
    pub sha256: String,
    /// `{api_base}/rec/download/{id}`, plus a query on re-deliveries.
    pub download_url: String,
    /// `Content-Type` the CDN serves.
    pub content_type: String,
    /// File name in the CDN's `Content-Disposition`.
    pub file_name: String,
    /// Served from the transcript event rather than `recording.completed`.
    pub is_transcript: bool,
    kind: ContentKind,
}

impl SimFile {
    /// The content bytes at `offset..offset + len` (clamped to the end), for checking
    /// partial or resumed downloads.
    pub fn bytes_at(&self, offset: u64, len: usize) -> Vec<u8> {
        self.generator().bytes(offset, len)
    }

    /// How the content looks (binary, VTT, chat text).
    pub fn content_kind(&self) -> ContentKind {
        self.kind
    }

    fn generator(&self) -> Generator {
        Generator {
            kind: self.kind,
            seed: self.seed,
            size: self.size,
        }
    }

    fn spec(&self) -> FileSpec {
        FileSpec {
            id: self.id.clone(),
            file_type: self.file_type.clone(),
            file_extension: self.file_extension.clone(),
            recording_type: self.recording_type.clone(),
            recording_start: self.recording_start,
            recording_end: self.recording_end,
            size: self.size,
            seed: self.seed,
        }
    }
}

/// A recording registered with the simulator: its spec, its tokens, its files with
/// their hashes, and the webhook bodies Zoom would send for it.
#[derive(Clone)]
pub struct SimRecording {
    pub account_id: String,
    pub host_id: String,
    pub host_email: String,
    pub topic: String,
    pub meeting_id: u64,
    pub uuid: String,
    pub object_type: u32,
    pub start_time: chrono::DateTime<chrono::Utc>,
    pub timezone: String,
    /// `download_token` of this delivery of `recording.completed` (JWT-shaped, `exp`
    /// 24 h ahead).
    pub download_token: String,
    /// `download_token` of `recording.transcript_completed`.
    pub transcript_download_token: String,
    pub share_url: String,
    pub password: String,
    pub recording_play_passcode: String,
    /// Query on this delivery's `download_url`s (`None` for the first delivery).
    pub url_query: Option<String>,
    files: Vec<SimFile>,
    api_base: String,
    shared: Arc<Shared>,
}

impl fmt::Debug for SimRecording {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimRecording")
            .field("uuid", &self.uuid)
            .field("meeting_id", &self.meeting_id)
            .field("topic", &self.topic)
            .field("object_type", &self.object_type)
            .field("download_token", &self.download_token)
            .field("url_query", &self.url_query)
            .field("files", &self.files)
            .finish_non_exhaustive()
    }
}

impl SimRecording {
    /// All files, transcript included.
    pub fn files(&self) -> &[SimFile] {
        &self.files
    }

    /// The files `recording.completed` carries: everything but the transcript (video,
    /// audio, chat, timeline, …).
    pub fn media_files(&self) -> Vec<&SimFile> {
        self.files.iter().filter(|f| !f.is_transcript).collect()
    }

    /// The transcript, delivered by `recording.transcript_completed`.
    pub fn transcript_file(&self) -> Option<&SimFile> {
        self.files.iter().find(|f| f.is_transcript)
    }

    /// One file by id.
    pub fn file(&self, id: &str) -> Option<&SimFile> {
        self.files.iter().find(|f| f.id == id)
    }

    /// The spec this recording was registered with.
    pub fn spec(&self) -> RecordingSpec {
        RecordingSpec {
            account_id: self.account_id.clone(),
            host_id: self.host_id.clone(),
            host_email: self.host_email.clone(),
            topic: self.topic.clone(),
            meeting_id: self.meeting_id,
            uuid: self.uuid.clone(),
            object_type: self.object_type,
            start_time: self.start_time,
            timezone: self.timezone.clone(),
            files: self.files.iter().map(SimFile::spec).collect(),
        }
    }

    /// The raw JSON Zoom POSTs for `recording.completed` (`event_ts` = now).
    pub fn recording_completed_body(&self) -> String {
        self.event_body(
            "recording.completed",
            &self.download_token,
            self.files.iter().filter(|f| !f.is_transcript),
        )
    }

    /// The raw JSON Zoom POSTs for `recording.transcript_completed`: the same object
    /// with only the transcript file and its own `download_token`.
    pub fn transcript_completed_body(&self) -> String {
        self.event_body(
            "recording.transcript_completed",
            &self.transcript_download_token,
            self.files.iter().filter(|f| f.is_transcript),
        )
    }

    /// A re-delivery as Zoom's duplicates look: new `download_token`s (the old ones stay
    /// valid) and a different query on every `download_url`.
    pub fn with_fresh_token(&self) -> SimRecording {
        let scope = Scope::Recording(self.uuid.clone());
        let mut next = self.clone();
        next.download_token = self
            .shared
            .issue_token(scope.clone(), DOWNLOAD_TOKEN_TTL_SECS);
        next.transcript_download_token = self.shared.issue_token(scope, DOWNLOAD_TOKEN_TTL_SECS);
        let nonce: [u8; 8] = rand::rng().random();
        let query = format!("dt={}", hex::encode(nonce));
        for f in &mut next.files {
            f.download_url = payload::download_url(&self.api_base, &f.id, Some(&query));
        }
        next.url_query = Some(query);
        next
    }

    fn event_body<'a>(
        &self,
        event: &str,
        token: &str,
        files: impl Iterator<Item = &'a SimFile>,
    ) -> String {
        let spec = self.spec();
        let specs: Vec<FileSpec> = files.map(SimFile::spec).collect();
        let object = payload::recording_object(
            &spec,
            &specs,
            &ObjectCtx {
                api_base: &self.api_base,
                url_query: self.url_query.as_deref(),
                share_url: &self.share_url,
                password: &self.password,
                play_passcode: &self.recording_play_passcode,
                type_as_string: false,
            },
        );
        let env = Envelope {
            event,
            event_ts: chrono::Utc::now().timestamp_millis(),
            download_token: token,
            payload: Payload {
                account_id: &self.account_id,
                object,
            },
        };
        serde_json::to_string(&env).expect("payload serializes")
    }
}

/// Encode a meeting id or instance UUID for `/v2/meetings/{meetingId}/…` as Zoom
/// requires: double URL-encoded when it starts with `/` or contains `//`, otherwise
/// encoded once (`/`, `+`, `=` always escaped).
pub fn encode_meeting_id(uuid: &str) -> String {
    let once = payload::encode_segment(uuid);
    if uuid.starts_with('/') || uuid.contains("//") {
        payload::encode_segment(&once)
    } else {
        once
    }
}

/// The running simulator. Serves on 127.0.0.1 until dropped or [`ZoomSim::shutdown`].
pub struct ZoomSim {
    shared: Arc<Shared>,
    addr: SocketAddr,
    server: Server,
}

impl fmt::Debug for ZoomSim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ZoomSim").field("addr", &self.addr).finish()
    }
}

impl ZoomSim {
    /// Start on an ephemeral port of 127.0.0.1. Needs a Tokio runtime.
    pub async fn start() -> anyhow::Result<ZoomSim> {
        Self::start_on_port(0).await
    }

    /// Start on a given port of 127.0.0.1 (0 = any free port).
    pub async fn start_on_port(port: u16) -> anyhow::Result<ZoomSim> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .with_context(|| format!("binding 127.0.0.1:{port}"))?;
        let addr = listener.local_addr()?;
        let mut rng = rand::rng();
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            api_base: format!("http://127.0.0.1:{}", addr.port()),
            cdn_base: format!("http://localhost:{}", addr.port()),
            token_key: rng.random(),
            cdn_key: rng.random(),
        });
        let server = Server::spawn("zoom-sim", listener, server::router(shared.clone()));
        tracing::debug!(%addr, "zoom-sim listening");
        Ok(ZoomSim {
            shared,
            addr,
            server,
        })
    }

    /// `http://127.0.0.1:<port>`: REST API and `/rec/download`.
    pub fn api_base(&self) -> String {
        self.shared.api_base.clone()
    }

    /// `http://localhost:<port>`: the same server under another host name, used as the
    /// CDN that `/rec/download` redirects to.
    pub fn cdn_base(&self) -> String {
        self.shared.cdn_base.clone()
    }

    /// The socket address served.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Register a recording and its files, computing each file's SHA-256 by streaming
    /// its generator once. Issues a `download_token` for `recording.completed` and another
    /// for `recording.transcript_completed`. A file id registered before is replaced.
    pub fn add_recording(&self, spec: RecordingSpec) -> SimRecording {
        let api_base = self.shared.api_base.clone();
        let files: Vec<SimFile> = spec
            .files
            .iter()
            .map(|f| {
                let kind = ContentKind::for_file(&f.file_type, &f.file_extension);
                let generator = Generator {
                    kind,
                    seed: f.seed,
                    size: f.size,
                };
                SimFile {
                    id: f.id.clone(),
                    file_type: f.file_type.clone(),
                    file_extension: f.file_extension.clone(),
                    recording_type: f.recording_type.clone(),
                    recording_start: f.recording_start,
                    recording_end: f.recording_end,
                    size: f.size,
                    seed: f.seed,
                    sha256: generator.sha256_hex(),
                    download_url: payload::download_url(&api_base, &f.id, None),
                    content_type: content_type_for(&f.file_extension).to_owned(),
                    file_name: file_name(f),
                    is_transcript: f.is_transcript(),
                    kind,
                }
            })
            .collect();

        let mut rng = rand::rng();
        let share_id: [u8; 24] = rng.random();
        let passcode: [u8; 24] = rng.random();
        let share_url = format!(
            "{api_base}/rec/share/{}",
            base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, share_id)
        );
        let password = {
            let p: [u8; 6] = rng.random();
            format!(
                "{}#1",
                base64::Engine::encode(&base64::engine::general_purpose::STANDARD, p)
            )
        };
        let play_passcode =
            base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, passcode);

        {
            let mut st = self.shared.lock();
            for f in &files {
                st.files.insert(
                    f.id.clone(),
                    FileEntry {
                        uuid: spec.uuid.clone(),
                        spec: f.spec(),
                        generator: f.generator(),
                        file_name: f.file_name.clone(),
                        fault: None,
                        stats: FileStats::default(),
                    },
                );
            }
            st.recordings.insert(
                spec.uuid.clone(),
                RecEntry {
                    spec: spec.clone(),
                    share_url: share_url.clone(),
                    password: password.clone(),
                    play_passcode: play_passcode.clone(),
                },
            );
        }

        let scope = Scope::Recording(spec.uuid.clone());
        SimRecording {
            download_token: self
                .shared
                .issue_token(scope.clone(), DOWNLOAD_TOKEN_TTL_SECS),
            transcript_download_token: self.shared.issue_token(scope, DOWNLOAD_TOKEN_TTL_SECS),
            account_id: spec.account_id,
            host_id: spec.host_id,
            host_email: spec.host_email,
            topic: spec.topic,
            meeting_id: spec.meeting_id,
            uuid: spec.uuid,
            object_type: spec.object_type,
            start_time: spec.start_time,
            timezone: spec.timezone,
            share_url,
            password,
            recording_play_passcode: play_passcode,
            url_query: None,
            files,
            api_base,
            shared: self.shared.clone(),
        }
    }

    /// Inject a fault for one file (replaces any earlier one).
    pub fn set_fault(&self, file_id: &str, fault: Fault) {
        if let Some(f) = self.shared.lock().files.get_mut(file_id) {
            f.fault = Some(fault);
        }
    }

    /// Remove a file's fault.
    pub fn clear_fault(&self, file_id: &str) {
        if let Some(f) = self.shared.lock().files.get_mut(file_id) {
            f.fault = None;
        }
    }

    /// What the server saw for one file (all zero for an unknown id).
    pub fn stats(&self, file_id: &str) -> FileStats {
        self.shared
            .lock()
            .files
            .get(file_id)
            .map(|f| f.stats.clone())
            .unwrap_or_default()
    }

    /// Revoke a token: later downloads with it get the HTML page, API calls 401.
    pub fn revoke_token(&self, token: &str) {
        if let Some(g) = self.shared.lock().tokens.get_mut(token) {
            g.revoked = true;
        }
    }

    /// An OAuth (Server-to-Server) access token, valid for an hour: accepted by the REST
    /// API and, as on Zoom, for any download.
    pub fn issue_api_token(&self) -> String {
        self.shared.issue_token(Scope::Api, API_TOKEN_TTL_SECS)
    }

    /// A fresh download token for a recording, valid `ttl_secs` (negative = already
    /// expired, for token-refresh tests).
    pub fn issue_download_token(&self, uuid: &str, ttl_secs: i64) -> String {
        self.shared
            .issue_token(Scope::Recording(uuid.to_owned()), ttl_secs)
    }

    /// Stop serving and wait (up to 5 s) for the server task to end.
    pub async fn shutdown(mut self) {
        self.server.shutdown().await;
    }
}

/// The name Zoom's CDN gives a file, e.g. `GMT20260105-090110_Recording_gallery_view.mp4`.
fn file_name(f: &FileSpec) -> String {
    let stamp = f.recording_start.format("GMT%Y%m%d-%H%M%S");
    let ext = f.file_extension.to_ascii_lowercase();
    match f.file_type.to_ascii_uppercase().as_str() {
        "TRANSCRIPT" => format!("{stamp}_Recording.transcript.{ext}"),
        "CC" => format!("{stamp}_Recording.cc.{ext}"),
        "CHAT" => format!("{stamp}_RecordingnewChat.{ext}"),
        "TIMELINE" => format!("{stamp}_Recording.timeline.{ext}"),
        "M4A" => format!("{stamp}_Recording.{ext}"),
        _ => {
            let view: String = f
                .recording_type
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                .collect();
            format!("{stamp}_Recording_{view}.{ext}")
        }
    }
}
