//! Deterministic file contents, generated on the fly.
//!
//! A file's bytes depend only on its seed, its kind and its size. Any byte range can be
//! produced without producing what comes before it, so the CDN can answer `Range`
//! requests and nothing ever holds a whole file in memory.
//!
//! - binary files (MP4, M4A, TIMELINE, …): 64 KiB blocks, block `b` filled by a
//!   ChaCha-based `StdRng` seeded from `(seed, b)`;
//! - transcripts and captions (VTT): `WEBVTT\n\n` followed by fixed-length cues;
//! - chat (TXT): fixed-length lines in Zoom's chat-file layout;
//! - sparse ([`ContentKind::Sparse`], never chosen by [`ContentKind::for_file`]): cheap
//!   bytes for multi-GiB files. Every 64 KiB block is one fixed pseudo-random block
//!   (generated once per process) whose bytes 32..64 are replaced by a per-`(seed, block)`
//!   stamp, so blocks differ and a resume at a wrong offset changes the hash; block 0
//!   starts with an MP4 `ftyp` box (not zeros, not `<`, not a BOM). Producing bytes is a
//!   `memcpy`, so serving 4 GiB costs about what the network copy costs. Its SHA-256
//!   still has to read every byte (about 3 s for 4 GiB in a dev build); it is computed
//!   without copying and cached per `(seed, size)` for the life of the process.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

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
    /// Cheap binary bytes for very large files (a fixed block with a per-block stamp; see
    /// the module docs). Never picked by [`ContentKind::for_file`]: ask for it with
    /// `ZoomSim::add_recording_sparse` / `ZoomSim::add_recording_with`.
    Sparse,
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
            ContentKind::Sparse => self.fill_sparse(offset, buf),
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
    /// [`ContentKind::Sparse`] content is hashed without copying and cached per
    /// `(seed, size)`.
    pub fn sha256_hex(&self) -> String {
        if self.kind == ContentKind::Sparse {
            return self.sparse_sha256_hex();
        }
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

/// Bytes 0..32 of a sparse file: an MP4 `ftyp` box (size 0x20, brand `isom`).
const SPARSE_FTYP: &[u8; 32] = b"\0\0\0\x20ftypisom\0\0\x02\0isomiso2avc1mp41";
/// Bytes `0..SPARSE_HEAD` of every sparse block differ from the shared block.
const SPARSE_HEAD: usize = 64;

/// The block every sparse file repeats (pseudo-random, the same for every seed).
fn sparse_base() -> &'static [u8] {
    static BASE: OnceLock<Box<[u8]>> = OnceLock::new();
    BASE.get_or_init(|| {
        let mut b = vec![0u8; BLOCK as usize];
        StdRng::seed_from_u64(0x5BA7_5E00_2026_0001).fill_bytes(&mut b);
        b.into_boxed_slice()
    })
}

impl Generator {
    /// Bytes `0..SPARSE_HEAD` of sparse block `block`: the `ftyp` box (block 0) or the
    /// shared block's bytes, then a 32-byte stamp of `(seed, block)`.
    fn sparse_head(&self, block: u64) -> [u8; SPARSE_HEAD] {
        let mut head = [0u8; SPARSE_HEAD];
        if block == 0 {
            head[..32].copy_from_slice(SPARSE_FTYP);
        } else {
            head[..32].copy_from_slice(&sparse_base()[..32]);
        }
        let mut rng = SplitMix(mix(self.seed ^ 0x5BA7_5E5E_ED00_0000, block));
        for chunk in head[32..].chunks_exact_mut(8) {
            chunk.copy_from_slice(&rng.next().to_le_bytes());
        }
        head
    }

    fn fill_sparse(&self, mut offset: u64, mut buf: &mut [u8]) {
        let base = sparse_base();
        while !buf.is_empty() {
            let block = offset / BLOCK;
            let within = (offset % BLOCK) as usize;
            let n = (BLOCK as usize - within).min(buf.len());
            let mut done = 0;
            if within < SPARSE_HEAD {
                let head = self.sparse_head(block);
                done = (SPARSE_HEAD - within).min(n);
                buf[..done].copy_from_slice(&head[within..within + done]);
            }
            buf[done..n].copy_from_slice(&base[within + done..within + n]);
            offset += n as u64;
            buf = &mut buf[n..];
        }
    }

    fn sparse_sha256_hex(&self) -> String {
        static CACHE: OnceLock<Mutex<HashMap<(u64, u64), String>>> = OnceLock::new();
        let cache = CACHE.get_or_init(Default::default);
        let key = (self.seed, self.size);
        if let Some(hit) = cache.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
            return hit.clone();
        }
        let base = sparse_base();
        let mut hasher = Sha256::new();
        let mut offset = 0u64;
        while offset < self.size {
            let n = (self.size - offset).min(BLOCK) as usize;
            let head = self.sparse_head(offset / BLOCK);
            let h = n.min(SPARSE_HEAD);
            hasher.update(&head[..h]);
            hasher.update(&base[h..n]);
            offset += n as u64;
        }
        let hex = hex::encode(hasher.finalize());
        cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key, hex.clone());
        hex
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
        for kind in [
            ContentKind::Binary,
            ContentKind::Vtt,
            ContentKind::Chat,
            ContentKind::Sparse,
        ] {
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
        for kind in [
            ContentKind::Binary,
            ContentKind::Vtt,
            ContentKind::Chat,
            ContentKind::Sparse,
        ] {
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
    fn sparse_blocks_differ_and_start_like_mp4() {
        let g = Generator::new(ContentKind::Sparse, 5, 3 * BLOCK + 10);
        let all = whole(&g);
        assert_eq!(&all[4..12], b"ftypisom");
        let blocks: Vec<&[u8]> = all.chunks(BLOCK as usize).collect();
        assert_ne!(blocks[1], blocks[2]);
        // Only the stamp differs between two full blocks.
        assert_eq!(blocks[1][SPARSE_HEAD..], blocks[2][SPARSE_HEAD..]);
        assert_eq!(blocks[3].len(), 10);
        // Another seed: other stamps, same shared block.
        let h = Generator::new(ContentKind::Sparse, 6, 3 * BLOCK + 10);
        assert_ne!(whole(&h)[32..64], all[32..64]);
        assert_ne!(g.sha256_hex(), h.sha256_hex());
        // Cached hash is the same as a fresh one.
        assert_eq!(g.sha256_hex(), g.sha256_hex());
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
