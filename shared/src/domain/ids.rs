//! Identifiers as parse-don't-validate newtypes.
//!
//! Every id that reaches the domain has been checked once, here; afterwards the type says it is valid.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Why an identifier was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct InvalidId {
    pub field: &'static str,
    pub reason: String,
}

fn invalid(field: &'static str, reason: impl Into<String>) -> InvalidId {
    InvalidId {
        field,
        reason: reason.into(),
    }
}

/// A short, admin-chosen slug: lower-case letters, digits and `-`, 1 to 64 characters, starting with a letter
/// or digit. Used for tenants, connections and users so they can appear in S3 keys and URLs unchanged.
fn check_slug(field: &'static str, s: &str) -> Result<(), InvalidId> {
    if s.is_empty() || s.len() > 64 {
        return Err(invalid(field, "must be 1 to 64 characters"));
    }
    if !s
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err(invalid(
            field,
            format!("'{s}' may only hold lower-case letters, digits and '-'"),
        ));
    }
    if s.starts_with('-') {
        return Err(invalid(field, format!("'{s}' must not start with '-'")));
    }
    Ok(())
}

/// A string newtype checked once by `$check` when parsed (and when deserialised).
macro_rules! checked_id {
    ($(#[$doc:meta])* $name:ident, $field:literal, $check:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn parse(s: impl Into<String>) -> Result<Self, InvalidId> {
                let s = s.into();
                $check($field, &s)?;
                Ok(Self(s))
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl TryFrom<String> for $name {
            type Error = InvalidId;
            fn try_from(s: String) -> Result<Self, InvalidId> {
                Self::parse(s)
            }
        }
        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

checked_id!(
    /// A tenant: one institution (or one department) with its own users, connections and S3 prefix.
    TenantId,
    "tenant_id",
    check_slug
);
checked_id!(
    /// One connected vendor account of a tenant; it appears in the webhook URL.
    ConnectionId,
    "connection_id",
    check_slug
);
checked_id!(
    /// A user of the tenant's directory (the owner of archived recordings).
    UserId,
    "user_id",
    check_slug
);

/// A name as a slug (`J.Doe` → `j-doe`, `jdoe@uni.edu` → `jdoe-uni-edu`): lower-cased, every run of other
/// characters than letters and digits one `-`, no `-` at either end, at most `max` characters. `None` if
/// nothing is left.
pub fn slug_of(name: &str, max: usize) -> Option<String> {
    let mut out = String::new();
    for c in name.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    out.truncate(max);
    let out = out.trim_end_matches('-');
    (!out.is_empty()).then(|| out.to_owned())
}

impl UserId {
    /// The user id a name becomes ([`slug_of`], at most 64 characters).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::parse(slug_of(name, 64)?).ok()
    }
}

checked_id!(
    /// A group of the tenant's directory (`staff`, `chemistry`), declared on the tenant: users belong to
    /// groups, and connections opt recordings in or out and choose categories by them.
    GroupId,
    "group",
    check_slug
);

impl GroupId {
    /// The group id a vendor's group name becomes (`Chemistry Faculty` → `chemistry-faculty`).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::parse(slug_of(name, 64)?).ok()
    }
}

/// A category name as admins read it: 1 to 64 characters of letters, digits, spaces and `. _ - /` (`/`
/// nests: `Lectures/Chemistry`), not starting or ending with a space or `/`. These characters are safe in
/// S3 keys, object tags and metadata alike, so a category is written unchanged wherever it appears.
fn check_category(field: &'static str, s: &str) -> Result<(), InvalidId> {
    if s.is_empty() || s.len() > 64 {
        return Err(invalid(field, "must be 1 to 64 characters"));
    }
    if !s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, ' ' | '.' | '_' | '-' | '/'))
    {
        return Err(invalid(
            field,
            format!("'{s}' may only hold letters, digits, spaces and . _ - /"),
        ));
    }
    if s.starts_with([' ', '/']) || s.ends_with([' ', '/']) || s.contains("//") {
        return Err(invalid(
            field,
            format!("'{s}' must not start or end with a space or '/', nor hold '//'"),
        ));
    }
    Ok(())
}

checked_id!(
    /// Where a recording is filed for the people who browse the archive (`Lectures`, `Events/Open day`).
    Category,
    "category",
    check_category
);

/// Opaque ids chosen by a vendor (account ids, meeting instance uuids, file ids). Non-empty, at most 512 bytes,
/// no control characters. Zoom uuids may contain `/`, `//`, `+` and `=`: they are kept byte-exact here and
/// encoded only where they are used (URL paths, S3 keys).
fn check_opaque(field: &'static str, s: &str) -> Result<(), InvalidId> {
    if s.is_empty() {
        return Err(invalid(field, "must not be empty"));
    }
    if s.len() > 512 {
        return Err(invalid(field, "longer than 512 bytes"));
    }
    if s.chars().any(char::is_control) {
        return Err(invalid(field, "contains control characters"));
    }
    Ok(())
}

checked_id!(
    /// The vendor account (Zoom `account_id`, Webex `orgId`).
    AccountId,
    "account_id",
    check_opaque
);
checked_id!(
    /// One meeting *instance* (Zoom `uuid`, Webex ended-instance `meetingId`).
    InstanceId,
    "instance_id",
    check_opaque
);
checked_id!(
    /// One file of a recording (Zoom `recording_files[].id`, Webex recording id + link kind).
    FileId,
    "file_id",
    check_opaque
);

impl InstanceId {
    /// A form of the id that is safe and readable in S3 keys, and distinct for distinct ids: letters, digits
    /// and `-` stay as they are (UUID-style ids read unchanged); the base64 characters of Zoom uuids map to
    /// `+`→`.` and `/`→`_`, trailing `=` padding is dropped (redundant in base64), and anything else is
    /// percent-encoded. Only ids that differ in nothing but trailing `=` share a form.
    pub fn key_safe(&self) -> String {
        key_safe(self.as_str())
    }
}

impl FileId {
    /// See [`InstanceId::key_safe`].
    pub fn key_safe(&self) -> String {
        key_safe(self.as_str())
    }
}

/// The characters an opaque id is made of, which decides how S3 keys write it ([`InstanceId::key_safe_in`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdAlphabet {
    /// Standard base64 (Zoom meeting uuids, Webex org ids): `+`→`.`, `/`→`_`, trailing `=` dropped.
    Base64,
    /// Word characters (Zoom account ids, Webex meeting ids): letters, digits, `-` and `_` as they are.
    Word,
}

impl InstanceId {
    /// [`InstanceId::key_safe`] for an id of `alphabet`: in either, only characters outside it are
    /// percent-encoded, so the ids a vendor makes read unchanged (but for base64's `+` and `/`), and distinct
    /// ids stay distinct.
    pub fn key_safe_in(&self, alphabet: IdAlphabet) -> String {
        match alphabet {
            IdAlphabet::Base64 => key_safe(self.as_str()),
            IdAlphabet::Word => {
                let mut out = String::with_capacity(self.as_str().len());
                for c in self.as_str().chars() {
                    match c {
                        'A'..='Z' | 'a'..='z' | '0'..='9' | '-' | '_' => out.push(c),
                        other => percent(other, &mut out),
                    }
                }
                out
            }
        }
    }
}

fn percent(c: char, out: &mut String) {
    let mut buf = [0u8; 4];
    for b in c.encode_utf8(&mut buf).bytes() {
        out.push_str(&format!("%{b:02X}"));
    }
}

fn key_safe(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.trim_end_matches('=').chars() {
        match c {
            'A'..='Z' | 'a'..='z' | '0'..='9' | '-' => out.push(c),
            '+' => out.push('.'),
            '/' => out.push('_'),
            other => percent(other, &mut out),
        }
    }
    out
}

/// A lower-cased e-mail address with one `@` and a dot in the domain.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    pub fn parse(s: impl AsRef<str>) -> Result<Self, InvalidId> {
        let s = s.as_ref().trim().to_ascii_lowercase();
        let Some((local, domain)) = s.split_once('@') else {
            return Err(invalid("email", format!("'{s}' has no '@'")));
        };
        if local.is_empty() || domain.is_empty() || domain.contains('@') || !domain.contains('.') {
            return Err(invalid("email", format!("'{s}' is not an e-mail address")));
        }
        if s.len() > 254 || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid("email", format!("'{s}' is not an e-mail address")));
        }
        Ok(Self(s))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
impl TryFrom<String> for Email {
    type Error = InvalidId;
    fn try_from(s: String) -> Result<Self, InvalidId> {
        Self::parse(s)
    }
}
impl From<Email> for String {
    fn from(v: Email) -> String {
        v.0
    }
}
impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The video platforms we archive from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Vendor {
    Zoom,
    Webex,
}

impl Vendor {
    pub fn as_str(self) -> &'static str {
        match self {
            Vendor::Zoom => "zoom",
            Vendor::Webex => "webex",
        }
    }
    pub fn parse(s: &str) -> Result<Self, InvalidId> {
        match s {
            "zoom" => Ok(Vendor::Zoom),
            "webex" => Ok(Vendor::Webex),
            other => Err(invalid(
                "vendor",
                format!("'{other}' is not one of zoom, webex"),
            )),
        }
    }
}

impl fmt::Display for Vendor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn a_name_becomes_a_user_id() {
        let id = |n: &str| UserId::from_name(n).map(|u| u.to_string());
        assert_eq!(id("J.Doe").as_deref(), Some("j-doe"));
        assert_eq!(id("jdoe@uni.edu").as_deref(), Some("jdoe-uni-edu"));
        assert_eq!(id("--Ann  Lee--").as_deref(), Some("ann-lee"));
        assert_eq!(id("..."), None);
        assert_eq!(id(&"a".repeat(80)).map(|s| s.len()), Some(64));
    }

    #[test]
    fn slugs_accept_and_reject() {
        assert!(TenantId::parse("uni-example").is_ok());
        assert!(TenantId::parse("").is_err());
        assert!(TenantId::parse("Uni").is_err());
        assert!(TenantId::parse("-x").is_err());
        assert!(ConnectionId::parse("a/b").is_err());
        let e = TenantId::parse("a b").unwrap_err();
        assert_eq!(e.field, "tenant_id");
    }

    #[test]
    fn opaque_ids_keep_zoom_uuid_bytes() {
        for raw in ["/Ab+cd//EfGh==", "abc//def", "+x=", "plain"] {
            let id = InstanceId::parse(raw).unwrap();
            assert_eq!(id.as_str(), raw);
        }
        assert!(InstanceId::parse("").is_err());
        assert!(InstanceId::parse("a\nb").is_err());
    }

    #[test]
    fn word_ids_keep_their_underscores_and_stay_distinct() {
        let word = |raw: &str| {
            InstanceId::parse(raw)
                .unwrap()
                .key_safe_in(IdAlphabet::Word)
        };
        // A Webex meeting instance, a Zoom account id: as they are.
        assert_eq!(word("4a4bb9fd_I_4641625905"), "4a4bb9fd_I_4641625905");
        assert_eq!(word("r8j_zAez-gbj"), "r8j_zAez-gbj");
        // Anything else is percent-encoded, `%` too, so distinct ids stay distinct.
        assert_eq!(word("a/b"), "a%2Fb");
        assert_ne!(word("a%2Fb"), word("a/b"));
    }

    #[test]
    fn key_safe_is_safe_and_distinct() {
        let ids = [
            "/Ab+cd//EfGh==",
            "_Ab-cd__EfGh",
            "/Ab+cd//EfGh=",
            "Ab+cd//EfGh==",
            "ab=cd",
            "ab==cd",
            "a-b",
            "a+b",
            "a_b",
            "a/b",
        ];
        let mut seen = HashSet::new();
        for raw in ids {
            let k = InstanceId::parse(raw).unwrap().key_safe();
            assert!(
                k.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.%~".contains(c)),
                "{k}"
            );
            seen.insert(k);
        }
        // "/Ab+cd//EfGh==" and "/Ab+cd//EfGh=" differ only in padding, which base64 makes redundant;
        // every other pair stays distinct.
        assert_eq!(seen.len(), ids.len() - 1);
        assert_eq!(
            InstanceId::parse("/Ab+cd//EfGh==").unwrap().key_safe(),
            "_Ab.cd__EfGh"
        );
        assert_eq!(
            FileId::parse("2e5785b8-75a2-c872").unwrap().key_safe(),
            "2e5785b8-75a2-c872"
        );
    }

    #[test]
    fn email_is_normalised() {
        assert_eq!(
            Email::parse(" Host@Example.ORG ").unwrap().as_str(),
            "host@example.org"
        );
        assert!(Email::parse("nobody").is_err());
        assert!(Email::parse("a@b").is_err());
        assert!(Email::parse("a@@b.c").is_err());
    }
}
