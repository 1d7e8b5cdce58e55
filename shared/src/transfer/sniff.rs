//! Is this body the file, or a web page instead of it? Vendors answer a refused download with HTTP 200 and an
//! HTML page (Zoom does for a bad token, a deleted file or one still processing), sometimes with a byte-order
//! mark, leading blank lines, a binary content type, and split across chunks as small as one byte. The verdict
//! waits until enough bytes arrived to tell; it never looks past the first [`MAX_LEADING`] bytes.

/// Leading whitespace (and a BOM) longer than this is not an HTML page of any vendor's.
pub const MAX_LEADING: usize = 1024;

const MARKERS: [&[u8]; 5] = [b"<!doctype html", b"<html", b"<head", b"<body", b"<?xml"];
const BOM: &[u8] = &[0xEF, 0xBB, 0xBF];

/// The verdict on the first bytes of a body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sniff {
    /// Not enough bytes yet to tell.
    NeedMore,
    /// A web page (or an XML error document), not media.
    Page,
    /// Not a page: the bytes are the file.
    File,
}

/// Judges `head`, the first bytes of a body; `ended` when the body has no more.
pub fn sniff(head: &[u8], ended: bool) -> Sniff {
    if !ended && head.len() < BOM.len() && BOM.starts_with(head) {
        return Sniff::NeedMore;
    }
    let body = head.strip_prefix(BOM).unwrap_or(head);
    let start = body.iter().position(|b| !b.is_ascii_whitespace());
    let Some(start) = start else {
        // Nothing but whitespace so far.
        return if ended || head.len() > MAX_LEADING {
            Sniff::File
        } else {
            Sniff::NeedMore
        };
    };
    if start > MAX_LEADING {
        return Sniff::File;
    }
    let rest: Vec<u8> = body[start..]
        .iter()
        .take(16)
        .map(u8::to_ascii_lowercase)
        .collect();
    let mut could_be = false;
    for m in MARKERS {
        if rest.starts_with(m) {
            return Sniff::Page;
        }
        if m.starts_with(&rest) {
            could_be = true;
        }
    }
    if could_be && !ended {
        Sniff::NeedMore
    } else {
        Sniff::File
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `body` in chunks of `size` and returns the first verdict that is not `NeedMore`.
    fn verdict(body: &[u8], size: usize) -> Sniff {
        let mut head = Vec::new();
        for chunk in body.chunks(size.max(1)) {
            head.extend_from_slice(chunk);
            match sniff(&head, false) {
                Sniff::NeedMore => {}
                v => return v,
            }
        }
        sniff(&head, true)
    }

    #[test]
    fn pages_are_recognised_whatever_their_wrapping_and_chunking() {
        let pages: [&[u8]; 5] = [
            b"<!DOCTYPE html><html><body>This recording does not exist.</body></html>",
            b"\xEF\xBB\xBF\r\n\r\n   <!doctype HTML>\n<html>",
            b"\n\n<HTML><head><title>Error - Zoom</title>",
            b"  <head><meta charset=utf-8>",
            b"<?xml version=\"1.0\"?><Error><Code>AccessDenied</Code></Error>",
        ];
        for page in pages {
            for size in [1, 2, 3, 7, 4096] {
                assert_eq!(
                    verdict(page, size),
                    Sniff::Page,
                    "{page:?} in chunks of {size}"
                );
            }
        }
    }

    #[test]
    fn media_and_text_files_are_files() {
        let files: [&[u8]; 6] = [
            &[
                0, 0, 0, 0x18, b'f', b't', b'y', b'p', b'm', b'p', b'4', b'2',
            ],
            b"WEBVTT\n\n1\n00:00:00.000 --> 00:00:02.000\nHello",
            b"{\"timeline\":[]}",
            b"10:00:01\t From Ann to Everyone:\thi",
            b"<b>bold</b> chat line",
            b"<h",
        ];
        for f in files {
            for size in [1, 4, 4096] {
                assert_eq!(verdict(f, size), Sniff::File, "{f:?} in chunks of {size}");
            }
        }
        assert_eq!(
            sniff(b"", true),
            Sniff::File,
            "an empty body is judged by its size"
        );
        assert_eq!(sniff(b"<ht", false), Sniff::NeedMore);
        assert_eq!(sniff(&[b' '; 2000], false), Sniff::File);
    }
}
