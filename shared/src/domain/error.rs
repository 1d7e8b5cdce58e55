//! The one error type of the ports, adapters and vendor clients: it keeps its class (can it heal by itself?),
//! its kind, the operation that failed and the underlying error, so callers decide on the class and tests
//! assert on class and kind, never on message text.

use std::fmt;

/// Whether a failure can go away by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Throttling, 5xx, timeouts, dropped connections: retry through the queue.
    Retryable,
    /// Bad input, refused access, HTML instead of media: record it and stop.
    Permanent,
}

impl Class {
    /// The class of an HTTP status: timeouts (408), throttling (429, and Webex's 423), 425 and 5xx can heal;
    /// every other status will not.
    pub fn of_status(status: u16) -> Class {
        match status {
            408 | 423 | 425 | 429 | 500..=599 => Class::Retryable,
            _ => Class::Permanent,
        }
    }
}

/// What kind of thing failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Kind {
    /// An AWS service call (DynamoDB, S3, SQS, Secrets Manager).
    Aws,
    /// A vendor API answered with this HTTP status.
    Status(u16),
    /// The network: connect, timeout, dropped connection.
    Network,
    /// Credentials refused or unusable: an admin must re-authorise.
    Auth,
    /// Data that does not decode (a stored item, a vendor response, a message body).
    Data,
    /// A setting or record that cannot work (bad URL, missing credentials).
    Config,
    /// Something that should exist does not.
    NotFound,
    /// A record changed since it was read (another admin's write): read again and decide again.
    Conflict,
    /// The vendor no longer has the recording: deleted (or in its recycle bin) by someone at the vendor.
    GoneAtVendor,
    /// The vendor says the thing is not ready yet (a transcript not listed, links still expiring).
    NotReady,
    /// Anything else.
    Other,
}

type Source = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A failure with its class, kind, operation and source.
pub struct Error {
    class: Class,
    kind: Kind,
    op: Option<String>,
    message: String,
    source: Option<Source>,
    /// How long the other side asked us to wait (`Retry-After`), for a retryable failure.
    retry_after: Option<std::time::Duration>,
}

impl Error {
    pub fn new(class: Class, kind: Kind, message: impl fmt::Display) -> Self {
        Self {
            class,
            kind,
            op: None,
            message: message.to_string(),
            source: None,
            retry_after: None,
        }
    }
    /// A failure that can heal by itself.
    pub fn transient(message: impl fmt::Display) -> Self {
        Self::new(Class::Retryable, Kind::Other, message)
    }
    /// A failure that retrying cannot fix.
    pub fn permanent(message: impl fmt::Display) -> Self {
        Self::new(Class::Permanent, Kind::Other, message)
    }
    /// Data that does not decode: permanent, since the same bytes decode the same way again.
    pub fn data(message: impl fmt::Display) -> Self {
        Self::new(Class::Permanent, Kind::Data, message)
    }
    /// A vendor's answer with an HTTP status, classed by [`Class::of_status`].
    pub fn status(status: u16, message: impl fmt::Display) -> Self {
        Self::new(Class::of_status(status), Kind::Status(status), message)
    }
    /// Names the operation that failed (`GetItem(config)`, `GET /recordings/{id}`).
    pub fn op(mut self, op: impl Into<String>) -> Self {
        self.op = Some(op.into());
        self
    }
    pub fn kind_of(mut self, kind: Kind) -> Self {
        self.kind = kind;
        self
    }
    /// Keeps the underlying error (reachable through [`std::error::Error::source`]).
    pub fn caused_by(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }
    /// Records how long the other side asked us to wait before trying again.
    pub fn wait(mut self, after: std::time::Duration) -> Self {
        self.retry_after = Some(after);
        self
    }
    pub fn class(&self) -> Class {
        self.class
    }
    /// The wait the other side asked for, if any (only meaningful for a retryable failure).
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        self.retry_after
    }
    pub fn kind(&self) -> Kind {
        self.kind
    }
    pub fn operation(&self) -> Option<&str> {
        self.op.as_deref()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let class = match self.class {
            Class::Retryable => "transient",
            Class::Permanent => "permanent",
        };
        match &self.op {
            Some(op) => write!(f, "{class}: {op}: {}", self.message),
            None => write!(f, "{class}: {}", self.message),
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("class", &self.class)
            .field("kind", &self.kind)
            .field("op", &self.op)
            .field("message", &self.message)
            .field("source", &self.source)
            .finish()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn an_error_keeps_class_kind_operation_and_source() {
        let io = std::io::Error::new(std::io::ErrorKind::TimedOut, "read timed out");
        let e = Error::transient("no answer")
            .kind_of(Kind::Network)
            .op("GET /recordings")
            .caused_by(io);
        assert_eq!(e.class(), Class::Retryable);
        assert_eq!(e.kind(), Kind::Network);
        assert_eq!(e.operation(), Some("GET /recordings"));
        assert_eq!(e.source().unwrap().to_string(), "read timed out");
        assert_eq!(e.to_string(), "transient: GET /recordings: no answer");
    }

    #[test]
    fn statuses_are_classed_by_whether_they_heal() {
        for s in [408, 423, 425, 429, 500, 502, 503, 504] {
            assert_eq!(Error::status(s, "x").class(), Class::Retryable, "{s}");
        }
        for s in [400, 401, 403, 404, 410, 422] {
            let e = Error::status(s, "x");
            assert_eq!((e.class(), e.kind()), (Class::Permanent, Kind::Status(s)));
        }
        assert_eq!(Error::data("bad").kind(), Kind::Data);
    }
}
