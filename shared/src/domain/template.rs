//! Text with `{placeholders}`, as admins write folder layouts and titles: parsed once against the names a
//! use allows (an unknown one is an error naming those allowed), rendered by asking for each value.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Field(&'static str),
}

/// A parsed template; it prints as written.
#[derive(Clone, PartialEq, Eq)]
pub struct Template(Vec<Piece>);

impl Template {
    /// Parses `s`, whose placeholders must be among `fields`.
    pub fn parse(s: &str, fields: &[&'static str]) -> Result<Self, String> {
        let mut pieces = Vec::new();
        let mut rest = s;
        while !rest.is_empty() {
            match rest.find('{') {
                Some(0) => {
                    let end = rest
                        .find('}')
                        .ok_or_else(|| format!("{s:?} has a '{{' without its '}}'"))?;
                    let name = &rest[1..end];
                    let field = fields.iter().find(|f| **f == name).ok_or_else(|| {
                        format!(
                            "{{{name}}} is not a placeholder; they are {}",
                            fields
                                .iter()
                                .map(|f| format!("{{{f}}}"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        )
                    })?;
                    pieces.push(Piece::Field(field));
                    rest = &rest[end + 1..];
                }
                found => {
                    let end = found.unwrap_or(rest.len());
                    if rest[..end].contains('}') {
                        return Err(format!("{s:?} has a '}}' without its '{{'"));
                    }
                    pieces.push(Piece::Text(rest[..end].to_owned()));
                    rest = &rest[end..];
                }
            }
        }
        Ok(Self(pieces))
    }

    /// The text with each placeholder replaced by `value(name)`.
    pub fn render(&self, value: impl Fn(&str) -> String) -> String {
        let mut out = String::new();
        for p in &self.0 {
            match p {
                Piece::Text(t) => out.push_str(t),
                Piece::Field(f) => out.push_str(&value(f)),
            }
        }
        out
    }

    /// Whether the template uses placeholder `name`.
    pub fn uses(&self, name: &str) -> bool {
        self.0
            .iter()
            .any(|p| matches!(p, Piece::Field(f) if *f == name))
    }

    /// The literal text between the placeholders.
    pub fn texts(&self) -> impl Iterator<Item = &str> {
        self.0.iter().filter_map(|p| match p {
            Piece::Text(t) => Some(t.as_str()),
            Piece::Field(_) => None,
        })
    }
}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for p in &self.0 {
            match p {
                Piece::Text(t) => f.write_str(t)?,
                Piece::Field(x) => write!(f, "{{{x}}}")?,
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Template({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_checked_rendered_and_printed_as_written() {
        let t = Template::parse("{topic} ({host}) {{", &["topic", "host"]);
        assert!(t.unwrap_err().contains("without its"));
        let t = Template::parse("Lecture: {topic}, by {host}", &["topic", "host"]).unwrap();
        assert_eq!(t.render(|f| f.to_uppercase()), "Lecture: TOPIC, by HOST");
        assert!(t.uses("host") && !t.uses("owner"));
        assert_eq!(t.to_string(), "Lecture: {topic}, by {host}");
        assert_eq!(t.texts().collect::<Vec<_>>(), ["Lecture: ", ", by "]);
        let e = Template::parse("{when}", &["topic", "host"]).unwrap_err();
        assert_eq!(e, "{when} is not a placeholder; they are {topic}, {host}");
        assert!(
            Template::parse("a } b", &["x"])
                .unwrap_err()
                .contains("without its '{'")
        );
    }
}
