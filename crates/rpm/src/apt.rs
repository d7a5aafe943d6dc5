//! APT header lists (`pkglist.*`, `srclist.*`, `pkglist.task`): magic-prefixed main header
//! records concatenated with no padding, as written by ALT's apt-rpm `genpkglist`.
//!
//! [`AptStream`] reads a list record by record from any reader of its plain (decompressed)
//! bytes, holding only the current record; [`apt_headers`] splits a list already in memory
//! and is a thin wrapper over the same reader. Headers carry the APT index tags
//! (`Tag::APTINDEXLEGACY*`, 1000000+) besides a subset of the package's own tags.

use std::io::Read;

use crate::error::{Error, Result};
use crate::header::Header;
use crate::tags::Tag;

/// Streams the headers of an APT header list: only the current record is in memory (its
/// size is bounded by librpm's header limits, checked before the record is read). Offsets,
/// in the headers' errors too, are offsets in the decompressed list.
///
/// The original stops silently at the first record whose magic does not match or that is
/// cut short. This reader instead yields that error once and then ends, so the caller can
/// decide whether a damaged tail is fatal (it usually should be logged, not ignored).
#[derive(Debug)]
pub struct AptStream<R> {
    inner: R,
    pos: u64,
    buf: Vec<u8>,
    done: bool,
}

/// Reads into `buf` until it holds `want` more bytes or the input ends; returns how many
/// were added.
fn fill(r: &mut impl Read, buf: &mut Vec<u8>, want: u64) -> std::io::Result<u64> {
    let before = buf.len();
    r.take(want).read_to_end(buf)?;
    Ok((buf.len() - before) as u64)
}

impl<R: Read> AptStream<R> {
    /// A stream over the decompressed list `inner`.
    pub fn new(inner: R) -> Self {
        AptStream {
            inner,
            pos: 0,
            buf: Vec::new(),
            done: false,
        }
    }

    /// Offset of the next record to be read.
    pub fn position(&self) -> u64 {
        self.pos
    }

    /// The next header and its offset; `None` at the end of the list. After an error the
    /// stream ends. Errors of the header's accessors carry offsets inside the record: shift
    /// them with `e.shifted(offset)`.
    pub fn next_header(&mut self) -> Option<Result<(u64, Header<'_, Tag>)>> {
        match self.next_record()? {
            Ok(at) => match Header::<Tag>::from_record(&self.buf) {
                Ok(h) => Some(Ok((at, h))),
                Err(e) => {
                    self.done = true;
                    Some(Err(e.shifted(at)))
                }
            },
            Err(e) => Some(Err(e)),
        }
    }

    /// Reads the next whole record into `buf` and returns its offset; the record is not
    /// parsed beyond its intro.
    fn next_record(&mut self) -> Option<Result<u64>> {
        if self.done {
            return None;
        }
        let at = self.pos;
        let io_err = |offset: u64, source| Error::Io { offset, source };
        self.buf.clear();
        // Magic (8 bytes) and intro (il, dl).
        let got = match fill(&mut self.inner, &mut self.buf, 16) {
            Ok(n) => n,
            Err(e) => {
                self.done = true;
                return Some(Err(io_err(at, e)));
            }
        };
        if got == 0 {
            self.done = true;
            return None;
        }
        if got < 16 {
            return Some(Err(self.fail(at)));
        }
        let word = |i: usize| {
            u64::from(u32::from_be_bytes([
                self.buf[i],
                self.buf[i + 1],
                self.buf[i + 2],
                self.buf[i + 3],
            ]))
        };
        let rest = word(8) * 16 + word(12);
        if rest > 0 {
            // The header reader checks the magic and librpm's limits on il and dl before
            // anything more is read; "truncated" is the only answer that lets us go on.
            if !matches!(
                Header::<Tag>::from_record(&self.buf),
                Err(Error::Truncated { .. })
            ) {
                return Some(Err(self.fail(at)));
            }
            match fill(&mut self.inner, &mut self.buf, rest) {
                Ok(n) if n == rest => {}
                Ok(_) => return Some(Err(self.fail(at))),
                Err(e) => {
                    self.done = true;
                    return Some(Err(io_err(at + 16, e)));
                }
            }
        }
        self.pos += self.buf.len() as u64;
        Some(Ok(at))
    }

    /// Ends the stream with the header reader's own error for the partial record in `buf`.
    fn fail(&mut self, at: u64) -> Error {
        self.done = true;
        let e = match Header::<Tag>::from_record(&self.buf) {
            Err(e) => e,
            // Not reached (callers pass a record the reader rejects); an error, not a panic.
            Ok(_) => Error::Truncated {
                offset: 0,
                what: "header",
                needed: self.buf.len() as u64 + 1,
                available: self.buf.len() as u64,
            },
        };
        e.shifted(at)
    }
}

/// Iterator over the headers of an APT header list held in memory; see [`apt_headers`].
#[derive(Debug)]
pub struct AptHeaders<'a> {
    buf: &'a [u8],
    stream: AptStream<&'a [u8]>,
}

/// Splits an APT header list held in memory into headers that borrow it. Offsets (in
/// headers and errors) are offsets in `buf`. The records are found by [`AptStream`], so
/// both yield the same headers and the same errors.
pub fn apt_headers(buf: &[u8]) -> AptHeaders<'_> {
    AptHeaders {
        buf,
        stream: AptStream::new(buf),
    }
}

impl<'a> AptHeaders<'a> {
    /// Offset of the next record to be read.
    pub fn position(&self) -> usize {
        self.stream.position() as usize
    }
}

impl<'a> Iterator for AptHeaders<'a> {
    type Item = Result<Header<'a, Tag>>;

    fn next(&mut self) -> Option<Self::Item> {
        Some(match self.stream.next_record()? {
            // The same bytes the stream read, parsed where they lie so the header borrows
            // `buf` and its offsets are absolute.
            Ok(at) => Header::parse_at(self.buf, at as usize, true).inspect_err(|_| {
                self.stream.done = true;
            }),
            Err(e) => Err(e),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::header::tests::record;

    #[test]
    fn splits_concatenated_records() {
        let mut list = record(&[(1000, 6, 0, 1)], b"a\0");
        let second = list.len();
        list.extend(record(
            &[(1000, 6, 0, 1), (1_000_000, 6, 2, 1)],
            b"b\0b.rpm\0",
        ));
        let hs: Vec<_> = apt_headers(&list).collect::<Result<_>>().unwrap();
        assert_eq!(hs.len(), 2);
        assert_eq!(hs[1].offset(), second as u64);
        assert_eq!(hs[1].text(Tag::APTINDEXLEGACYFILENAME).unwrap(), "b.rpm");
        assert_eq!(apt_headers(&[]).count(), 0);
    }

    #[test]
    fn stream_matches_buffer() {
        let mut list = record(&[(1000, 6, 0, 1)], b"a\0");
        let second = list.len() as u64;
        list.extend(record(&[(1000, 6, 0, 1)], b"bbb"));
        let mut s = AptStream::new(&list[..]);
        assert_eq!(s.next_header().unwrap().unwrap().0, 0);
        let e = s.next_header().unwrap().unwrap_err();
        assert!(
            matches!(e, Error::UnterminatedString { offset, .. } if offset == second + 16),
            "{e:?}"
        );
        assert!(s.next_header().is_none());
    }

    #[test]
    fn damaged_tail_is_one_error() {
        let mut list = record(&[(1000, 6, 0, 1)], b"a\0");
        let good = list.len();
        list.extend(record(&[(1000, 6, 0, 1)], b"bbb"));
        let items: Vec<_> = apt_headers(&list).collect();
        assert_eq!(items.len(), 2);
        assert!(matches!(
            items[1],
            Err(Error::UnterminatedString { offset, .. }) if offset == good as u64 + 16
        ));
        let cut = &list[..good + 20];
        let items: Vec<_> = apt_headers(cut).collect();
        assert!(
            matches!(items[1], Err(Error::Truncated { .. })),
            "{:?}",
            items[1]
        );
    }
}
