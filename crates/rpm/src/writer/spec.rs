//! What a generated package is made of: dependencies, changelog entries, files and the
//! choices of how they are written.

use super::*;

/// One dependency (requires, provides, conflicts or obsoletes entry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dependency {
    /// Name, e.g. `libc.so.6()(64bit)` or `rpmlib(PayloadIsLzma)`.
    pub name: String,
    /// Sense flags (`RPMSENSE_*`, see the associated constants).
    pub flags: u32,
    /// Version (`[E:]V[-R]`, or an ALT set-version `set:…`); empty when unversioned.
    pub version: String,
}

impl Dependency {
    /// `RPMSENSE_LESS`.
    pub const LESS: u32 = 1 << 1;
    /// `RPMSENSE_GREATER`.
    pub const GREATER: u32 = 1 << 2;
    /// `RPMSENSE_EQUAL`.
    pub const EQUAL: u32 = 1 << 3;
    /// `RPMSENSE_PREREQ` (legacy).
    pub const PREREQ: u32 = 1 << 6;
    /// `RPMSENSE_INTERP`.
    pub const INTERP: u32 = 1 << 8;
    /// `RPMSENSE_SCRIPT_PRE`.
    pub const SCRIPT_PRE: u32 = 1 << 9;
    /// `RPMSENSE_SCRIPT_POST`.
    pub const SCRIPT_POST: u32 = 1 << 10;
    /// `RPMSENSE_SCRIPT_PREUN`.
    pub const SCRIPT_PREUN: u32 = 1 << 11;
    /// `RPMSENSE_SCRIPT_POSTUN`.
    pub const SCRIPT_POSTUN: u32 = 1 << 12;
    /// `RPMSENSE_FIND_REQUIRES` (set by automatic dependency generators).
    pub const FIND_REQUIRES: u32 = 1 << 14;
    /// `RPMSENSE_FIND_PROVIDES`.
    pub const FIND_PROVIDES: u32 = 1 << 15;
    /// `RPMSENSE_RPMLIB`.
    pub const RPMLIB: u32 = 1 << 24;

    /// A dependency with explicit flags and version.
    pub fn new(name: impl Into<String>, flags: u32, version: impl Into<String>) -> Self {
        Dependency {
            name: name.into(),
            flags,
            version: version.into(),
        }
    }
    /// Unversioned.
    pub fn any(name: impl Into<String>) -> Self {
        Self::new(name, 0, "")
    }
    /// `name = version`.
    pub fn eq(name: impl Into<String>, version: impl Into<String>) -> Self {
        Self::new(name, Self::EQUAL, version)
    }
    /// `name >= version`.
    pub fn ge(name: impl Into<String>, version: impl Into<String>) -> Self {
        Self::new(name, Self::GREATER | Self::EQUAL, version)
    }
    /// `name <= version`.
    pub fn le(name: impl Into<String>, version: impl Into<String>) -> Self {
        Self::new(name, Self::LESS | Self::EQUAL, version)
    }
    /// `name > version`.
    pub fn gt(name: impl Into<String>, version: impl Into<String>) -> Self {
        Self::new(name, Self::GREATER, version)
    }
    /// `name < version`.
    pub fn lt(name: impl Into<String>, version: impl Into<String>) -> Self {
        Self::new(name, Self::LESS, version)
    }
    /// `rpmlib(feature) <= version`, flagged as rpmbuild does.
    pub fn rpmlib(feature: &str, version: impl Into<String>) -> Self {
        Self::new(
            format!("rpmlib({feature})"),
            Self::RPMLIB | Self::LESS | Self::EQUAL,
            version,
        )
    }
    /// Adds flags (e.g. [`Dependency::FIND_REQUIRES`]).
    pub fn with_flags(mut self, flags: u32) -> Self {
        self.flags |= flags;
        self
    }
}

/// One changelog entry. Header order is kept (rpm puts the newest first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangelogEntry {
    /// Time (seconds since the epoch; rpm uses noon of the entry's day).
    pub time: u32,
    /// Author line, ALT style `Name <email> E:V-R` (the loader splits it at `>`).
    pub name: String,
    /// Text.
    pub text: String,
}

impl ChangelogEntry {
    /// A changelog entry.
    pub fn new(time: u32, name: impl Into<String>, text: impl Into<String>) -> Self {
        ChangelogEntry {
            time,
            name: name.into(),
            text: text.into(),
        }
    }
}

/// What kind of file a [`FileSpec`] is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileKind {
    /// Regular file with this content.
    Regular(Vec<u8>),
    /// Directory.
    Dir,
    /// Symbolic link to this target.
    Symlink(String),
    /// Named pipe.
    Fifo,
    /// Character device.
    CharDevice {
        /// Major number.
        major: u32,
        /// Minor number.
        minor: u32,
    },
    /// Block device.
    BlockDevice {
        /// Major number.
        major: u32,
        /// Minor number.
        minor: u32,
    },
    /// Socket.
    Socket,
    /// Hard link to the regular file at this path in the same package. The link shares the
    /// target's inode, content, mode, owner and mtime.
    HardLink(String),
}

/// One file of a package. Paths starting with `/` are installed files (payload name
/// `./path`); paths without `/` are source-package files (spec, tarballs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSpec {
    /// Path.
    pub path: String,
    /// Kind and content.
    pub kind: FileKind,
    /// Permission bits (`0o7777` mask; the type bits come from `kind`).
    pub perms: u16,
    /// Owner name.
    pub user: String,
    /// Group name.
    pub group: String,
    /// Modification time; `None` = the package's build time.
    pub mtime: Option<u32>,
    /// `RPMFILE_*` flags (see the associated constants).
    pub flags: u32,
    /// FILEVERIFYFLAGS value (rpm's default is all bits set).
    pub verify_flags: u32,
    /// FILELANGS value.
    pub lang: String,
    /// FILECLASS string; `None` = a default by kind (`directory`, `symbolic link to …`, …).
    pub class: Option<String>,
    /// FILESIZES override.
    pub size: Option<u32>,
    /// File digest override (hex); `None` = computed from the content.
    pub digest: Option<String>,
    /// FILEINODES override; `None` = numbered from 1 in path order.
    pub inode: Option<u32>,
    /// FILEDEVICES value.
    pub device: u32,
}

impl FileSpec {
    /// `RPMFILE_CONFIG`.
    pub const CONFIG: u32 = 1 << 0;
    /// `RPMFILE_DOC`.
    pub const DOC: u32 = 1 << 1;
    /// `RPMFILE_MISSINGOK`.
    pub const MISSINGOK: u32 = 1 << 3;
    /// `RPMFILE_NOREPLACE`.
    pub const NOREPLACE: u32 = 1 << 4;
    /// `RPMFILE_SPECFILE`.
    pub const SPECFILE: u32 = 1 << 5;
    /// `RPMFILE_GHOST`: listed in the header, absent from the payload.
    pub const GHOST: u32 = 1 << 6;
    /// `RPMFILE_LICENSE`.
    pub const LICENSE: u32 = 1 << 7;
    /// `RPMFILE_README`.
    pub const README: u32 = 1 << 8;

    fn with_kind(path: impl Into<String>, kind: FileKind) -> Self {
        let perms = match kind {
            FileKind::Dir => 0o755,
            FileKind::Symlink(_) => 0o777,
            _ => 0o644,
        };
        FileSpec {
            path: path.into(),
            kind,
            perms,
            user: "root".into(),
            group: "root".into(),
            mtime: None,
            flags: 0,
            verify_flags: u32::MAX,
            lang: String::new(),
            class: None,
            size: None,
            digest: None,
            inode: None,
            device: 1,
        }
    }
    /// A regular file.
    pub fn file(path: impl Into<String>, content: impl Into<Vec<u8>>) -> Self {
        Self::with_kind(path, FileKind::Regular(content.into()))
    }
    /// A directory.
    pub fn dir(path: impl Into<String>) -> Self {
        Self::with_kind(path, FileKind::Dir)
    }
    /// A symbolic link.
    pub fn symlink(path: impl Into<String>, target: impl Into<String>) -> Self {
        Self::with_kind(path, FileKind::Symlink(target.into()))
    }
    /// A named pipe.
    pub fn fifo(path: impl Into<String>) -> Self {
        Self::with_kind(path, FileKind::Fifo)
    }
    /// A character device.
    pub fn char_device(path: impl Into<String>, major: u32, minor: u32) -> Self {
        Self::with_kind(path, FileKind::CharDevice { major, minor })
    }
    /// A block device.
    pub fn block_device(path: impl Into<String>, major: u32, minor: u32) -> Self {
        Self::with_kind(path, FileKind::BlockDevice { major, minor })
    }
    /// A socket.
    pub fn socket(path: impl Into<String>) -> Self {
        Self::with_kind(path, FileKind::Socket)
    }
    /// A hard link to the regular file `target` (a path in the same package).
    pub fn hardlink(path: impl Into<String>, target: impl Into<String>) -> Self {
        Self::with_kind(path, FileKind::HardLink(target.into()))
    }
    /// Sets the permission bits.
    pub fn mode(mut self, perms: u16) -> Self {
        self.perms = perms & 0o7777;
        self
    }
    /// Sets owner and group.
    pub fn owner(mut self, user: impl Into<String>, group: impl Into<String>) -> Self {
        self.user = user.into();
        self.group = group.into();
        self
    }
    /// Sets the modification time.
    pub fn mtime(mut self, t: u32) -> Self {
        self.mtime = Some(t);
        self
    }
    /// Adds `RPMFILE_*` flags.
    pub fn flags(mut self, flags: u32) -> Self {
        self.flags |= flags;
        self
    }
    /// Marks as `%config`.
    pub fn config(self) -> Self {
        self.flags(Self::CONFIG)
    }
    /// Marks as `%doc`.
    pub fn doc(self) -> Self {
        self.flags(Self::DOC)
    }
    /// Marks as `%ghost` (not in the payload).
    pub fn ghost(self) -> Self {
        self.flags(Self::GHOST)
    }
    /// Sets FILELANGS.
    pub fn lang(mut self, lang: impl Into<String>) -> Self {
        self.lang = lang.into();
        self
    }
    /// Sets the FILECLASS string.
    pub fn class(mut self, class: impl Into<String>) -> Self {
        self.class = Some(class.into());
        self
    }
    /// Sets FILEVERIFYFLAGS.
    pub fn verify_flags(mut self, v: u32) -> Self {
        self.verify_flags = v;
        self
    }
    /// Sets FILEINODES.
    pub fn inode(mut self, ino: u32) -> Self {
        self.inode = Some(ino);
        self
    }
    /// Sets FILEDEVICES.
    pub fn device(mut self, dev: u32) -> Self {
        self.device = dev;
        self
    }
    /// Overrides the digest written to FILEMD5S.
    pub fn digest(mut self, hex: impl Into<String>) -> Self {
        self.digest = Some(hex.into());
        self
    }
    /// Overrides FILESIZES.
    pub fn size(mut self, size: u32) -> Self {
        self.size = Some(size);
        self
    }

    pub(super) fn type_bits(&self) -> u32 {
        match self.kind {
            FileKind::Regular(_) | FileKind::HardLink(_) => cpio::S_IFREG,
            FileKind::Dir => cpio::S_IFDIR,
            FileKind::Symlink(_) => cpio::S_IFLNK,
            FileKind::Fifo => cpio::S_IFIFO,
            FileKind::CharDevice { .. } => cpio::S_IFCHR,
            FileKind::BlockDevice { .. } => cpio::S_IFBLK,
            FileKind::Socket => cpio::S_IFSOCK,
        }
    }
}

/// How file digests are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileDigest {
    /// MD5 without FILEDIGESTALGO (ALT's rpm 4.0.4 style).
    LegacyMd5,
    /// MD5 with FILEDIGESTALGO = 1.
    Md5,
    /// SHA-256 with FILEDIGESTALGO = 8 (needs `rpmlib(FileDigests)`).
    Sha256,
}

/// Which `rpmlib(...)` requirements [`PackageBuilder`] adds. Either set is accepted by
/// Debian's rpm 4.18. ALT's `rpmlib(SetVersions)` is never added: upstream rpm does not
/// provide it, so such a package would not install there; add it with
/// [`PackageBuilder::requires`] when wanted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RpmlibStyle {
    /// As ALT's rpm 4.0.4: only `rpmlib(PayloadIs…)` for non-gzip payloads, unversioned,
    /// flags RPMLIB|PREREQ.
    Alt,
    /// As rpmbuild 4.x: versioned requirements for every feature used (compressed file
    /// names, payload prefix, payload format, hard links, SHA-256 digests, versioned
    /// dependencies).
    Upstream,
}

/// Where the uncompressed payload size is recorded. librpm merges the signature's
/// PAYLOADSIZE into the main header as ARCHIVESIZE and rejects a package that has both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArchiveSizeIn {
    /// ARCHIVESIZE (1046) in the main header (ALT's rpm 4.0.4).
    MainHeader,
    /// PAYLOADSIZE (1007) in the signature header (rpm 4.x upstream).
    Signature,
    /// Nowhere.
    Omitted,
}
