//! From a header to plain domain values (original §5.4–5.6): package fields, changelog,
//! files, dependencies. Pure functions, no ClickHouse types; the rows layer narrows integer
//! widths and picks column types.
//!
//! Text follows [`crate::text`]: valid UTF-8 as is, otherwise latin-1. (The original decoded
//! everything as latin-1 and so stored non-ASCII UTF-8 double-encoded; that is a deliberate
//! difference, and hashes of text are computed over the text as stored here.)
//!
//! Parallel arrays: the original zipped them, so a shorter array silently cut the list.
//! Here an array that is present must have the full length (else
//! [`Error::LengthMismatch`]); an array that is absent gives defaults (`""`, 0), which is
//! what librpm shows for such headers. The changelog's three arrays must match exactly, as
//! in the original.

use std::borrow::Cow;
use std::sync::LazyLock;

use crate::error::{Error, Result};
use crate::header::{text, Header};
use crate::identity::mmhash;
use crate::tags::Tag;

/// Python's `str.strip()` with no argument: strips what `str.isspace()` accepts, which is
/// Unicode White_Space plus U+001C…U+001F.
pub fn py_strip(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c))
}

/// The original's packager regex, `\W?([\w\-\@'. ]+?)\W? (\W.+?\W )?<(.+?)>`, with Python's
/// `\w` for `str` (letters, numbers and `_`, i.e. `[\p{L}\p{N}_]`) spelled out. The `regex`
/// crate resolves lazy and optional parts leftmost-first like Python's backtracking `re`, so
/// `search` semantics carry over.
static PACKAGER_RE: LazyLock<regex::Regex> = LazyLock::new(|| {
    // A constant pattern; `packager_matches_python` exercises it.
    #[allow(clippy::expect_used)]
    regex::Regex::new(
        r"[^\p{L}\p{N}_]?([\p{L}\p{N}_\-@'. ]+?)[^\p{L}\p{N}_]? ([^\p{L}\p{N}_].+?[^\p{L}\p{N}_] )?<(.+?)>",
    )
    .expect("packager regex compiles")
});

/// Splits a PACKAGER value into `(name, email)` like the original's `parse_packager`:
/// the first regex match anywhere, both parts stripped, `" at "` in the email replaced by
/// `@`. No match: the whole string as name and an empty email.
pub fn parse_packager(packager: &str) -> (String, String) {
    let caps = PACKAGER_RE.captures(packager);
    match caps.as_ref().and_then(|c| Some((c.get(1)?, c.get(3)?))) {
        Some((name, email)) => (
            py_strip(name.as_str()).to_owned(),
            py_strip(email.as_str()).replace(" at ", "@"),
        ),
        None => (packager.to_owned(), String::new()),
    }
}

/// The `pkg_arch` rule: `x86_64-i586` for packages whose name starts with `i586-` (ALT's
/// biarch compat packages), else the header ARCH. Source packages keep their header ARCH.
pub fn pkg_arch<'s>(name: &str, arch: &'s str) -> Cow<'s, str> {
    if name.starts_with("i586-") {
        Cow::Borrowed("x86_64-i586")
    } else {
        Cow::Borrowed(arch)
    }
}

/// Splits a CHANGELOGNAME into `(name, evr)`: if splitting on `>` gives exactly two parts,
/// `name` is the first plus `>` and `evr` the second stripped; otherwise `name` is the whole
/// string and `evr` is empty.
pub fn split_changelog_name(s: &str) -> (String, String) {
    let mut parts = s.split('>');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(name), Some(evr), None) => (format!("{name}>"), py_strip(evr).to_owned()),
        _ => (s.to_owned(), String::new()),
    }
}

/// One changelog entry, in header order (newest first).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangelogEntry {
    /// CHANGELOGTIME, seconds since the epoch.
    pub date: u32,
    /// Author part of CHANGELOGNAME, up to and including `>`.
    pub name: String,
    /// The EVR after `>`, stripped; empty if the name had no single `>`.
    pub evr: String,
    /// CHANGELOGTEXT.
    pub text: String,
    /// [`mmhash`] of `text`'s UTF-8 bytes (`chlog_hash`).
    pub hash: u64,
}

fn mismatch(h: &Header<'_>, tag: Tag, len: usize, other: Tag, other_len: usize) -> Error {
    Error::LengthMismatch {
        offset: h.entry(tag).map_or(h.offset(), |e| e.offset()),
        tag: tag.into(),
        len: len as u64,
        other: other.into(),
        other_len: other_len as u64,
    }
}

/// The changelog. CHANGELOGTIME, CHANGELOGNAME and CHANGELOGTEXT must have equal lengths.
pub fn changelog(h: &Header<'_>) -> Result<Vec<ChangelogEntry>> {
    let times = h.u32_array(Tag::CHANGELOGTIME)?;
    let names = h.string_array(Tag::CHANGELOGNAME)?;
    let texts = h.string_array(Tag::CHANGELOGTEXT)?;
    if names.len() != times.len() {
        return Err(mismatch(
            h,
            Tag::CHANGELOGNAME,
            names.len(),
            Tag::CHANGELOGTIME,
            times.len(),
        ));
    }
    if texts.len() != times.len() {
        return Err(mismatch(
            h,
            Tag::CHANGELOGTEXT,
            texts.len(),
            Tag::CHANGELOGTIME,
            times.len(),
        ));
    }
    Ok(times
        .zip(names)
        .zip(texts)
        .map(|((date, name), body)| {
            let (name, evr) = split_changelog_name(&text(name));
            let body = text(body).into_owned();
            ChangelogEntry {
                date,
                name,
                evr,
                hash: mmhash(body.as_bytes()),
                text: body,
            }
        })
        .collect())
}

/// File type as stored in `Files.file_class`, from the FILECLASS string.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum FileClass {
    /// Regular file (also an empty class string).
    #[default]
    File = 0,
    /// Directory.
    Directory = 1,
    /// Symbolic link.
    Symlink = 2,
    /// Socket.
    Socket = 3,
    /// Block device.
    Block = 4,
    /// Character device.
    Char = 5,
    /// Named pipe.
    Fifo = 6,
    /// A class string matching none of the prefixes. The original produced `""`, which
    /// the Enum8 column rejects; the rows layer must decide.
    Unknown = -1,
}

impl FileClass {
    /// The original's mapping: `""` → file; otherwise the first matching prefix of
    /// `directory`, `symbolic link to`, `socket`, `character special`, `block special`,
    /// `fifo (named pipe)`, `file`.
    pub fn from_class(class: &str) -> FileClass {
        const TABLE: [(&str, FileClass); 7] = [
            ("directory", FileClass::Directory),
            ("symbolic link to", FileClass::Symlink),
            ("socket", FileClass::Socket),
            ("character special", FileClass::Char),
            ("block special", FileClass::Block),
            ("fifo (named pipe)", FileClass::Fifo),
            ("file", FileClass::File),
        ];
        if class.is_empty() {
            return FileClass::File;
        }
        TABLE
            .iter()
            .find(|(p, _)| class.starts_with(p))
            .map_or(FileClass::Unknown, |&(_, c)| c)
    }

    /// The class this project stores in `Files.file_class`: [`FileClass::Unknown`] becomes
    /// [`FileClass::File`] (a class string that is no file-type word, such as rpmbuild's
    /// `ELF 64-bit …` or `ASCII text`, describes a regular file; the original produced `''`,
    /// which the Enum8 column rejects). Every writer of Files rows and `rpm show` use this.
    pub fn stored(self) -> FileClass {
        match self {
            FileClass::Unknown => FileClass::File,
            c => c,
        }
    }

    /// The Enum8 name (`file`, `directory`, …; `""` for [`FileClass::Unknown`]).
    pub fn as_str(self) -> &'static str {
        match self {
            FileClass::File => "file",
            FileClass::Directory => "directory",
            FileClass::Symlink => "symlink",
            FileClass::Socket => "socket",
            FileClass::Block => "block",
            FileClass::Char => "char",
            FileClass::Fifo => "fifo",
            FileClass::Unknown => "",
        }
    }
}

/// One file of a package (`Files_insert` minus `pkg_hash`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileEntry {
    /// Full path (FILENAMES).
    pub name: String,
    /// FILELINKTOS.
    pub linkto: String,
    /// FILEMD5S (FILEDIGESTS) decoded from hex: 16 bytes for MD5, longer when
    /// FILEDIGESTALGO names another digest, empty for non-regular files.
    pub md5: Vec<u8>,
    /// FILESIZES, or LONGFILESIZES when only that is present.
    pub size: u64,
    /// FILEMODES.
    pub mode: u16,
    /// FILERDEVS.
    pub rdev: u16,
    /// FILEMTIMES, seconds since the epoch (the original converts to local time later).
    pub mtime: u32,
    /// FILEFLAGS (`%config`, `%doc`, …).
    pub flags: u32,
    /// FILEUSERNAME.
    pub username: String,
    /// FILEGROUPNAME.
    pub groupname: String,
    /// FILEVERIFYFLAGS.
    pub verifyflags: u32,
    /// FILEDEVICES.
    pub device: u32,
    /// FILELANGS.
    pub lang: String,
    /// From librpm's FILECLASS string ([`Header::file_classes`], which names directories,
    /// symlinks and special files without a stored class) via [`FileClass::from_class`].
    pub class: FileClass,
}

/// Collects a string array that must have `n` elements if present (`None` if absent).
fn strs_n<'a>(h: &Header<'a>, tag: Tag, n: usize) -> Result<Option<Vec<&'a [u8]>>> {
    if !h.contains(tag) {
        return Ok(None);
    }
    let v: Vec<&[u8]> = h.string_array(tag)?.collect();
    if v.len() != n {
        return Err(mismatch(h, tag, v.len(), Tag::FILENAMES, n));
    }
    Ok(Some(v))
}

/// An integer array that must have `n` elements if present (`None` if absent).
fn ints_n<'a>(h: &Header<'a>, tag: Tag, n: usize) -> Result<Option<crate::U64Array<'a>>> {
    if !h.contains(tag) {
        return Ok(None);
    }
    let v = h.u64_array(tag)?;
    if v.len() != n {
        return Err(mismatch(h, tag, v.len(), Tag::FILENAMES, n));
    }
    Ok(Some(v))
}

fn nth_str(v: &Option<Vec<&[u8]>>, i: usize) -> String {
    v.as_ref()
        .and_then(|v| v.get(i))
        .map_or_else(String::new, |s| text(s).into_owned())
}

fn nth_int(v: &Option<crate::U64Array<'_>>, i: usize) -> u64 {
    v.as_ref().and_then(|v| v.get(i)).unwrap_or(0)
}

/// The file list, in header order.
pub fn files(h: &Header<'_>) -> Result<Vec<FileEntry>> {
    let names = h.file_names()?;
    let n = names.len();
    let classes = h.file_classes()?;
    let linktos = strs_n(h, Tag::FILELINKTOS, n)?;
    let md5s = strs_n(h, Tag::FILEMD5S, n)?;
    let users = strs_n(h, Tag::FILEUSERNAME, n)?;
    let groups = strs_n(h, Tag::FILEGROUPNAME, n)?;
    let langs = strs_n(h, Tag::FILELANGS, n)?;
    let sizes = match ints_n(h, Tag::FILESIZES, n)? {
        Some(v) => Some(v),
        None => ints_n(h, Tag::LONGFILESIZES, n)?,
    };
    let modes = ints_n(h, Tag::FILEMODES, n)?;
    let rdevs = ints_n(h, Tag::FILERDEVS, n)?;
    let mtimes = ints_n(h, Tag::FILEMTIMES, n)?;
    let flags = ints_n(h, Tag::FILEFLAGS, n)?;
    let vflags = ints_n(h, Tag::FILEVERIFYFLAGS, n)?;
    let devices = ints_n(h, Tag::FILEDEVICES, n)?;
    let mut out = Vec::with_capacity(n);
    for (i, name) in names.iter().enumerate() {
        let md5_hex = md5s.as_ref().and_then(|v| v.get(i)).copied().unwrap_or(&[]);
        let md5 = hex::decode(md5_hex).map_err(|_| Error::BadHex {
            offset: h.entry(Tag::FILEMD5S).map_or(h.offset(), |e| e.offset()),
            tag: Tag::FILEMD5S.into(),
            value: text(md5_hex).into_owned(),
        })?;
        out.push(FileEntry {
            name: text(name).into_owned(),
            linkto: nth_str(&linktos, i),
            md5,
            size: nth_int(&sizes, i),
            // INT16 entries: the values fit.
            mode: nth_int(&modes, i) as u16,
            rdev: nth_int(&rdevs, i) as u16,
            mtime: nth_int(&mtimes, i) as u32,
            flags: nth_int(&flags, i) as u32,
            username: nth_str(&users, i),
            groupname: nth_str(&groups, i),
            verifyflags: nth_int(&vflags, i) as u32,
            device: nth_int(&devices, i) as u32,
            lang: nth_str(&langs, i),
            class: FileClass::from_class(&text(classes.get(i).map_or(&[][..], |c| c))),
        });
    }
    Ok(out)
}

/// Dependency kind, with the `Depends.dp_type` Enum8 values.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum DepKind {
    /// REQUIRENAME / REQUIREVERSION / REQUIREFLAGS.
    #[default]
    Require = 1,
    /// CONFLICTNAME / …
    Conflict = 2,
    /// OBSOLETENAME / …
    Obsolete = 3,
    /// PROVIDENAME / …
    Provide = 4,
}

impl DepKind {
    /// All kinds, in the original's insert order.
    pub const ALL: [DepKind; 4] = [
        DepKind::Require,
        DepKind::Conflict,
        DepKind::Obsolete,
        DepKind::Provide,
    ];

    /// The `(name, version, flags)` tags of this kind.
    pub fn tags(self) -> (Tag, Tag, Tag) {
        match self {
            DepKind::Require => (Tag::REQUIRENAME, Tag::REQUIREVERSION, Tag::REQUIREFLAGS),
            DepKind::Conflict => (Tag::CONFLICTNAME, Tag::CONFLICTVERSION, Tag::CONFLICTFLAGS),
            DepKind::Obsolete => (Tag::OBSOLETENAME, Tag::OBSOLETEVERSION, Tag::OBSOLETEFLAGS),
            DepKind::Provide => (Tag::PROVIDENAME, Tag::PROVIDEVERSION, Tag::PROVIDEFLAGS),
        }
    }

    /// The Enum8 name (`require`, `conflict`, `obsolete`, `provide`).
    pub fn as_str(self) -> &'static str {
        match self {
            DepKind::Require => "require",
            DepKind::Conflict => "conflict",
            DepKind::Obsolete => "obsolete",
            DepKind::Provide => "provide",
        }
    }
}

/// One dependency. ALT set-versions (`set:…`) and rich dependencies are kept verbatim.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dependency {
    /// The name (or rich expression).
    pub name: String,
    /// The version, `""` if none.
    pub version: String,
    /// The raw RPMSENSE bitmask.
    pub flags: u32,
}

/// The dependencies of one kind, zipped index-wise from the name/version/flags arrays.
pub fn dependencies(h: &Header<'_>, kind: DepKind) -> Result<Vec<Dependency>> {
    let (nt, vt, ft) = kind.tags();
    let names = h.string_array(nt)?;
    let n = names.len();
    let versions: Vec<&[u8]> = h.string_array(vt)?.collect();
    if h.contains(vt) && versions.len() != n {
        return Err(mismatch(h, vt, versions.len(), nt, n));
    }
    let flags = h.u32_array(ft)?;
    if h.contains(ft) && flags.len() != n {
        return Err(mismatch(h, ft, flags.len(), nt, n));
    }
    Ok(names
        .enumerate()
        .map(|(i, name)| Dependency {
            name: text(name).into_owned(),
            version: versions
                .get(i)
                .map_or_else(String::new, |v| text(v).into_owned()),
            flags: flags.get(i).unwrap_or(0),
        })
        .collect())
}

/// The `Packages` fields that come from the header (§5.4), as plain values. Loader-supplied
/// columns (file name, file size, srcrpm hash) and `pkg_hash` ([`Header::pkg_hash`]) are not
/// here.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PackageMeta {
    /// NAME.
    pub name: String,
    /// EPOCH; `None` if absent (the columns store 0 then: [`PackageMeta::epoch_or_zero`]).
    pub epoch: Option<u32>,
    /// VERSION.
    pub version: String,
    /// RELEASE.
    pub release: String,
    /// ARCH as in the header.
    pub arch: String,
    /// `pkg_arch` ([`pkg_arch`]).
    pub pkg_arch: String,
    /// SHA1HEADER decoded from hex (`pkg_cs`, 20 bytes; empty if absent).
    pub sha1header: Vec<u8>,
    /// SIGMD5 (16 bytes; empty if absent).
    pub sigmd5: Vec<u8>,
    /// Name part of PACKAGER ([`parse_packager`]).
    pub packager: String,
    /// E-mail part of PACKAGER.
    pub packager_email: String,
    /// BUILDTIME.
    pub buildtime: u32,
    /// BUILDHOST.
    pub buildhost: String,
    /// SIZE, or LONGSIZE.
    pub size: u64,
    /// ARCHIVESIZE (signature PAYLOADSIZE merged), or LONGARCHIVESIZE.
    pub archivesize: u64,
    /// RPMVERSION.
    pub rpmversion: String,
    /// COOKIE.
    pub cookie: String,
    /// SOURCEPACKAGE set and non-zero.
    pub sourcepackage: bool,
    /// DISTTAG (ALT, 1155).
    pub disttag: String,
    /// SOURCERPM as in the header (the loader replaces it with the file name for sources).
    pub sourcerpm: String,
    /// SUMMARY, C locale.
    pub summary: String,
    /// DESCRIPTION, C locale.
    pub description: String,
    /// The changelog.
    pub changelog: Vec<ChangelogEntry>,
    /// DISTRIBUTION.
    pub distribution: String,
    /// VENDOR.
    pub vendor: String,
    /// GIF.
    pub gif: Vec<u8>,
    /// XPM.
    pub xpm: Vec<u8>,
    /// LICENSE.
    pub license: String,
    /// GROUP, C locale.
    pub group: String,
    /// URL.
    pub url: String,
    /// OS.
    pub os: String,
    /// PREIN.
    pub prein: String,
    /// POSTIN.
    pub postin: String,
    /// PREUN.
    pub preun: String,
    /// POSTUN.
    pub postun: String,
    /// ICON.
    pub icon: Vec<u8>,
    /// PREINPROG.
    pub preinprog: Vec<String>,
    /// POSTINPROG.
    pub postinprog: Vec<String>,
    /// PREUNPROG.
    pub preunprog: Vec<String>,
    /// POSTUNPROG.
    pub postunprog: Vec<String>,
    /// BUILDARCHS.
    pub buildarchs: Vec<String>,
    /// VERIFYSCRIPT.
    pub verifyscript: String,
    /// VERIFYSCRIPTPROG.
    pub verifyscriptprog: Vec<String>,
    /// PREFIXES.
    pub prefixes: Vec<String>,
    /// INSTPREFIXES.
    pub instprefixes: Vec<String>,
    /// OPTFLAGS.
    pub optflags: String,
    /// DISTURL.
    pub disturl: String,
    /// PAYLOADFORMAT.
    pub payloadformat: String,
    /// PAYLOADCOMPRESSOR.
    pub payloadcompressor: String,
    /// PAYLOADFLAGS.
    pub payloadflags: String,
    /// PLATFORM.
    pub platform: String,
}

impl PackageMeta {
    /// Reads every field from `h` (a merged package header, an rpmdb blob or an APT list
    /// header).
    pub fn from_header(h: &Header<'_>) -> Result<PackageMeta> {
        let s = |t: Tag| -> Result<String> { Ok(h.text(t)?.into_owned()) };
        let a = |t: Tag| -> Result<Vec<String>> {
            Ok(h.text_array(t)?.into_iter().map(Cow::into_owned).collect())
        };
        let b = |t: Tag| -> Result<Vec<u8>> { Ok(h.bin(t)?.unwrap_or(&[]).to_vec()) };
        let name = s(Tag::NAME)?;
        let arch = s(Tag::ARCH)?;
        let (packager, packager_email) = parse_packager(&h.text(Tag::PACKAGER)?);
        let sha1_hex = h.string(Tag::SHA1HEADER)?.unwrap_or(&[]);
        let sha1header = hex::decode(sha1_hex).map_err(|_| Error::BadHex {
            offset: h.entry(Tag::SHA1HEADER).map_or(h.offset(), |e| e.offset()),
            tag: Tag::SHA1HEADER.into(),
            value: text(sha1_hex).into_owned(),
        })?;
        let size = match h.u64(Tag::SIZE)? {
            Some(v) => v,
            None => h.u64(Tag::LONGSIZE)?.unwrap_or(0),
        };
        let archivesize = match h.u64(Tag::ARCHIVESIZE)? {
            Some(v) => v,
            None => h.u64(Tag::LONGARCHIVESIZE)?.unwrap_or(0),
        };
        Ok(PackageMeta {
            pkg_arch: pkg_arch(&name, &arch).into_owned(),
            name,
            epoch: h.epoch()?,
            version: s(Tag::VERSION)?,
            release: s(Tag::RELEASE)?,
            arch,
            sha1header,
            sigmd5: b(Tag::SIGMD5)?,
            packager,
            packager_email,
            buildtime: h.u32(Tag::BUILDTIME)?.unwrap_or(0),
            buildhost: s(Tag::BUILDHOST)?,
            size,
            archivesize,
            rpmversion: s(Tag::RPMVERSION)?,
            cookie: s(Tag::COOKIE)?,
            sourcepackage: h.is_source()?,
            disttag: s(Tag::DISTTAG)?,
            sourcerpm: s(Tag::SOURCERPM)?,
            summary: s(Tag::SUMMARY)?,
            description: s(Tag::DESCRIPTION)?,
            changelog: changelog(h)?,
            distribution: s(Tag::DISTRIBUTION)?,
            vendor: s(Tag::VENDOR)?,
            gif: b(Tag::GIF)?,
            xpm: b(Tag::XPM)?,
            license: s(Tag::LICENSE)?,
            group: s(Tag::GROUP)?,
            url: s(Tag::URL)?,
            os: s(Tag::OS)?,
            prein: s(Tag::PREIN)?,
            postin: s(Tag::POSTIN)?,
            preun: s(Tag::PREUN)?,
            postun: s(Tag::POSTUN)?,
            icon: b(Tag::ICON)?,
            preinprog: a(Tag::PREINPROG)?,
            postinprog: a(Tag::POSTINPROG)?,
            preunprog: a(Tag::PREUNPROG)?,
            postunprog: a(Tag::POSTUNPROG)?,
            buildarchs: a(Tag::BUILDARCHS)?,
            verifyscript: s(Tag::VERIFYSCRIPT)?,
            verifyscriptprog: a(Tag::VERIFYSCRIPTPROG)?,
            prefixes: a(Tag::PREFIXES)?,
            instprefixes: a(Tag::INSTPREFIXES)?,
            optflags: s(Tag::OPTFLAGS)?,
            disturl: s(Tag::DISTURL)?,
            payloadformat: s(Tag::PAYLOADFORMAT)?,
            payloadcompressor: s(Tag::PAYLOADCOMPRESSOR)?,
            payloadflags: s(Tag::PAYLOADFLAGS)?,
            platform: s(Tag::PLATFORM)?,
        })
    }

    /// EPOCH, 0 if absent (`pkg_epoch`, `pkg_serial_`).
    pub fn epoch_or_zero(&self) -> u32 {
        self.epoch.unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Expected values produced by the original's `parse_packager` under CPython 3
    /// (`/root/.local/share/altrepodb/venv/bin/python`, `re` module), 2026-11-24.
    #[test]
    fn packager_matches_python() {
        let cases: &[(&str, Option<(&str, &str)>)] = &[
            (
                "Ivan Ivanov <ivan@altlinux.org>",
                Some(("Ivan Ivanov", "ivan@altlinux.org")),
            ),
            (
                "Ivan Ivanov <ivan at altlinux.org>",
                Some(("Ivan Ivanov", "ivan@altlinux.org")),
            ),
            (
                "Ivan Ivanov <ivan at altlinux dot org>",
                Some(("Ivan Ivanov", "ivan@altlinux dot org")),
            ),
            ("Fedora Project", None),
            ("", None),
            (
                "SUSE LLC <https://www.suse.com/>",
                Some(("SUSE LLC", "https://www.suse.com/")),
            ),
            (
                "Red Hat, Inc. <http://bugzilla.redhat.com/bugzilla>",
                Some(("Inc", "http://bugzilla.redhat.com/bugzilla")),
            ),
            (
                "Dmitry V. Levin (QA) <ldv@altlinux.org>",
                Some(("Dmitry V. Levin", "ldv@altlinux.org")),
            ),
            (
                "Dmitry V. Levin 'ldv' <ldv@altlinux.org>",
                Some(("Dmitry V. Levin", "ldv@altlinux.org")),
            ),
            (
                "Sergey Bolshakov <sbolshakov@altlinux.ru>, Ivan <x@y>",
                Some(("Sergey Bolshakov", "sbolshakov@altlinux.ru")),
            ),
            ("<nobody@example.com>", None),
            ("x <a>", Some(("x", "a"))),
            (
                "John O'Connor <john@example.com>",
                Some(("John O'Connor", "john@example.com")),
            ),
            ("Jöhn Dœ <j@d.e>", Some(("Jöhn Dœ", "j@d.e"))),
            // UTF-8 "Иван" read as latin-1: C1 controls are not \w.
            (
                "\u{d0}\u{98}\u{d0}\u{b2}\u{d0}\u{b0}\u{d0}\u{bd} <i@a.org>",
                Some(("\u{d0}\u{bd}", "i@a.org")),
            ),
            ("Name\n <mail@x>", Some(("Name", "mail@x"))),
            (" Name  <  mail@x  >", Some(("Name", "mail@x"))),
            ("Name <mail@x", None),
            ("Name <>", None),
            ("Name <<a@b>>", Some(("Name", "<a@b"))),
            ("Foo Bar (Baz) Qux <foo@bar>", Some(("Qux", "foo@bar"))),
            ("A ² B <c@d>", Some(("A ² B", "c@d"))),
            ("\"Quoted Name\" <q@n>", Some(("Quoted Name", "q@n"))),
            (
                "Mr. Foo-Bar_Baz@home <fb@x.y>",
                Some(("Mr. Foo-Bar_Baz@home", "fb@x.y")),
            ),
            (
                "Николай Петров <np@altlinux.org>",
                Some(("Николай Петров", "np@altlinux.org")),
            ),
            (
                "ALT Linux Team <http://bugzilla.altlinux.org>",
                Some(("ALT Linux Team", "http://bugzilla.altlinux.org")),
            ),
            ("Name  <a at b at c>", Some(("Name", "a@b@c"))),
            ("n <a>\n<b>", Some(("n", "a"))),
            ("Имя\u{a0}<e@x>", None),
        ];
        for &(input, want) in cases {
            let want = want.map_or((input.to_owned(), String::new()), |(n, e)| {
                (n.to_owned(), e.to_owned())
            });
            assert_eq!(parse_packager(input), want, "{input:?}");
        }
    }

    #[test]
    fn changelog_name_split() {
        assert_eq!(
            split_changelog_name("Ivan <ivan@altlinux> 1.0-alt1"),
            ("Ivan <ivan@altlinux>".into(), "1.0-alt1".into())
        );
        assert_eq!(
            split_changelog_name("Ivan <ivan@altlinux>"),
            ("Ivan <ivan@altlinux>".into(), "".into())
        );
        assert_eq!(
            split_changelog_name("a > b > c"),
            ("a > b > c".into(), "".into())
        );
        assert_eq!(
            split_changelog_name("no email"),
            ("no email".into(), "".into())
        );
        assert_eq!(
            split_changelog_name("x <y> \u{1f}2:1.0-alt1\u{85} "),
            ("x <y>".into(), "2:1.0-alt1".into())
        );
    }

    #[test]
    fn file_class_table() {
        let cases = [
            ("", FileClass::File),
            ("directory", FileClass::Directory),
            ("symbolic link to `foo'", FileClass::Symlink),
            ("socket", FileClass::Socket),
            ("character special", FileClass::Char),
            ("block special", FileClass::Block),
            ("fifo (named pipe)", FileClass::Fifo),
            ("file", FileClass::File),
            ("ELF 64-bit LSB shared object", FileClass::Unknown),
            ("ASCII text", FileClass::Unknown),
        ];
        for (s, want) in cases {
            assert_eq!(FileClass::from_class(s), want, "{s:?}");
        }
        assert_eq!(FileClass::Symlink.as_str(), "symlink");
        assert_eq!(FileClass::Unknown.stored(), FileClass::File);
        assert_eq!(FileClass::Fifo.stored(), FileClass::Fifo);
    }

    #[test]
    fn arch_rule() {
        assert_eq!(pkg_arch("i586-libfoo", "i586"), "x86_64-i586");
        assert_eq!(pkg_arch("libfoo", "x86_64"), "x86_64");
        assert_eq!(pkg_arch("foo", "noarch"), "noarch");
    }

    use crate::header::tests::blob;
    use crate::Error;

    #[test]
    fn changelog_entries_and_length_check() {
        let mut st = Vec::new();
        st.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 2]); // 0: CHANGELOGTIME
        st.extend_from_slice(b"A <a@x> 1.0-alt1\0B <b@x>\0"); // 8: CHANGELOGNAME
        st.extend_from_slice(b"- new\0- old\xe4\0"); // CHANGELOGTEXT
        let names_at = 8;
        let texts_at = 8 + 25;
        let b = blob(
            &[
                (1080, 4, 0, 2),
                (1081, 8, names_at, 2),
                (1082, 8, texts_at, 2),
            ],
            &st,
        );
        let h = Header::from_blob(&b).unwrap();
        let log = changelog(&h).unwrap();
        assert_eq!(log.len(), 2);
        assert_eq!(log[0].date, 1);
        assert_eq!(log[0].name, "A <a@x>");
        assert_eq!(log[0].evr, "1.0-alt1");
        assert_eq!(log[0].text, "- new");
        assert_eq!(log[0].hash, mmhash(b"- new"));
        assert_eq!(log[1].name, "B <b@x>");
        assert_eq!(log[1].evr, "");
        // Not UTF-8: latin-1, and the hash is over the text as stored.
        assert_eq!(log[1].text, "- old\u{e4}");
        assert_eq!(log[1].hash, mmhash("- old\u{e4}".as_bytes()));

        let b = blob(
            &[
                (1080, 4, 0, 2),
                (1081, 8, names_at, 1),
                (1082, 8, texts_at, 2),
            ],
            &st,
        );
        let e = changelog(&Header::from_blob(&b).unwrap()).unwrap_err();
        assert!(
            matches!(
                e,
                Error::LengthMismatch {
                    offset: 24,
                    len: 1,
                    other_len: 2,
                    ..
                }
            ),
            "{e:?}"
        );
        let b = blob(&[(1080, 4, 0, 2), (1081, 8, names_at, 2)], &st);
        assert!(changelog(&Header::from_blob(&b).unwrap()).is_err());
        let b = blob(&[], &[]);
        assert!(changelog(&Header::from_blob(&b).unwrap())
            .unwrap()
            .is_empty());
    }

    #[test]
    fn dependencies_zip_and_check_lengths() {
        let mut st = Vec::new();
        st.extend_from_slice(b"libc.so.6\0libcap.so.2()(64bit)\0");
        let v = st.len() as i32;
        st.extend_from_slice(b"\0set:khzEPfceLefn9ZosZm0\0");
        let f = st.len() as i32;
        st.extend_from_slice(&[0, 0, 0x40, 0, 0, 0, 0x40, 0x08]);
        let b = blob(&[(1049, 8, 0, 2), (1050, 8, v, 2), (1048, 4, f, 2)], &st);
        let h = Header::from_blob(&b).unwrap();
        let d = dependencies(&h, DepKind::Require).unwrap();
        assert_eq!(
            d,
            [
                Dependency {
                    name: "libc.so.6".into(),
                    version: "".into(),
                    flags: 0x4000
                },
                Dependency {
                    name: "libcap.so.2()(64bit)".into(),
                    version: "set:khzEPfceLefn9ZosZm0".into(),
                    flags: 0x4008
                },
            ]
        );
        assert!(dependencies(&h, DepKind::Provide).unwrap().is_empty());
        // Absent version/flags arrays give defaults.
        let b = blob(&[(1049, 8, 0, 2)], &st);
        let d = dependencies(&Header::from_blob(&b).unwrap(), DepKind::Require).unwrap();
        assert_eq!(d[1].version, "");
        assert_eq!(d[1].flags, 0);
        // Present but short: an error naming the short array.
        let b = blob(&[(1049, 8, 0, 2), (1050, 8, v, 1)], &st);
        let e = dependencies(&Header::from_blob(&b).unwrap(), DepKind::Require).unwrap_err();
        assert_eq!(e.tag(), Some(Tag::REQUIREVERSION.into()));
        let b = blob(&[(1049, 8, 0, 2), (1048, 4, f, 1)], &st);
        let e = dependencies(&Header::from_blob(&b).unwrap(), DepKind::Require).unwrap_err();
        assert_eq!(e.tag(), Some(Tag::REQUIREFLAGS.into()));
    }

    #[test]
    fn files_defaults_sizes_and_bad_digests() {
        let mut st = Vec::new();
        st.extend_from_slice(b"/a\0/b\0"); // 0 OLDFILENAMES
        st.extend_from_slice(b"00112233445566778899aabbccddeeff\0\0"); // 6 FILEMD5S
        st.extend_from_slice(&[0, 0]); // 40 align
        st.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 1, 0, 0, 0, 0]); // 42 LONGFILESIZES
        st.extend_from_slice(&[0x81, 0xa4, 0x41, 0xed]); // 58 FILEMODES
        let b = blob(
            &[
                (1027, 8, 0, 2),
                (1035, 8, 6, 2),
                (5008, 5, 42, 2),
                (1030, 3, 58, 2),
            ],
            &st,
        );
        let f = files(&Header::from_blob(&b).unwrap()).unwrap();
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].name, "/a");
        assert_eq!(
            f[0].md5,
            hex::decode("00112233445566778899aabbccddeeff").unwrap()
        );
        assert_eq!(f[0].size, 5);
        assert_eq!(f[1].size, 1 << 32);
        assert_eq!(f[0].mode, 0o100644);
        assert_eq!(f[1].mode, 0o40755);
        assert!(f[1].md5.is_empty());
        assert_eq!(f[0].username, "");
        assert_eq!(f[0].class, FileClass::File);
        // FILEMODES with one element for two files.
        let b = blob(&[(1027, 8, 0, 2), (1030, 3, 58, 1)], &st);
        let e = files(&Header::from_blob(&b).unwrap()).unwrap_err();
        assert!(
            matches!(
                e,
                Error::LengthMismatch {
                    len: 1,
                    other_len: 2,
                    ..
                }
            ),
            "{e:?}"
        );
        // A digest that is not hex.
        let mut bad = st.clone();
        bad[7] = b'x';
        let b = blob(&[(1027, 8, 0, 2), (1035, 8, 6, 2)], &bad);
        let e = files(&Header::from_blob(&b).unwrap()).unwrap_err();
        assert!(matches!(e, Error::BadHex { offset: 24, .. }), "{e:?}");
    }

    #[test]
    fn package_meta_defaults_and_bad_sha1() {
        let b = blob(&[(1000, 6, 0, 1), (1022, 6, 12, 1)], b"i586-libfoo\0i586\0");
        let m = PackageMeta::from_header(&Header::from_blob(&b).unwrap()).unwrap();
        assert_eq!(m.name, "i586-libfoo");
        assert_eq!(m.arch, "i586");
        assert_eq!(m.pkg_arch, "x86_64-i586");
        assert_eq!(m.epoch, None);
        assert_eq!(m.epoch_or_zero(), 0);
        assert!(m.sha1header.is_empty());
        assert_eq!(m.packager, "");
        assert!(!m.sourcepackage);
        let b = blob(&[(269, 6, 0, 1)], b"zz\0");
        let e = PackageMeta::from_header(&Header::from_blob(&b).unwrap()).unwrap_err();
        assert!(matches!(e, Error::BadHex { offset: 8, .. }), "{e:?}");
    }
}
