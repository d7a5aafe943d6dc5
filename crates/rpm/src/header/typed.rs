//! Accessors of main headers that know what the tags mean (files, dependencies, package kind)
//! and librpm's file class of a mode.

use std::borrow::Cow;

use super::*;

/// librpm's class of a file without a stored class string (`makeFClass` in rpm ≥ 4.9,
/// what `%{FILECLASS}` and the rpm bindings report): block and character devices,
/// directories, FIFOs and sockets get the words `file(1)` uses; a symbolic link gets
/// ``symbolic link to `TARGET'`` (just ``symbolic link to ` `` when the header has no
/// FILELINKTOS, as librpm's string concatenation stops at the missing target); a regular
/// file, or an unknown type, gets `""`.
pub fn class_of_mode(mode: u16, link_target: Option<&[u8]>) -> Cow<'static, [u8]> {
    const S_IFMT: u16 = 0o170000;
    let word: &'static [u8] = match mode & S_IFMT {
        0o060000 => b"block special",
        0o020000 => b"character special",
        0o040000 => b"directory",
        0o010000 => b"fifo (named pipe)",
        0o140000 => b"socket",
        0o120000 => {
            let mut s = b"symbolic link to `".to_vec();
            if let Some(t) = link_target {
                s.extend_from_slice(t);
                s.push(b'\'');
            }
            return Cow::Owned(s);
        }
        _ => b"",
    };
    Cow::Borrowed(word)
}

impl<'a> Header<'a, Tag> {
    /// Number of files: the length of BASENAMES, else of OLDFILENAMES (rpm 3 packages).
    pub fn file_count(&self) -> Result<usize> {
        if self.contains(Tag::BASENAMES) {
            Ok(self.string_array(Tag::BASENAMES)?.len())
        } else if self.contains(Tag::OLDFILENAMES) {
            Ok(self.string_array(Tag::OLDFILENAMES)?.len())
        } else {
            Ok(self.string_array(Tag::FILENAMES)?.len())
        }
    }

    /// The FILENAMES extension tag (5000): `DIRNAMES[DIRINDEXES[i]] + BASENAMES[i]`, or
    /// OLDFILENAMES for packages from before compressed file lists. Empty for a package
    /// without files.
    pub fn file_names(&self) -> Result<Vec<Cow<'a, [u8]>>> {
        if let Some(bases) = self.entry(Tag::BASENAMES) {
            let bases = bases.strings()?;
            let dirs: Vec<&[u8]> = self.string_array(Tag::DIRNAMES)?.collect();
            let idx = self.u32_array(Tag::DIRINDEXES)?;
            let idx_off = self
                .entry(Tag::DIRINDEXES)
                .map_or(self.offset, |e| e.offset);
            if idx.len() != bases.len() {
                return Err(Error::LengthMismatch {
                    offset: idx_off,
                    tag: Tag::DIRINDEXES.into(),
                    len: idx.len() as u64,
                    other: Tag::BASENAMES.into(),
                    other_len: bases.len() as u64,
                });
            }
            let mut out = Vec::with_capacity(bases.len());
            for (base, i) in bases.zip(idx) {
                let dir = dirs.get(i as usize).ok_or(Error::IndexOutOfRange {
                    offset: idx_off,
                    tag: Tag::DIRINDEXES.into(),
                    index: i.into(),
                    target: Tag::DIRNAMES.into(),
                    len: dirs.len() as u64,
                })?;
                let mut name = Vec::with_capacity(dir.len() + base.len());
                name.extend_from_slice(dir);
                name.extend_from_slice(base);
                out.push(Cow::Owned(name));
            }
            return Ok(out);
        }
        let tag = if self.contains(Tag::OLDFILENAMES) {
            Tag::OLDFILENAMES
        } else {
            Tag::FILENAMES
        };
        Ok(self.string_array(tag)?.map(Cow::Borrowed).collect())
    }

    /// The FILECLASS extension as librpm reports it (`%{FILECLASS}`, the rpm bindings'
    /// `RPMTAG_FILECLASS`): for each file, its class string from CLASSDICT (FILECLASS holds
    /// indexes into it); when that string is empty, or the file has none (no FILECLASS, or
    /// an index past the dictionary), the class named by the file type in FILEMODES — see
    /// [`class_of_mode`]. Regular files without a stored class get `""`. Empty for a package
    /// without files.
    pub fn file_classes(&self) -> Result<Vec<Cow<'a, [u8]>>> {
        let n = self.file_count()?;
        let stored: Vec<&'a [u8]> = match self.entry(Tag::FILECLASS) {
            None => vec![&[][..]; n],
            Some(fc) => {
                let idx = fc.u32s()?;
                self.check_file_array(&fc, idx.len(), n)?;
                let dict: Vec<&[u8]> = self.string_array(Tag::CLASSDICT)?.collect();
                idx.map(|i| dict.get(i as usize).copied().unwrap_or(&[]))
                    .collect()
            }
        };
        if stored.iter().all(|c| !c.is_empty()) {
            return Ok(stored.into_iter().map(Cow::Borrowed).collect());
        }
        let modes = match self.entry(Tag::FILEMODES) {
            None => None,
            Some(e) => {
                let v = e.u32s()?;
                self.check_file_array(&e, v.len(), n)?;
                Some(v)
            }
        };
        let links = match self.entry(Tag::FILELINKTOS) {
            None => None,
            Some(e) => {
                let v: Vec<&'a [u8]> = e.strings()?.collect();
                self.check_file_array(&e, v.len(), n)?;
                Some(v)
            }
        };
        Ok(stored
            .into_iter()
            .enumerate()
            .map(|(i, class)| {
                if !class.is_empty() {
                    return Cow::Borrowed(class);
                }
                // INT16 entries: the mode fits in 16 bits.
                let mode = modes.as_ref().and_then(|m| m.get(i)).unwrap_or(0) as u16;
                let link = links.as_ref().and_then(|l| l.get(i).copied());
                class_of_mode(mode, link)
            })
            .collect())
    }

    /// An array that must have one element per file.
    fn check_file_array(&self, e: &Entry<'a, Tag>, len: usize, files: usize) -> Result<()> {
        if len == files {
            return Ok(());
        }
        Err(Error::LengthMismatch {
            offset: e.offset,
            tag: e.tag().into(),
            len: len as u64,
            other: Tag::FILENAMES.into(),
            other_len: files as u64,
        })
    }

    /// EPOCH (= SERIAL), if present.
    pub fn epoch(&self) -> Result<Option<u32>> {
        self.u32(Tag::EPOCH)
    }

    /// True if SOURCEPACKAGE is set and non-zero. For `.rpm` files this includes librpm's
    /// rule: a source lead without SOURCERPM counts as SOURCEPACKAGE = 1.
    pub fn is_source(&self) -> Result<bool> {
        Ok(self.u32(Tag::SOURCEPACKAGE)?.is_some_and(|v| v != 0))
    }
}

impl From<Tag> for crate::tags::AnyTag {
    fn from(t: Tag) -> Self {
        crate::tags::AnyTag::Header(t)
    }
}

impl From<crate::tags::SigTag> for crate::tags::AnyTag {
    fn from(t: crate::tags::SigTag) -> Self {
        crate::tags::AnyTag::Signature(t)
    }
}
