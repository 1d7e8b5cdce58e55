//! Deterministic file contents, generated on the fly.
//!
//! A file's bytes depend only on its seed, its kind and its size. Any byte range can be
//! produced without producing what comes before it, so the CDN can answer `Range`
//! requests and nothing ever holds a whole file in memory.
//!
//! - binary files (MP4, M4A, TIMELINE, …): 64 KiB blocks, block `b` filled by a
//!   ChaCha-based `StdRng` seeded from `(seed, b)`;
//! - transcripts and captions (VTT): `WEBVTT\n\n` followed by fixed-length cues;
//! - chat (TXT): fixed-length lines in Zoom's chat-file layout.

use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};
use sha2::{Digest, Sha256};

/// Size of the generator's blocks and of the chunks the CDN streams.
pub(crate) const BLOCK: u64 = 64 * 1024;

const VTT_HEADER: &[u8] = b"WEBVTT\n\n";
const VTT_CUE_LEN: usize = 160;
const CHAT_LINE_LEN: usize = 120;

const SPEAKERS: &[&str] = &[
    "Alice Example",
    "Bob Beispiel",
    "Zoë Müller",
    "Dr. Kwame Mensah",
    "Lin Wei",
];

const WORDS: &[&str] = &[
    "so",
    "the",
    "next",
    "slide",
    "shows",
    "our",
    "results",
    "for",
    "this",
    "week",
    "and",
    "we",
    "can",
    "see",
    "that",
    "archive",
    "lecture",
    "question",
    "please",
    "share",
    "your",
    "screen",
    "recording",
    "students",
    "deadline",
    "exercise",
    "okay",
    "thanks",
    "everyone",
    "let's",
    "move",
    "on",
    "to",
    "section",
    "three",
    "data",
    "bucket",
    "policy",
    "review",
];

/// How a file's bytes look.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContentKind {
    /// Pseudo-random bytes.
    Binary,
    /// WebVTT text (transcripts, closed captions).
    Vtt,
    /// Zoom chat-file text.
    Chat,
}

impl ContentKind {
    /// The kind used for a Zoom `file_type` / `file_extension` pair.
    pub fn for_file(file_type: &str, file_extension: &str) -> ContentKind {
        let ft = file_type.to_ascii_uppercase();
        let ext = file_extension.to_ascii_uppercase();
        if ft == "TRANSCRIPT" || ft == "CC" || ext == "VTT" {
            ContentKind::Vtt
        } else if ft == "CHAT" || ext == "TXT" {
            ContentKind::Chat
        } else {
            ContentKind::Binary
        }
    }
}

/// The `Content-Type` the CDN serves for a file extension.
pub fn content_type_for(file_extension: &str) -> &'static str {
    match file_extension.to_ascii_uppercase().as_str() {
        "MP4" => "video/mp4",
        "M4A" => "audio/mp4",
        "VTT" => "text/vtt",
        "TXT" => "text/plain",
        "JSON" => "application/json",
        "CSV" => "text/csv",
        "JPG" | "JPEG" => "image/jpeg",
        _ => "application/octet-stream",
    }
}

/// A file's content generator: deterministic bytes from `(kind, seed, size)`. Public so
/// that other simulators (`webex-sim`) serve the same kind of content.
#[derive(Clone, Copy, Debug)]
pub struct Generator {
    /// How the bytes look.
    pub kind: ContentKind,
    /// Seed: different seeds give different content.
    pub seed: u64,
    /// File size in bytes.
    pub size: u64,
}

impl Generator {
    /// A generator for a file of `size` bytes.
    pub fn new(kind: ContentKind, seed: u64, size: u64) -> Generator {
        Generator { kind, seed, size }
    }

    /// Fill `buf` with the bytes at `offset..offset + buf.len()`. Panics if that runs past
    /// the end of the file.
    pub fn fill(&self, offset: u64, buf: &mut [u8]) {
        assert!(
            offset + buf.len() as u64 <= self.size,
            "range {offset}+{} past end of file ({})",
            buf.len(),
            self.size
        );
        match self.kind {
            ContentKind::Binary => self.fill_binary(offset, buf),
            ContentKind::Vtt => fill_records(offset, buf, VTT_HEADER, VTT_CUE_LEN, |r| {
                vtt_cue(self.seed, r)
            }),
            ContentKind::Chat => {
                fill_records(offset, buf, b"", CHAT_LINE_LEN, |r| chat_line(self.seed, r))
            }
        }
    }

    /// The bytes at `offset..offset + len` (clamped to the file's end).
    pub fn bytes(&self, offset: u64, len: usize) -> Vec<u8> {
        let end = (offset.saturating_add(len as u64)).min(self.size);
        let mut buf = vec![0u8; end.saturating_sub(offset) as usize];
        if !buf.is_empty() {
            self.fill(offset, &mut buf);
        }
        buf
    }

    /// SHA-256 (lower-case hex) of the whole file, streaming block by block.
    pub fn sha256_hex(&self) -> String {
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; BLOCK as usize];
        let mut offset = 0;
        while offset < self.size {
            let n = (self.size - offset).min(BLOCK) as usize;
            self.fill(offset, &mut buf[..n]);
            hasher.update(&buf[..n]);
            offset += n as u64;
        }
        hex::encode(hasher.finalize())
    }

    fn fill_binary(&self, mut offset: u64, mut buf: &mut [u8]) {
        let mut scratch: Vec<u8> = Vec::new();
        while !buf.is_empty() {
            let block = offset / BLOCK;
            let within = (offset % BLOCK) as usize;
            let n = (BLOCK as usize - within).min(buf.len());
            let mut rng = StdRng::seed_from_u64(mix(self.seed, block));
            if within == 0 && n == BLOCK as usize {
                rng.fill_bytes(&mut buf[..n]);
            } else {
                // Always generate the whole block, so the bytes never depend on how
                // the file is cut into requests.
                scratch.resize(BLOCK as usize, 0);
                rng.fill_bytes(&mut scratch);
                buf[..n].copy_from_slice(&scratch[within..within + n]);
            }
            offset += n as u64;
            buf = &mut buf[n..];
        }
    }
}

/// Text made of an optional header followed by fixed-length records.
fn fill_records(
    offset: u64,
    buf: &mut [u8],
    header: &[u8],
    rec_len: usize,
    record: impl Fn(u64) -> Vec<u8>,
) {
    let mut pos = offset;
    let mut out = 0usize;
    while out < buf.len() {
        let (src, start): (std::borrow::Cow<[u8]>, usize) = if pos < header.len() as u64 {
            (header.into(), pos as usize)
        } else {
            let rel = pos - header.len() as u64;
            let r = rel / rec_len as u64;
            (record(r).into(), (rel % rec_len as u64) as usize)
        };
        let n = (src.len() - start).min(buf.len() - out);
        buf[out..out + n].copy_from_slice(&src[start..start + n]);
        out += n;
        pos += n as u64;
    }
}

fn vtt_cue(seed: u64, r: u64) -> Vec<u8> {
    let mut rng = SplitMix(mix(seed, r));
    let start_ms = r * 4_000;
    let end_ms = start_ms + 3_500;
    let speaker = SPEAKERS[(rng.next() % SPEAKERS.len() as u64) as usize];
    let mut s = format!(
        "{}\n{} --> {}\n{}: ",
        r + 1,
        vtt_time(start_ms),
        vtt_time(end_ms),
        speaker
    );
    pad_words(&mut s, &mut rng, VTT_CUE_LEN - 3);
    s.push('.');
    s.push_str("\n\n");
    debug_assert_eq!(s.len(), VTT_CUE_LEN);
    s.into_bytes()
}

fn chat_line(seed: u64, r: u64) -> Vec<u8> {
    let mut rng = SplitMix(mix(seed ^ 0xC4A7, r));
    let secs = 9 * 3600 + 60 + r * 7;
    let speaker = SPEAKERS[(rng.next() % SPEAKERS.len() as u64) as usize];
    let mut s = format!(
        "{:02}:{:02}:{:02}\t From  {} to  Everyone:\t",
        (secs / 3600) % 24,
        (secs / 60) % 60,
        secs % 60,
        speaker
    );
    pad_words(&mut s, &mut rng, CHAT_LINE_LEN - 2);
    s.push_str("\r\n");
    debug_assert_eq!(s.len(), CHAT_LINE_LEN);
    s.into_bytes()
}

/// Append ASCII words until `s` is exactly `len` bytes long.
fn pad_words(s: &mut String, rng: &mut SplitMix, len: usize) {
    while s.len() < len {
        s.push_str(WORDS[(rng.next() % WORDS.len() as u64) as usize]);
        s.push(' ');
    }
    // The prefix (with any non-ASCII speaker name) is always far shorter than `len`,
    // so the cut falls inside the ASCII words.
    s.truncate(len);
}

fn vtt_time(ms: u64) -> String {
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        ms / 3_600_000,
        (ms / 60_000) % 60,
        (ms / 1000) % 60,
        ms % 1000
    )
}

fn mix(seed: u64, n: u64) -> u64 {
    SplitMix(seed ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15)).next()
}

/// SplitMix64: tiny, fast, good enough for filler text and ids.
pub(crate) struct SplitMix(pub u64);

impl SplitMix {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn whole(g: &Generator) -> Vec<u8> {
        g.bytes(0, g.size as usize)
    }

    #[test]
    fn deterministic_and_seed_dependent() {
        for kind in [ContentKind::Binary, ContentKind::Vtt, ContentKind::Chat] {
            let a = Generator {
                kind,
                seed: 7,
                size: 200_001,
            };
            let b = Generator {
                kind,
                seed: 7,
                size: 200_001,
            };
            let c = Generator {
                kind,
                seed: 8,
                size: 200_001,
            };
            assert_eq!(whole(&a), whole(&b), "{kind:?}");
            assert_ne!(whole(&a), whole(&c), "{kind:?}");
            assert_eq!(a.sha256_hex(), b.sha256_hex());
            assert_eq!(whole(&a).len(), 200_001);
        }
    }

    #[test]
    fn any_cut_gives_the_same_bytes() {
        for kind in [ContentKind::Binary, ContentKind::Vtt, ContentKind::Chat] {
            let g = Generator {
                kind,
                seed: 99,
                size: 300_007,
            };
            let all = whole(&g);
            for (off, len) in [
                (0, 1),
                (1, 70_000),
                (65_535, 3),
                (131_000, 169_007),
                (300_006, 1),
            ] {
                assert_eq!(
                    g.bytes(off, len),
                    all[off as usize..off as usize + len],
                    "{kind:?} {off}"
                );
            }
            let mut sha = Sha256::new();
            sha.update(&all);
            assert_eq!(hex::encode(sha.finalize()), g.sha256_hex());
        }
    }

    #[test]
    fn text_kinds_are_text() {
        let vtt = Generator {
            kind: ContentKind::Vtt,
            seed: 1,
            size: 5_000,
        };
        let text = String::from_utf8(whole(&vtt)).expect("utf-8");
        assert!(
            text.starts_with("WEBVTT\n\n1\n00:00:00.000 --> 00:00:03.500\n"),
            "{text}"
        );
        assert!(text.contains("\n\n2\n00:00:04.000 --> 00:00:07.500\n"));
        let chat = Generator {
            kind: ContentKind::Chat,
            seed: 1,
            size: 5_000,
        };
        let text = String::from_utf8(whole(&chat)).expect("utf-8");
        assert!(text.starts_with("09:01:00\t From  "), "{text}");
        assert!(text.contains(" to  Everyone:\t"));
    }

    #[test]
    fn kinds_and_types() {
        assert_eq!(ContentKind::for_file("TRANSCRIPT", "VTT"), ContentKind::Vtt);
        assert_eq!(ContentKind::for_file("CHAT", "TXT"), ContentKind::Chat);
        assert_eq!(ContentKind::for_file("MP4", "MP4"), ContentKind::Binary);
        assert_eq!(
            ContentKind::for_file("TIMELINE", "JSON"),
            ContentKind::Binary
        );
        assert_eq!(content_type_for("mp4"), "video/mp4");
        assert_eq!(content_type_for("M4A"), "audio/mp4");
        assert_eq!(content_type_for("VTT"), "text/vtt");
    }
}
