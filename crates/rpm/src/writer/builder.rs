//! [`PackageBuilder`]: a whole `.rpm` (lead, signature header, main header, payload).

use super::*;

/// A built package: the bytes plus the parts generators and tests need.
#[derive(Debug, Clone)]
pub struct BuiltPackage {
    /// The whole `.rpm` file.
    pub bytes: Vec<u8>,
    /// The main header as written (use it for APT records or to compare with a reader).
    pub header: HeaderWriter,
    /// The signature header as written.
    pub signature: HeaderWriter,
    /// Byte range of the main header record (with its magic) in `bytes`.
    pub header_range: Range<usize>,
    /// Byte range of the (compressed) payload in `bytes`.
    pub payload_range: Range<usize>,
    /// Size of the uncompressed cpio archive.
    pub archive_size: u64,
    /// SHA1HEADER value (hex of SHA-1 over the main header record).
    pub sha1_header: String,
    /// SIGMD5 value (MD5 over main header record + payload).
    pub sigmd5: [u8; 16],
    /// Conventional file name, `N-V-R.A.rpm` (`N-V-R.src.rpm` for source packages).
    pub file_name: String,
}

impl BuiltPackage {
    /// The main header record bytes.
    pub fn header_bytes(&self) -> &[u8] {
        &self.bytes[self.header_range.clone()]
    }
    /// The compressed payload bytes.
    pub fn payload_bytes(&self) -> &[u8] {
        &self.bytes[self.payload_range.clone()]
    }
    /// Writes the package to `path`.
    pub fn write_to(&self, path: impl AsRef<Path>) -> io::Result<()> {
        std::fs::write(path, &self.bytes)
    }
    /// An APT list record for this package (see [`apt_header_record`]); the index tags are
    /// computed from the package bytes.
    pub fn apt_record(
        &self,
        directory: Option<&str>,
        layout: AptLayout,
    ) -> Result<Vec<u8>, WriteError> {
        apt_header_record(
            &self.header,
            &AptIndex::for_package(self, directory),
            layout,
        )
    }
}

/// Builder for a whole `.rpm` file. Defaults imitate ALT packages built by rpm 4.0.4:
/// lzma payload (level 2), MD5 file digests without FILEDIGESTALGO, ARCHIVESIZE in the
/// main header, only `rpmlib(PayloadIsLzma)` required, RPMVERSION `4.0.4`, self-provide
/// `N = [E:]V-R`; plus build time 1700000000, build host `localhost`, OS `linux`, group
/// `Other`, license `GPL`, summary = name, description = summary, every file owned by
/// root:root with mtime = build time, no FILECLASS/CLASSDICT.
#[derive(Debug, Clone)]
pub struct PackageBuilder {
    pub(super) name: String,
    pub(super) version: String,
    pub(super) release: String,
    pub(super) arch: String,
    pub(super) epoch: Option<u32>,
    pub(super) source: bool,
    pub(super) summary: Option<String>,
    pub(super) description: Option<String>,
    pub(super) group: String,
    pub(super) license: String,
    pub(super) url: Option<String>,
    pub(super) vendor: Option<String>,
    pub(super) distribution: Option<String>,
    pub(super) packager: Option<String>,
    pub(super) disttag: Option<String>,
    pub(super) buildhost: String,
    pub(super) buildtime: u32,
    pub(super) os: String,
    pub(super) rpmversion: String,
    pub(super) sourcerpm: Option<String>,
    pub(super) files: Vec<FileSpec>,
    pub(super) sources: Vec<String>,
    pub(super) requires: Vec<Dependency>,
    pub(super) provides: Vec<Dependency>,
    pub(super) conflicts: Vec<Dependency>,
    pub(super) obsoletes: Vec<Dependency>,
    pub(super) changelog: Vec<ChangelogEntry>,
    pub(super) extra: BTreeMap<u32, TagValue>,
    pub(super) removed: BTreeSet<u32>,
    pub(super) sig_extra: BTreeMap<u32, TagValue>,
    pub(super) compression: Compression,
    pub(super) level: Option<u32>,
    pub(super) file_digest: FileDigest,
    pub(super) auto_rpmlib: bool,
    pub(super) rpmlib_style: RpmlibStyle,
    pub(super) self_provide: bool,
    pub(super) file_classes: bool,
    pub(super) archive_size_in: ArchiveSizeIn,
    pub(super) sha256_sig: bool,
    pub(super) archnum: Option<u16>,
}

impl PackageBuilder {
    /// A binary package.
    pub fn new(
        name: impl Into<String>,
        version: impl Into<String>,
        release: impl Into<String>,
        arch: impl Into<String>,
    ) -> Self {
        PackageBuilder {
            name: name.into(),
            version: version.into(),
            release: release.into(),
            arch: arch.into(),
            epoch: None,
            source: false,
            summary: None,
            description: None,
            group: "Other".into(),
            license: "GPL".into(),
            url: None,
            vendor: None,
            distribution: None,
            packager: None,
            disttag: None,
            buildhost: "localhost".into(),
            buildtime: 1_700_000_000,
            os: "linux".into(),
            rpmversion: "4.0.4".into(),
            sourcerpm: None,
            files: Vec::new(),
            sources: Vec::new(),
            requires: Vec::new(),
            provides: Vec::new(),
            conflicts: Vec::new(),
            obsoletes: Vec::new(),
            changelog: Vec::new(),
            extra: BTreeMap::new(),
            removed: BTreeSet::new(),
            sig_extra: BTreeMap::new(),
            compression: Compression::Lzma,
            level: None,
            file_digest: FileDigest::LegacyMd5,
            auto_rpmlib: true,
            rpmlib_style: RpmlibStyle::Alt,
            self_provide: true,
            file_classes: false,
            archive_size_in: ArchiveSizeIn::MainHeader,
            sha256_sig: false,
            archnum: None,
        }
    }

    /// A source package (`.src.rpm`): lead type 1, SOURCEPACKAGE = 1, no SOURCERPM, no
    /// self-provide, payload names without `./`. `arch` is the build host's arch, as rpm
    /// records it.
    pub fn new_source(
        name: impl Into<String>,
        version: impl Into<String>,
        release: impl Into<String>,
        arch: impl Into<String>,
    ) -> Self {
        let mut b = Self::new(name, version, release, arch);
        b.source = true;
        b
    }

    /// Sets the epoch.
    pub fn epoch(mut self, epoch: u32) -> Self {
        self.epoch = Some(epoch);
        self
    }
    /// Sets SUMMARY (default: the name).
    pub fn summary(mut self, s: impl Into<String>) -> Self {
        self.summary = Some(s.into());
        self
    }
    /// Sets DESCRIPTION (default: the summary).
    pub fn description(mut self, s: impl Into<String>) -> Self {
        self.description = Some(s.into());
        self
    }
    /// Sets GROUP.
    pub fn group(mut self, s: impl Into<String>) -> Self {
        self.group = s.into();
        self
    }
    /// Sets LICENSE.
    pub fn license(mut self, s: impl Into<String>) -> Self {
        self.license = s.into();
        self
    }
    /// Sets URL.
    pub fn url(mut self, s: impl Into<String>) -> Self {
        self.url = Some(s.into());
        self
    }
    /// Sets VENDOR.
    pub fn vendor(mut self, s: impl Into<String>) -> Self {
        self.vendor = Some(s.into());
        self
    }
    /// Sets DISTRIBUTION.
    pub fn distribution(mut self, s: impl Into<String>) -> Self {
        self.distribution = Some(s.into());
        self
    }
    /// Sets PACKAGER.
    pub fn packager(mut self, s: impl Into<String>) -> Self {
        self.packager = Some(s.into());
        self
    }
    /// Sets ALT's DISTTAG (1155), e.g. `sisyphus+350867.100.1.1`.
    pub fn disttag(mut self, s: impl Into<String>) -> Self {
        self.disttag = Some(s.into());
        self
    }
    /// Sets BUILDHOST.
    pub fn buildhost(mut self, s: impl Into<String>) -> Self {
        self.buildhost = s.into();
        self
    }
    /// Sets BUILDTIME (also the default file mtime).
    pub fn buildtime(mut self, t: u32) -> Self {
        self.buildtime = t;
        self
    }
    /// Sets OS.
    pub fn os(mut self, s: impl Into<String>) -> Self {
        self.os = s.into();
        self
    }
    /// Sets RPMVERSION.
    pub fn rpmversion(mut self, s: impl Into<String>) -> Self {
        self.rpmversion = s.into();
        self
    }
    /// Sets SOURCERPM (default for binary packages: `N-V-R.src.rpm`).
    pub fn sourcerpm(mut self, s: impl Into<String>) -> Self {
        self.sourcerpm = Some(s.into());
        self
    }
    /// Adds a file.
    pub fn file(mut self, f: FileSpec) -> Self {
        self.files.push(f);
        self
    }
    /// Adds files.
    pub fn files(mut self, fs: impl IntoIterator<Item = FileSpec>) -> Self {
        self.files.extend(fs);
        self
    }
    /// Adds a spec file to a source package (flag `RPMFILE_SPECFILE`).
    pub fn spec_file(self, name: impl Into<String>, content: impl Into<Vec<u8>>) -> Self {
        self.file(FileSpec::file(name, content).flags(FileSpec::SPECFILE))
    }
    /// Adds a source file to a source package and lists it in SOURCE.
    pub fn source_file(mut self, name: impl Into<String>, content: impl Into<Vec<u8>>) -> Self {
        let name = name.into();
        self.sources.push(name.clone());
        self.file(FileSpec::file(name, content))
    }
    /// Adds a requirement.
    pub fn requires(mut self, d: Dependency) -> Self {
        self.requires.push(d);
        self
    }
    /// Adds a provide.
    pub fn provides(mut self, d: Dependency) -> Self {
        self.provides.push(d);
        self
    }
    /// Adds a conflict.
    pub fn conflicts(mut self, d: Dependency) -> Self {
        self.conflicts.push(d);
        self
    }
    /// Adds an obsolete.
    pub fn obsoletes(mut self, d: Dependency) -> Self {
        self.obsoletes.push(d);
        self
    }
    /// Adds a changelog entry (add the newest first, as rpm stores them).
    pub fn changelog(mut self, e: ChangelogEntry) -> Self {
        self.changelog.push(e);
        self
    }
    /// Sets any main-header tag; it overrides whatever the builder would generate.
    pub fn tag(mut self, tag: impl TagNumber, value: impl Into<TagValue>) -> Self {
        let tag = tag.tag_number();
        self.removed.remove(&tag);
        self.extra.insert(tag, value.into());
        self
    }
    /// Drops a tag the builder would otherwise generate.
    pub fn remove_tag(mut self, tag: impl TagNumber) -> Self {
        let tag = tag.tag_number();
        self.extra.remove(&tag);
        self.removed.insert(tag);
        self
    }
    /// Sets a signature-header tag (overrides the computed ones, e.g. to corrupt a digest).
    pub fn signature_tag(mut self, tag: impl TagNumber, value: impl Into<TagValue>) -> Self {
        self.sig_extra.insert(tag.tag_number(), value.into());
        self
    }
    /// Sets the payload compression (level: [`Compression::default_level`]).
    pub fn compressor(mut self, c: Compression) -> Self {
        self.compression = c;
        self.level = None;
        self
    }
    /// Sets the payload compression and level (written to PAYLOADFLAGS).
    pub fn compressor_level(mut self, c: Compression, level: u32) -> Self {
        self.compression = c;
        self.level = Some(level);
        self
    }
    /// Sets how file digests are written.
    pub fn file_digest(mut self, d: FileDigest) -> Self {
        self.file_digest = d;
        self
    }
    /// Whether to add the `rpmlib(...)` requirements the package's features need (default on).
    pub fn auto_rpmlib(mut self, on: bool) -> Self {
        self.auto_rpmlib = on;
        self
    }
    /// Which `rpmlib(...)` requirements are added (default [`RpmlibStyle::Alt`]).
    pub fn rpmlib_style(mut self, style: RpmlibStyle) -> Self {
        self.rpmlib_style = style;
        self
    }
    /// Whether a binary package provides `name = [E:]V-R` (default on).
    pub fn self_provide(mut self, on: bool) -> Self {
        self.self_provide = on;
        self
    }
    /// Whether to write FILECLASS + CLASSDICT (default off: ALT's packages have none).
    pub fn file_classes(mut self, on: bool) -> Self {
        self.file_classes = on;
        self
    }
    /// Where the uncompressed payload size goes (default: the main header, as ALT does).
    pub fn archive_size_in(mut self, place: ArchiveSizeIn) -> Self {
        self.archive_size_in = place;
        self
    }
    /// Whether to add SHA256HEADER (273) to the signature header (default off, like ALT).
    pub fn sha256_signature(mut self, on: bool) -> Self {
        self.sha256_sig = on;
        self
    }
    /// Overrides the lead's architecture number.
    pub fn lead_archnum(mut self, n: u16) -> Self {
        self.archnum = Some(n);
        self
    }

    /// `N-V-R`.
    fn nvr(&self) -> String {
        format!("{}-{}-{}", self.name, self.version, self.release)
    }

    /// `[E:]V-R`.
    fn evr(&self) -> String {
        match self.epoch {
            Some(e) => format!("{e}:{}-{}", self.version, self.release),
            None => format!("{}-{}", self.version, self.release),
        }
    }

    /// The conventional file name, `N-V-R.A.rpm` or `N-V-R.src.rpm`.
    pub fn file_name(&self) -> String {
        if self.source {
            format!("{}.src.rpm", self.nvr())
        } else {
            format!("{}.{}.rpm", self.nvr(), self.arch)
        }
    }

    /// Builds the package bytes.
    pub fn build(&self) -> Result<Vec<u8>, WriteError> {
        Ok(self.build_package()?.bytes)
    }

    /// Builds and writes the package to `path`.
    pub fn write_to(&self, path: impl AsRef<Path>) -> Result<BuiltPackage, WriteError> {
        let pkg = self.build_package()?;
        pkg.write_to(path)?;
        Ok(pkg)
    }

    /// Builds the package and returns it with its parts.
    pub fn build_package(&self) -> Result<BuiltPackage, WriteError> {
        let files = FileTable::new(self)?;
        let archive = files.archive(self.source)?;
        let archive_size = archive.len() as u64;
        let archive_size32 = fit32("payload archive", archive_size)?;
        let level = self
            .level
            .unwrap_or_else(|| self.compression.default_level());
        let payload = payload::compress(&archive, self.compression, level)?;
        drop(archive);

        let header = self.main_header(&files, archive_size32, level);
        let record = header.to_record()?;

        let mut sig = HeaderWriter::signature();
        let sha1_header = hex::encode(sha1::Sha1::digest(&record));
        sig.set(SIGTAG_SHA1, sha1_header.as_str());
        if self.sha256_sig {
            sig.set(
                SIGTAG_SHA256,
                hex::encode(sha2::Sha256::digest(&record)).as_str(),
            );
        }
        let total = (record.len() + payload.len()) as u64;
        sig.set(SIGTAG_SIZE, fit32("header+payload", total)?);
        let mut md5 = md5::Md5::new();
        md5.update(&record);
        md5.update(&payload);
        let sigmd5: [u8; 16] = md5.finalize().into();
        sig.set(SIGTAG_MD5, TagValue::Bin(sigmd5.to_vec()));
        if self.archive_size_in == ArchiveSizeIn::Signature {
            sig.set(SIGTAG_PAYLOADSIZE, archive_size32);
        }
        for (t, v) in &self.sig_extra {
            sig.set(*t, v.clone());
        }
        let sig_record = sig.to_record()?;

        let lead_name = match self.epoch {
            // rpm writes the NEVR into the lead.
            Some(e) => format!("{}-{e}:{}-{}", self.name, self.version, self.release),
            None => self.nvr(),
        };
        let archnum = self.archnum.unwrap_or_else(|| lead_archnum(&self.arch));
        let mut bytes = Vec::with_capacity(96 + sig_record.len() + 8 + total as usize);
        bytes.extend_from_slice(&lead(lead_name.as_bytes(), self.source, archnum, 1));
        bytes.extend_from_slice(&sig_record);
        // The signature header is padded to 8 bytes (counted from its own start; the lead is
        // 96 bytes, so file offsets agree).
        let pad = (8 - (bytes.len() - 96) % 8) % 8;
        bytes.resize(bytes.len() + pad, 0);
        let h_start = bytes.len();
        bytes.extend_from_slice(&record);
        let p_start = bytes.len();
        bytes.extend_from_slice(&payload);
        Ok(BuiltPackage {
            header_range: h_start..p_start,
            payload_range: p_start..bytes.len(),
            bytes,
            header,
            signature: sig,
            archive_size,
            sha1_header,
            sigmd5,
            file_name: self.file_name(),
        })
    }

    fn main_header(&self, files: &FileTable, archive_size: u32, level: u32) -> HeaderWriter {
        let mut h = HeaderWriter::main();
        h.set(HEADERI18NTABLE, TagValue::strings(["C"]));
        h.set(NAME, self.name.as_str());
        h.set(VERSION, self.version.as_str());
        h.set(RELEASE, self.release.as_str());
        if let Some(e) = self.epoch {
            h.set(EPOCH, e);
        }
        let summary = self.summary.clone().unwrap_or_else(|| self.name.clone());
        let description = self.description.clone().unwrap_or_else(|| summary.clone());
        h.set(SUMMARY, TagValue::i18n(summary));
        h.set(DESCRIPTION, TagValue::i18n(description));
        h.set(BUILDTIME, self.buildtime);
        h.set(BUILDHOST, self.buildhost.as_str());
        h.set(SIZE, files.total_size);
        let opt = |h: &mut HeaderWriter, tag, v: &Option<String>| {
            if let Some(v) = v {
                h.set(tag, v.as_str());
            }
        };
        opt(&mut h, DISTRIBUTION, &self.distribution);
        opt(&mut h, VENDOR, &self.vendor);
        h.set(LICENSE, self.license.as_str());
        opt(&mut h, PACKAGER, &self.packager);
        h.set(GROUP, TagValue::i18n(self.group.as_str()));
        if !self.sources.is_empty() {
            h.set(
                SOURCE,
                TagValue::strings(self.sources.iter().map(String::as_str)),
            );
        }
        opt(&mut h, URL, &self.url);
        h.set(OS, self.os.as_str());
        h.set(ARCH, self.arch.as_str());
        files.put_tags(&mut h, self.file_digest, self.file_classes);
        if self.source {
            h.set(SOURCEPACKAGE, 1u32);
        } else {
            let srpm = self
                .sourcerpm
                .clone()
                .unwrap_or_else(|| format!("{}.src.rpm", self.nvr()));
            h.set(SOURCERPM, srpm);
        }
        if self.archive_size_in == ArchiveSizeIn::MainHeader {
            h.set(ARCHIVESIZE, archive_size);
        }

        let mut provides = self.provides.clone();
        if self.self_provide && !self.source && !provides.iter().any(|d| d.name == self.name) {
            provides.push(Dependency::eq(self.name.clone(), self.evr()));
        }
        let mut requires = self.requires.clone();
        if self.auto_rpmlib {
            for d in self.rpmlib_requires(files) {
                if !requires.iter().any(|r| r.name == d.name) {
                    requires.push(d);
                }
            }
        }
        put_deps(&mut h, &provides, PROVIDENAME, PROVIDEFLAGS, PROVIDEVERSION);
        put_deps(&mut h, &requires, REQUIRENAME, REQUIREFLAGS, REQUIREVERSION);
        put_deps(
            &mut h,
            &self.conflicts,
            CONFLICTNAME,
            CONFLICTFLAGS,
            CONFLICTVERSION,
        );
        put_deps(
            &mut h,
            &self.obsoletes,
            OBSOLETENAME,
            OBSOLETEFLAGS,
            OBSOLETEVERSION,
        );
        h.set(RPMVERSION, self.rpmversion.as_str());
        if !self.changelog.is_empty() {
            h.set(
                CHANGELOGTIME,
                self.changelog.iter().map(|c| c.time).collect::<Vec<_>>(),
            );
            h.set(
                CHANGELOGNAME,
                TagValue::strings(self.changelog.iter().map(|c| c.name.as_str())),
            );
            h.set(
                CHANGELOGTEXT,
                TagValue::strings(self.changelog.iter().map(|c| c.text.as_str())),
            );
        }
        h.set(PAYLOADFORMAT, "cpio");
        if let Some(c) = self.compression.payload_compressor() {
            h.set(PAYLOADCOMPRESSOR, c);
            h.set(PAYLOADFLAGS, level.to_string());
        }
        opt(&mut h, DISTTAG, &self.disttag);
        for t in &self.removed {
            h.remove(*t);
        }
        for (t, v) in &self.extra {
            h.set(*t, v.clone());
        }
        h
    }

    fn rpmlib_requires(&self, files: &FileTable) -> Vec<Dependency> {
        let payload = match self.compression {
            Compression::Bzip2 => Some(("PayloadIsBzip2", "3.0.5-1")),
            Compression::Xz => Some(("PayloadIsXz", "5.2-1")),
            Compression::Lzma => Some(("PayloadIsLzma", "4.4.6-1")),
            Compression::Zstd => Some(("PayloadIsZstd", "5.4.18-1")),
            Compression::Gzip | Compression::None => None,
        };
        if self.rpmlib_style == RpmlibStyle::Alt {
            // ALT's rpm 4.0.4 only declares the payload format, unversioned, as a PreReq.
            return payload
                .map(|(f, _)| {
                    Dependency::new(
                        format!("rpmlib({f})"),
                        Dependency::RPMLIB | Dependency::PREREQ,
                        "",
                    )
                })
                .into_iter()
                .collect();
        }
        let mut v = Vec::new();
        let versioned = self
            .requires
            .iter()
            .chain(&self.provides)
            .chain(&self.conflicts)
            .chain(&self.obsoletes)
            .any(|d| !d.version.is_empty());
        if versioned || (self.self_provide && !self.source) {
            v.push(Dependency::rpmlib("VersionedDependencies", "3.0.3-1"));
        }
        if !files.files.is_empty() {
            v.push(Dependency::rpmlib("CompressedFileNames", "3.0.4-1"));
            if !self.source {
                v.push(Dependency::rpmlib("PayloadFilesHavePrefix", "4.0-1"));
            }
        }
        if self.file_digest == FileDigest::Sha256 {
            v.push(Dependency::rpmlib("FileDigests", "4.6.0-1"));
        }
        if files.has_hardlinks {
            v.push(Dependency::rpmlib("PartialHardlinkSets", "4.0.4-1"));
        }
        if let Some((f, ver)) = payload {
            v.push(Dependency::rpmlib(f, ver));
        }
        v
    }
}

fn put_deps(h: &mut HeaderWriter, deps: &[Dependency], n: u32, f: u32, v: u32) {
    if deps.is_empty() {
        return;
    }
    h.set(n, TagValue::strings(deps.iter().map(|d| d.name.as_str())));
    h.set(f, deps.iter().map(|d| d.flags).collect::<Vec<_>>());
    h.set(
        v,
        TagValue::strings(deps.iter().map(|d| d.version.as_str())),
    );
}
