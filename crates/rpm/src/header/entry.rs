//! Typed views of one validated index entry and of its array data.

use std::fmt;

use super::*;

/// One index entry with its validated data.
#[derive(Clone, Copy)]
pub struct Entry<'a, T: TagKind = Tag> {
    pub(super) tag: T,
    pub(super) ty: EntryType,
    pub(super) count: u32,
    pub(super) data: &'a [u8],
    pub(super) offset: u64,
}

impl<'a, T: TagKind> Entry<'a, T> {
    /// The tag.
    pub fn tag(&self) -> T {
        self.tag
    }

    /// The entry type.
    pub fn ty(&self) -> EntryType {
        self.ty
    }

    /// The element count as stored.
    pub fn count(&self) -> u32 {
        self.count
    }

    /// The raw data bytes (strings include their NUL terminators).
    pub fn data(&self) -> &'a [u8] {
        self.data
    }

    /// Absolute input offset of the index entry.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    fn mismatch(&self, expected: &'static str) -> Error {
        Error::TypeMismatch {
            offset: self.offset,
            tag: self.tag.any(),
            expected,
            found: self.ty,
        }
    }

    /// The strings of a STRING (one), STRING_ARRAY or I18NSTRING entry.
    pub fn strings(&self) -> Result<StrArray<'a>> {
        match self.ty {
            EntryType::String => Ok(StrArray {
                data: self.data,
                remaining: 1,
            }),
            EntryType::StringArray | EntryType::I18nString => Ok(StrArray {
                data: self.data,
                remaining: self.count,
            }),
            _ => Err(self.mismatch("STRING, STRING_ARRAY or I18NSTRING")),
        }
    }

    /// The elements of a CHAR, INT8, INT16 or INT32 entry.
    pub fn u32s(&self) -> Result<U32Array<'a>> {
        match self.ty.int_width() {
            Some(w) if w <= 4 => Ok(U32Array(U64Array {
                data: self.data,
                width: w,
            })),
            _ => Err(self.mismatch("CHAR, INT8, INT16 or INT32")),
        }
    }

    /// The elements of any integer entry (CHAR, INT8 … INT64).
    pub fn u64s(&self) -> Result<U64Array<'a>> {
        match self.ty.int_width() {
            Some(w) => Ok(U64Array {
                data: self.data,
                width: w,
            }),
            None => Err(self.mismatch("an integer type")),
        }
    }

    /// The bytes of a BIN entry.
    pub fn bin(&self) -> Result<&'a [u8]> {
        match self.ty {
            EntryType::Bin => Ok(self.data),
            _ => Err(self.mismatch("BIN")),
        }
    }
}

impl<T: TagKind> fmt::Debug for Entry<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} count={} len={} @{}",
            self.tag,
            self.ty,
            self.count,
            self.data.len(),
            self.offset
        )
    }
}

/// Iterator over the NUL-terminated strings of an entry, without their NULs.
#[derive(Clone, Debug)]
pub struct StrArray<'a> {
    pub(super) data: &'a [u8],
    remaining: u32,
}

impl<'a> StrArray<'a> {
    /// An array with no strings.
    pub fn empty() -> Self {
        StrArray {
            data: &[],
            remaining: 0,
        }
    }
}

impl<'a> Iterator for StrArray<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.remaining == 0 {
            return None;
        }
        self.remaining -= 1;
        // Parsing guaranteed a NUL per string; without one, yield the rest once.
        match memchr::memchr(0, self.data) {
            Some(i) => {
                let (s, rest) = self.data.split_at(i);
                self.data = rest.get(1..).unwrap_or(&[]);
                Some(s)
            }
            None => {
                self.remaining = 0;
                Some(std::mem::take(&mut self.data))
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining as usize, Some(self.remaining as usize))
    }
}

impl ExactSizeIterator for StrArray<'_> {}

/// Iterator over the big-endian integers of an entry, widened to u64.
#[derive(Clone, Debug)]
pub struct U64Array<'a> {
    pub(super) data: &'a [u8],
    width: u8,
}

impl<'a> U64Array<'a> {
    /// An array with no elements.
    pub fn empty() -> Self {
        U64Array {
            data: &[],
            width: 4,
        }
    }

    /// Element `i`, if in range.
    pub fn get(&self, i: usize) -> Option<u64> {
        let w = usize::from(self.width);
        let b = self
            .data
            .get(i.checked_mul(w)?..i.checked_mul(w)?.checked_add(w)?)?;
        Some(b.iter().fold(0u64, |acc, &x| (acc << 8) | u64::from(x)))
    }
}

impl Iterator for U64Array<'_> {
    type Item = u64;

    fn next(&mut self) -> Option<u64> {
        let v = self.get(0)?;
        self.data = self.data.get(usize::from(self.width)..).unwrap_or(&[]);
        Some(v)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.data.len() / usize::from(self.width.max(1));
        (n, Some(n))
    }
}

impl ExactSizeIterator for U64Array<'_> {}

/// Iterator over integers of at most 32 bits, widened to u32.
#[derive(Clone, Debug)]
pub struct U32Array<'a>(pub(super) U64Array<'a>);

impl U32Array<'_> {
    /// Element `i`, if in range.
    pub fn get(&self, i: usize) -> Option<u32> {
        self.0.get(i).map(|v| v as u32)
    }
}

impl Iterator for U32Array<'_> {
    type Item = u32;

    fn next(&mut self) -> Option<u32> {
        // Width is at most 4 here, so the value fits.
        self.0.next().map(|v| v as u32)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl ExactSizeIterator for U32Array<'_> {}
