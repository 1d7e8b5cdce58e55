//! What a test asks the simulator to hold: one recording (one meeting instance), its
//! files and its people, and the users of the account.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chrono::{DateTime, Duration, TimeZone as _, Utc};
use sha2::{Digest, Sha256};

/// One recording: a meeting (or webinar) instance and its files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordingSpec {
    pub account_id: String,
    pub host_id: String,
    pub host_email: String,
    pub topic: String,
    /// Meeting number (`object.id`), reused by every instance of a recurring meeting.
    pub meeting_id: u64,
    /// Instance UUID (`object.uuid`), base64-like, may contain `/`, `//`, `+`, `=`.
    pub uuid: String,
    /// `object.type`: 1 instant, 2 scheduled, 8 recurring, 5/6/9 webinar, …
    pub object_type: u32,
    pub start_time: DateTime<Utc>,
    /// IANA time zone name.
    pub timezone: String,
    /// Every file, including a transcript (`file_type` `TRANSCRIPT`), which is delivered
    /// by `recording.transcript_completed` instead of `recording.completed`.
    pub files: Vec<FileSpec>,
    /// Who took part and who may host: what the REST calls about the meeting's people
    /// answer (none by default).
    pub people: PeopleSpec,
}

/// The people of a meeting instance, as Zoom's calls about them list them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PeopleSpec {
    /// Everyone who joined, in join order. The dashboard
    /// (`GET /v2/metrics/{meetings|webinars}/{uuid}/participants?type=past`) lists them
    /// with `email` and `role`; the report (`GET /v2/report/{meetings|webinars}/{uuid}/participants`)
    /// with `user_email`.
    pub participants: Vec<PersonSpec>,
    /// `settings.alternative_hosts` of `GET /v2/meetings/{meetingId}` (webinars:
    /// `GET /v2/webinars/{webinarId}`) exactly as Zoom holds it, e.g. `a@x.edu;b@x.edu`
    /// (empty: none).
    pub alternative_hosts: String,
    /// Webinars: `GET /v2/webinars/{webinarId}/panelists`.
    pub panelists: Vec<PersonSpec>,
}

/// One person of a meeting.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PersonSpec {
    pub name: String,
    /// Empty: listed without one (a guest who gave none; the report then says `""`, the
    /// dashboard leaves `email` out).
    pub email: String,
    /// The dashboard's `role`: `host`, `cohost`, `attendee`, … (empty: left out).
    pub role: String,
}

impl PersonSpec {
    /// A person with this e-mail and role; the name is the e-mail's local part.
    pub fn new(email: &str, role: &str) -> PersonSpec {
        PersonSpec {
            name: email.split('@').next().unwrap_or_default().to_owned(),
            email: email.to_owned(),
            role: role.to_owned(),
        }
    }
}

/// One recording file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileSpec {
    /// File UUID (`recording_files[].id`).
    pub id: String,
    /// `MP4`, `M4A`, `CHAT`, `TRANSCRIPT`, `TIMELINE`, `CC`, `SUMMARY`, … (open-ended).
    pub file_type: String,
    /// `MP4`, `M4A`, `TXT`, `VTT`, `JSON`, `CSV`, …
    pub file_extension: String,
    /// `shared_screen_with_speaker_view`, `gallery_view`, `audio_only`, `chat_file`, …
    pub recording_type: String,
    pub recording_start: DateTime<Utc>,
    pub recording_end: DateTime<Utc>,
    pub size: u64,
    /// Seed of the deterministic content.
    pub seed: u64,
}

impl FileSpec {
    /// True for files that arrive with `recording.transcript_completed`.
    pub fn is_transcript(&self) -> bool {
        self.file_type.eq_ignore_ascii_case("TRANSCRIPT")
    }
}

fn digest(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_be_bytes());
        h.update(p);
    }
    h.finalize().into()
}

fn u64_of(d: &[u8; 32], at: usize) -> u64 {
    u64::from_be_bytes(d[at..at + 8].try_into().expect("8 bytes"))
}

/// A UUID-formatted (8-4-4-4-12 hex) id derived from a prefix and a label.
fn file_uuid(prefix: &str, label: &str) -> String {
    let h = hex::encode(&digest(&[b"file", prefix.as_bytes(), label.as_bytes()])[..16]);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// A Zoom-style instance UUID that starts with `/` and contains `//`, `+` and `==`
/// (the cases that need double URL-encoding), unique per prefix.
fn instance_uuid(prefix: &str) -> String {
    let b = STANDARD.encode(&digest(&[b"uuid", prefix.as_bytes()])[..16]);
    // 22 significant characters + "==".
    format!("/{}//{}+{}==", &b[0..5], &b[5..11], &b[11..18])
}

impl RecordingSpec {
    /// A realistic meeting with one stop/start, so two segments (distinct
    /// `recording_start`):
    ///
    /// - segment 1: MP4 `shared_screen_with_speaker_view`, MP4 `gallery_view`,
    ///   M4A `audio_only`, CHAT (TXT) `chat_file`, TIMELINE (JSON) `timeline`;
    /// - segment 2: MP4 `shared_screen_with_speaker_view`, M4A `audio_only`;
    /// - a TRANSCRIPT (VTT) `audio_transcript` spanning the meeting, delivered later by
    ///   `recording.transcript_completed`.
    ///
    /// Sizes scale with `scale_bytes` and are never multiples of 1 MiB: with
    /// `scale_bytes` = 8 MiB the media add up to about 40 MB. Everything (ids, uuid,
    /// meeting number, times, seeds) is derived from `prefix`, so ids are unique per
    /// prefix and the same prefix always gives the same spec. The uuid starts with `/`
    /// and contains `//`, `+` and `=`; the topic contains non-ASCII characters.
    pub fn realistic(prefix: &str, scale_bytes: u64) -> RecordingSpec {
        let d = digest(&[b"recording", prefix.as_bytes()]);
        let s = scale_bytes;
        let start = Utc
            .with_ymd_and_hms(2026, 1, 5, 9, 0, 0)
            .single()
            .expect("valid date")
            + Duration::days((u64_of(&d, 8) % 300) as i64)
            + Duration::minutes((u64_of(&d, 16) % 8 * 15) as i64);
        let seg1 = (
            start + Duration::seconds(70),
            start + Duration::seconds(29 * 60 + 2),
        );
        let seg2 = (
            start + Duration::seconds(35 * 60),
            start + Duration::seconds(48 * 60 + 40),
        );
        let seed_base = u64_of(&d, 24);

        let file = |n: u64,
                    label: &str,
                    file_type: &str,
                    ext: &str,
                    rtype: &str,
                    seg: (DateTime<Utc>, DateTime<Utc>),
                    size: u64| FileSpec {
            id: file_uuid(prefix, label),
            file_type: file_type.into(),
            file_extension: ext.into(),
            recording_type: rtype.into(),
            recording_start: seg.0,
            recording_end: seg.1,
            size,
            seed: seed_base.wrapping_add(n.wrapping_mul(0x1000_0001)),
        };

        let files = vec![
            file(
                1,
                "seg1-ssv",
                "MP4",
                "MP4",
                "shared_screen_with_speaker_view",
                seg1,
                2 * s + 123_457,
            ),
            file(
                2,
                "seg1-gallery",
                "MP4",
                "MP4",
                "gallery_view",
                seg1,
                s * 3 / 2 + 98_765,
            ),
            file(
                3,
                "seg1-audio",
                "M4A",
                "M4A",
                "audio_only",
                seg1,
                s / 4 + 31_337,
            ),
            file(
                4,
                "seg1-chat",
                "CHAT",
                "TXT",
                "chat_file",
                seg1,
                s / 512 + 1_234,
            ),
            file(
                5,
                "seg1-timeline",
                "TIMELINE",
                "JSON",
                "timeline",
                seg1,
                s / 1024 + 777,
            ),
            file(
                6,
                "seg2-ssv",
                "MP4",
                "MP4",
                "shared_screen_with_speaker_view",
                seg2,
                s + 54_321,
            ),
            file(
                7,
                "seg2-audio",
                "M4A",
                "M4A",
                "audio_only",
                seg2,
                s / 8 + 4_321,
            ),
            file(
                8,
                "transcript",
                "TRANSCRIPT",
                "VTT",
                "audio_transcript",
                (seg1.0, seg2.1),
                s / 256 + 2_345,
            ),
        ];

        RecordingSpec {
            account_id: URL_SAFE_NO_PAD.encode(&digest(&[b"acct", prefix.as_bytes()])[..16]),
            host_id: URL_SAFE_NO_PAD.encode(&digest(&[b"host", prefix.as_bytes()])[..16]),
            host_email: format!("host-{}@example.edu", &hex::encode(d)[..8]),
            topic: format!("{prefix} – Wöchentliche Übung 📚"),
            meeting_id: 81_000_000_000 + u64_of(&d, 0) % 9_000_000_000,
            uuid: instance_uuid(prefix),
            object_type: 8,
            start_time: start,
            timezone: "Europe/Berlin".into(),
            files,
            people: PeopleSpec::default(),
        }
    }

    /// A recording with a single MP4 (`shared_screen_with_speaker_view`) of exactly
    /// `size` bytes; everything else as [`RecordingSpec::realistic`] derives it from
    /// `prefix`. Meant for big-file tests, e.g. with `ZoomSim::add_recording_sparse`.
    pub fn single_mp4(prefix: &str, size: u64) -> RecordingSpec {
        let mut spec = RecordingSpec::realistic(prefix, 0);
        spec.files.truncate(1);
        spec.files[0].size = size;
        spec
    }

    /// The same recording as a webinar (`object.type` 5).
    pub fn as_webinar(mut self) -> RecordingSpec {
        self.object_type = 5;
        self
    }

    /// Whether it is a webinar (`object.type` 5, 6 or 9): the `/webinars/` calls find it,
    /// the `/meetings/` calls about people do not (and the other way round).
    pub fn is_webinar(&self) -> bool {
        matches!(self.object_type, 5 | 6 | 9)
    }

    /// The same recording with these people.
    pub fn with_people(mut self, people: PeopleSpec) -> RecordingSpec {
        self.people = people;
        self
    }

    /// The same recording hosted by `user`: `host_id` and `host_email` become the user's,
    /// so `GET /v2/users/{userId}/recordings` lists it for that user (the listing matches
    /// `host_id` against [`UserSpec::id`]).
    pub fn hosted_by(mut self, user: &UserSpec) -> RecordingSpec {
        self.host_id = user.id.clone();
        self.host_email = user.email.clone();
        self
    }

    /// The same recording moved in time so that it starts at `start`: `start_time` and
    /// every file's `recording_start` / `recording_end` shift by the same amount.
    pub fn starting_at(mut self, start: DateTime<Utc>) -> RecordingSpec {
        let shift = start - self.start_time;
        self.start_time = start;
        for f in &mut self.files {
            f.recording_start += shift;
            f.recording_end += shift;
        }
        self
    }
}

/// Whether a user of the account is active, deactivated or has not accepted the invitation
/// yet (`status` in `GET /v2/users`, which lists one status at a time).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UserStatus {
    /// `active`: listed by `GET /v2/users` without `status` (Zoom's default).
    Active,
    /// `inactive` (deactivated): listed only with `status=inactive`. Its recordings stay,
    /// and `GET /v2/users/{userId}/recordings` still lists them.
    Inactive,
    /// `pending`: invited, not yet accepted; listed only with `status=pending`.
    Pending,
}

impl UserStatus {
    /// The `status` value Zoom uses: `active`, `inactive`, `pending`.
    pub fn as_str(self) -> &'static str {
        match self {
            UserStatus::Active => "active",
            UserStatus::Inactive => "inactive",
            UserStatus::Pending => "pending",
        }
    }

    /// The status a `status` query value names (exactly as Zoom spells it); `None` for
    /// anything else.
    pub fn from_query(s: &str) -> Option<UserStatus> {
        match s {
            "active" => Some(UserStatus::Active),
            "inactive" => Some(UserStatus::Inactive),
            "pending" => Some(UserStatus::Pending),
            _ => None,
        }
    }
}

/// A user of the simulated account, as `GET /v2/users` lists it. The recordings whose
/// `host_id` is its `id` are its recordings ([`RecordingSpec::hosted_by`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserSpec {
    /// Zoom user id (22 base64url characters on Zoom; any string here): `host_id` of the
    /// user's recordings and `{userId}` of `GET /v2/users/{userId}/recordings`.
    pub id: String,
    /// Also accepted as `{userId}` (compared ignoring ASCII case).
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    /// `type`: 1 Basic, 2 Licensed, 4 Unassigned without Meetings Basic, 99 None.
    pub user_type: u32,
    pub status: UserStatus,
    /// IANA time zone name.
    pub timezone: String,
    /// `dept` (may be empty).
    pub dept: String,
    /// `user_created_at` / `created_at`.
    pub created_at: DateTime<Utc>,
    /// `cms_user_id` of `GET /v2/users/{userId}`: the id a SAML mapping gave the user in a
    /// content-management system (empty: none).
    pub cms_user_id: String,
    /// The names of the account's groups the user is in (`group_ids` of `GET /v2/users`; the groups
    /// themselves: `GET /v2/groups`).
    pub groups: Vec<String>,
}

impl UserSpec {
    /// An active, licensed (`type` 2) user with this id and e-mail. The names come from
    /// the e-mail's local part (`anna.schmidt@…` → `Anna` `Schmidt`; without a dot, the
    /// whole local part and an empty last name); time zone `Europe/Berlin`, no department,
    /// created 2025-09-01.
    pub fn new(id: &str, email: &str) -> UserSpec {
        let local = email.split('@').next().unwrap_or_default();
        let capitalized = |s: &str| {
            let mut c = s.chars();
            c.next()
                .map(|first| first.to_uppercase().chain(c).collect::<String>())
                .unwrap_or_default()
        };
        let (first, last) = match local.split_once('.') {
            Some((a, b)) => (capitalized(a), capitalized(b)),
            None => (capitalized(local), String::new()),
        };
        UserSpec {
            id: id.to_owned(),
            email: email.to_owned(),
            first_name: first,
            last_name: last,
            user_type: 2,
            status: UserStatus::Active,
            timezone: "Europe/Berlin".into(),
            dept: String::new(),
            created_at: Utc
                .with_ymd_and_hms(2025, 9, 1, 8, 0, 0)
                .single()
                .expect("valid date"),
            cms_user_id: String::new(),
            groups: Vec::new(),
        }
    }

    /// [`UserSpec::new`] with a Zoom-shaped id (22 base64url characters) derived from
    /// `prefix` and the e-mail `{prefix}@example.edu`: the same prefix always gives the
    /// same user, different prefixes different ids.
    pub fn realistic(prefix: &str) -> UserSpec {
        let id = URL_SAFE_NO_PAD.encode(&digest(&[b"user", prefix.as_bytes()])[..16]);
        UserSpec::new(&id, &format!("{prefix}@example.edu"))
    }

    /// The same user with a SAML-mapped `cms_user_id`.
    pub fn with_cms_user_id(mut self, id: &str) -> UserSpec {
        self.cms_user_id = id.to_owned();
        self
    }

    /// The same user in these groups (by name).
    pub fn in_groups(mut self, names: &[&str]) -> UserSpec {
        self.groups = names.iter().map(|n| (*n).to_owned()).collect();
        self
    }

    /// The id `GET /v2/groups` gives the group `name`.
    pub fn group_id(name: &str) -> String {
        URL_SAFE_NO_PAD.encode(&digest(&[b"group", name.as_bytes()])[..16])
    }

    /// The same user with another status (e.g. [`UserStatus::Inactive`]: deactivated).
    pub fn with_status(mut self, status: UserStatus) -> UserSpec {
        self.status = status;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{BTreeSet, HashSet};

    #[test]
    fn realistic_shape() {
        let r = RecordingSpec::realistic("t1", 8 * 1024 * 1024);
        assert!(r.uuid.starts_with('/'));
        assert!(r.uuid.contains("//") && r.uuid.contains('+') && r.uuid.ends_with("=="));
        assert_eq!(r.uuid.len(), 24);
        assert_eq!(r.files.len(), 8);
        let starts: BTreeSet<_> = r
            .files
            .iter()
            .filter(|f| !f.is_transcript())
            .map(|f| f.recording_start)
            .collect();
        assert_eq!(starts.len(), 2, "two segments");
        let media: u64 = r
            .files
            .iter()
            .filter(|f| !f.is_transcript())
            .map(|f| f.size)
            .sum();
        assert!((20_000_000..100_000_000).contains(&media), "{media}");
        for f in &r.files {
            assert_ne!(f.size % (1024 * 1024), 0, "{}", f.id);
            assert!(f.recording_start < f.recording_end);
        }
        assert_eq!(r.files.iter().filter(|f| f.is_transcript()).count(), 1);
        let ids: HashSet<_> = r.files.iter().map(|f| &f.id).collect();
        assert_eq!(ids.len(), r.files.len());
        let seeds: HashSet<_> = r.files.iter().map(|f| f.seed).collect();
        assert_eq!(seeds.len(), r.files.len());
    }

    #[test]
    fn deterministic_and_unique_per_prefix() {
        assert_eq!(
            RecordingSpec::realistic("a", 1000),
            RecordingSpec::realistic("a", 1000)
        );
        let a = RecordingSpec::realistic("a", 1000);
        let b = RecordingSpec::realistic("b", 1000);
        assert_ne!(a.uuid, b.uuid);
        assert_ne!(a.meeting_id, b.meeting_id);
        for f in &a.files {
            assert!(b.files.iter().all(|g| g.id != f.id));
        }
        assert_eq!(a.clone().as_webinar().object_type, 5);
    }

    #[test]
    fn hosted_by_and_starting_at() {
        let user = UserSpec::realistic("host");
        assert_eq!(user, UserSpec::realistic("host"));
        assert_ne!(user.id, UserSpec::realistic("other").id);
        assert_eq!(user.id.len(), 22);
        assert_eq!(user.email, "host@example.edu");
        assert_eq!(user.status, UserStatus::Active);
        let r = RecordingSpec::realistic("moved", 1000);
        let at = Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).single().unwrap();
        let m = r.clone().hosted_by(&user).starting_at(at);
        assert_eq!(
            (m.host_id.as_str(), m.host_email.as_str()),
            (user.id.as_str(), user.email.as_str())
        );
        assert_eq!(m.start_time, at);
        for (a, b) in r.files.iter().zip(&m.files) {
            assert_eq!(
                b.recording_start - m.start_time,
                a.recording_start - r.start_time
            );
            assert_eq!(
                b.recording_end - b.recording_start,
                a.recording_end - a.recording_start
            );
        }
        assert_eq!((m.uuid, m.files.len()), (r.uuid, r.files.len()));
        for s in [
            UserStatus::Active,
            UserStatus::Inactive,
            UserStatus::Pending,
        ] {
            assert_eq!(UserStatus::from_query(s.as_str()), Some(s));
        }
        assert_eq!(UserStatus::from_query("Active"), None);
    }
}
