//! APT header lists (`pkglist.*`, `srclist.*`, `pkglist.task`): magic-prefixed main header
//! records concatenated with no padding, as written by ALT's apt-rpm `genpkglist`.
//!
//! Decompress `.xz` lists first; this module only splits the plain bytes. Headers carry the
//! APT index tags (`Tag::APTINDEXLEGACY*`, 1000000+) besides a subset of the package's own
//! tags.

use crate::error::Result;
use crate::header::Header;
use crate::tags::Tag;

/// Iterator over the headers of an APT header list; see [`apt_headers`].
#[derive(Clone, Debug)]
pub struct AptHeaders<'a> {
    buf: &'a [u8],
    pos: usize,
}

/// Splits an APT header list into headers. Offsets (in headers and errors) are offsets in
/// `buf`.
///
/// The original stops silently at the first record whose magic does not match or that is
/// cut short. This iterator instead yields that error once and then ends, so the caller can
/// decide whether a damaged tail is fatal (it usually should be logged, not ignored).
pub fn apt_headers(buf: &[u8]) -> AptHeaders<'_> {
    AptHeaders { buf, pos: 0 }
}

impl<'a> AptHeaders<'a> {
    /// Offset of the next record to be read.
    pub fn position(&self) -> usize {
        self.pos
    }
}

impl<'a> Iterator for AptHeaders<'a> {
    type Item = Result<Header<'a, Tag>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.pos >= self.buf.len() {
            return None;
        }
        match Header::<Tag>::parse_at(self.buf, self.pos, true) {
            Ok(h) => {
                self.pos += h.record_len().max(1);
                Some(Ok(h))
            }
            Err(e) => {
                self.pos = self.buf.len();
                Some(Err(e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::header::tests::record;
    use crate::Error;

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
