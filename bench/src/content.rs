//! The bytes every case moves: a deterministic pseudo-random pattern with a period that is no power of two (so
//! parts of one upload differ), served and uploaded as zero-copy slices of one pre-filled buffer.

use bytes::Bytes;
use sha2::{Digest, Sha256};
use std::io::Write;

/// The pattern's period: a prime just below 1 MiB.
pub const PERIOD: usize = 1_048_573;

/// Byte `i` of the content is `pattern[i % PERIOD]`. Holds the pattern followed by its first `max_slice` bytes, so
/// any `max_slice` bytes of the content are one contiguous slice.
#[derive(Clone)]
pub struct Content {
    wheel: Bytes,
    max_slice: usize,
}

impl Content {
    pub fn new(max_slice: usize) -> Self {
        let block = pattern(PERIOD);
        let len = PERIOD + max_slice;
        let mut wheel = Vec::with_capacity(len);
        while wheel.len() < len {
            let take = (len - wheel.len()).min(PERIOD);
            wheel.extend_from_slice(&block[..take]);
        }
        Self {
            wheel: Bytes::from(wheel),
            max_slice,
        }
    }

    /// `len` (at most `max_slice`) bytes of the content from `offset`, without copying.
    pub fn slice(&self, offset: u64, len: usize) -> Bytes {
        assert!(len <= self.max_slice, "slice of {len} > {}", self.max_slice);
        let at = (offset % PERIOD as u64) as usize;
        self.wheel.slice(at..at + len)
    }

    /// The content's bytes `start..end` in slices of at most `max_slice`.
    pub fn chunks(&self, start: u64, end: u64) -> Chunks {
        Chunks {
            content: self.clone(),
            pos: start,
            end,
        }
    }
}

pub struct Chunks {
    content: Content,
    pos: u64,
    end: u64,
}

impl Iterator for Chunks {
    type Item = Bytes;
    fn next(&mut self) -> Option<Bytes> {
        if self.pos >= self.end {
            return None;
        }
        let len = (self.end - self.pos).min(self.content.max_slice as u64) as usize;
        let b = self.content.slice(self.pos, len);
        self.pos += len as u64;
        Some(b)
    }
}

/// xorshift64* bytes: deterministic, non-zero, and not compressible.
fn pattern(len: usize) -> Vec<u8> {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        out.extend_from_slice(&state.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    out.truncate(len);
    out
}

/// SHA-256 (hex) of the first `size` bytes of the content.
pub fn sha256_hex(size: u64) -> String {
    let content = Content::new(1 << 20);
    let mut h = Sha256::new();
    for c in content.chunks(0, size) {
        h.update(&c);
    }
    hex::encode(h.finalize())
}

/// Writes the first `size` bytes of the content to `path`.
pub fn write_file(path: &std::path::Path, size: u64) -> std::io::Result<()> {
    let content = Content::new(1 << 20);
    let mut f = std::fs::File::create(path)?;
    for c in content.chunks(0, size) {
        f.write_all(&c)?;
    }
    f.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_are_the_periodic_pattern() {
        let block = pattern(PERIOD);
        let c = Content::new(4096);
        let (start, end) = (3 * PERIOD as u64 - 5000, 3 * PERIOD as u64 + 5000);
        let got: Vec<u8> = c.chunks(start, end).flatten().collect();
        let want: Vec<u8> = (start..end)
            .map(|i| block[(i % PERIOD as u64) as usize])
            .collect();
        assert_eq!(got, want);
        assert!(block.iter().filter(|&&b| b == 0).count() < PERIOD / 100);
    }
}
