//! Titles and descriptions of archived recordings: templates of a connection's, in the tenant's time zone,
//! rendered with the owner (at the owner stage) and stored on the entry. The defaults reproduce the title
//! (the vendor's topic) and description written before templates.

use crate::catalog::RecordingEntry;
use crate::ids::{Category, UserId, Vendor};
use crate::template::Template;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The placeholders of a title or description.
pub const TITLE_FIELDS: [&str; 14] = [
    "topic",
    "host",
    "owner",
    "kind",
    "vendor",
    "meeting",
    "instance",
    "recordings",
    "start",
    "date",
    "time",
    "start_utc",
    "categories",
    "timezone",
];

/// The default title: the vendor's topic.
pub const DEFAULT_TITLE: &str = "{topic}";
/// The default description: meeting, instance, the vendor's recording ids and the start in UTC.
pub const DEFAULT_DESCRIPTION: &str =
    "{vendor} meeting {meeting} (instance {instance}); {recordings}; recorded {start_utc} UTC";

/// A title or description template ([`TITLE_FIELDS`]).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TitleTemplate(Template);

impl TitleTemplate {
    pub fn parse(s: &str) -> Result<Self, String> {
        if s.trim().is_empty() {
            return Err("is empty".into());
        }
        if s.chars().any(char::is_control) {
            return Err(format!("{s:?} holds a control character"));
        }
        Ok(Self(Template::parse(s, &TITLE_FIELDS)?))
    }
}

impl fmt::Display for TitleTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}
impl fmt::Debug for TitleTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TitleTemplate({self})")
    }
}
impl TryFrom<String> for TitleTemplate {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Self::parse(&s)
    }
}
impl From<TitleTemplate> for String {
    fn from(t: TitleTemplate) -> String {
        t.to_string()
    }
}

/// An IANA time zone (`Europe/Berlin`, `America/New_York`, `UTC`).
#[derive(Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TimeZone(chrono_tz::Tz);

impl Default for TimeZone {
    fn default() -> Self {
        Self(chrono_tz::UTC)
    }
}

impl TimeZone {
    pub fn parse(s: &str) -> Result<Self, String> {
        s.trim().parse::<chrono_tz::Tz>().map(Self).map_err(|_| {
            format!("{s:?} is not an IANA time zone (e.g. Europe/Berlin, America/New_York, UTC)")
        })
    }
}
impl fmt::Display for TimeZone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.name())
    }
}
impl fmt::Debug for TimeZone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TimeZone({self})")
    }
}
impl TryFrom<String> for TimeZone {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Self::parse(&s)
    }
}
impl From<TimeZone> for String {
    fn from(t: TimeZone) -> String {
        t.to_string()
    }
}

/// A connection's titles (`titles:` in the tenant file).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Titles {
    #[serde(default = "default_title")]
    pub title: TitleTemplate,
    #[serde(default = "default_description")]
    pub description: TitleTemplate,
    /// The time zone of `{start}`, `{date}` and `{time}` (default: the tenant's, else UTC).
    #[serde(default)]
    pub timezone: TimeZone,
}

fn default_title() -> TitleTemplate {
    TitleTemplate::parse(DEFAULT_TITLE).expect("the default title parses")
}
fn default_description() -> TitleTemplate {
    TitleTemplate::parse(DEFAULT_DESCRIPTION).expect("the default description parses")
}

impl Default for Titles {
    fn default() -> Self {
        Self {
            title: default_title(),
            description: default_description(),
            timezone: TimeZone::default(),
        }
    }
}

/// A recording's title and description as rendered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Titled {
    pub title: String,
    pub description: String,
}

impl Titles {
    /// The title and description of `rec` owned by `owner`, filed under `categories`.
    pub fn render(
        &self,
        rec: &RecordingEntry,
        owner: Option<&UserId>,
        categories: &[Category],
    ) -> Titled {
        let local = rec.start_time.with_timezone(&self.timezone.0);
        let value = |f: &str| -> String {
            match f {
                "topic" => rec.topic.clone(),
                "host" => rec
                    .host_email
                    .as_ref()
                    .map_or_else(|| "unknown host".into(), |e| e.to_string()),
                "owner" => owner.map_or_else(|| "nobody".into(), |o| o.to_string()),
                "kind" => match rec.kind {
                    crate::model::MeetingKind::Meeting => "meeting".into(),
                    crate::model::MeetingKind::Webinar => "webinar".into(),
                },
                "vendor" => match rec.vendor {
                    Vendor::Zoom => "Zoom".into(),
                    Vendor::Webex => "Webex".into(),
                },
                "meeting" => rec.meeting_id.clone(),
                "instance" => rec.instance_id.to_string(),
                "recordings" => {
                    let ids: Vec<&str> = rec
                        .vendor_recording_ids
                        .iter()
                        .map(String::as_str)
                        .collect();
                    let label = if ids.len() == 1 {
                        "recording"
                    } else {
                        "recordings"
                    };
                    let ids = if ids.is_empty() {
                        "-".to_owned()
                    } else {
                        ids.join(", ")
                    };
                    format!("{label} {ids}")
                }
                "start" => local.format("%Y-%m-%d %H:%M %Z").to_string(),
                "date" => local.format("%Y-%m-%d").to_string(),
                "time" => local.format("%H:%M").to_string(),
                "start_utc" => rec.start_time.format("%Y-%m-%d %H:%M:%S").to_string(),
                "categories" => categories
                    .iter()
                    .map(|c| c.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                "timezone" => self.timezone.to_string(),
                _ => String::new(),
            }
        };
        Titled {
            title: self.title.0.render(value),
            description: self.description.0.render(value),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> RecordingEntry {
        let raw = include_bytes!("../../../events/zoom/recording.completed.json");
        let rec = crate::zoom::event::normalise(raw).unwrap();
        RecordingEntry::new(
            &rec,
            crate::ids::TenantId::parse("uni").unwrap(),
            crate::ids::ConnectionId::parse("zoom-main").unwrap(),
            chrono::Utc::now(),
        )
    }

    #[test]
    fn the_defaults_reproduce_the_title_and_description_before_templates() {
        let e = entry();
        let t = Titles::default().render(&e, None, &[]);
        assert_eq!(t.title, e.topic);
        let ids: Vec<&str> = e.vendor_recording_ids.iter().map(String::as_str).collect();
        assert_eq!(ids.len(), 1);
        assert_eq!(
            t.description,
            format!(
                "Zoom meeting {} (instance {}); recording {}; recorded {} UTC",
                e.meeting_id,
                e.instance_id,
                ids[0],
                e.start_time.format("%Y-%m-%d %H:%M:%S")
            )
        );
        assert_eq!(e.titled(), t, "an entry without its own titles has these");
    }

    #[test]
    fn a_template_writes_the_start_in_the_time_zone_with_host_owner_and_categories() {
        let mut e = entry();
        e.start_time = "2026-03-16T09:00:00Z".parse().unwrap();
        e.topic = "CHEM 101".into();
        e.host_email = Some(crate::ids::Email::parse("prof@uni.edu").unwrap());
        let titles = Titles {
            title: TitleTemplate::parse("{topic} – {date} {time}").unwrap(),
            description: TitleTemplate::parse(
                "{kind} by {host} for {owner} ({categories}), {start}",
            )
            .unwrap(),
            timezone: TimeZone::parse("Europe/Berlin").unwrap(),
        };
        let owner = UserId::parse("prof").unwrap();
        let cats = [
            Category::parse("Lectures").unwrap(),
            Category::parse("Chemistry").unwrap(),
        ];
        let t = titles.render(&e, Some(&owner), &cats);
        assert_eq!(t.title, "CHEM 101 – 2026-03-16 10:00");
        assert_eq!(
            t.description,
            "meeting by prof@uni.edu for prof (Lectures, Chemistry), 2026-03-16 10:00 CET"
        );
        // Summer time.
        e.start_time = "2026-07-01T09:00:00Z".parse().unwrap();
        assert_eq!(
            titles.render(&e, None, &[]).title,
            "CHEM 101 – 2026-07-01 11:00"
        );
    }

    #[test]
    fn unknown_placeholders_and_time_zones_are_refused() {
        assert!(
            TitleTemplate::parse("{topic} {speaker}")
                .unwrap_err()
                .contains("not a placeholder")
        );
        assert!(TitleTemplate::parse("  ").is_err());
        assert!(
            TimeZone::parse("Mars/Olympus")
                .unwrap_err()
                .contains("IANA")
        );
        assert_eq!(
            TimeZone::parse("America/New_York").unwrap().to_string(),
            "America/New_York"
        );
        let json = serde_json::to_string(&Titles::default()).unwrap();
        assert_eq!(
            serde_json::from_str::<Titles>(&json).unwrap(),
            Titles::default()
        );
    }
}
