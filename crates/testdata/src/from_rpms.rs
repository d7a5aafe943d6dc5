//! A branch snapshot made of existing RPM files (the third-party corpus), for loader tests
//! that need real packages rather than generated ones.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use altrepodb_rpm::tags::Tag;
use altrepodb_rpm::writer::{apt_header_record, AptIndex, AptLayout, HeaderWriter, TagValue};
use altrepodb_rpm::{digest_bytes, DigestAlgo, Package};

use crate::error::GenError;
use crate::fsutil::mkdirs;
use crate::generate::write_xz;

/// One package placed into a snapshot by [`snapshot_from_rpms`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlacedPackage {
    /// The file name (the same in every directory it is placed in).
    pub file_name: String,
    /// A source package (`files/SRPMS`).
    pub source: bool,
    /// `src`, `noarch` or `x86_64` (every other binary arch is put under `x86_64`).
    pub arch_dir: String,
    /// Where the file is under `files/`.
    pub path: PathBuf,
}

fn rpm_error(path: &Path, why: impl std::fmt::Display) -> GenError {
    GenError::Rpm {
        path: path.to_owned(),
        why: why.to_string(),
    }
}

/// Builds an ALT-layout snapshot at `out` from `rpms`: sources into `files/SRPMS`, binaries
/// into `files/<arch>/RPMS` and `<arch>/RPMS.classic`, APT lists with the index tags (name,
/// MD5, BLAKE2b), SHA-256 hash lists, `release` files and a `task.info`.
///
/// A directory holds one file per name, so later files with a name already placed are skipped.
pub fn snapshot_from_rpms(out: &Path, rpms: &[PathBuf]) -> Result<Vec<PlacedPackage>, GenError> {
    let mut placed = Vec::new();
    // (arch dir, is the source list) -> concatenated APT header records
    let mut lists: BTreeMap<(String, bool), Vec<u8>> = BTreeMap::new();
    let mut hashes: BTreeMap<String, String> = BTreeMap::new();
    mkdirs(&out.join("files/list"))?;
    mkdirs(&out.join("files/SRPMS"))?;
    let mut names = HashSet::new();
    for rpm in rpms {
        let file_name = rpm
            .file_name()
            .ok_or_else(|| rpm_error(rpm, "not a file name"))?
            .to_string_lossy()
            .into_owned();
        if !names.insert(file_name.clone()) {
            continue;
        }
        let bytes = std::fs::read(rpm).map_err(GenError::io(rpm))?;
        let pkg = Package::parse(&bytes).map_err(|e| rpm_error(rpm, e))?;
        let h = pkg.header();
        let source = pkg.lead().is_source();
        let text = |t: Tag| {
            h.text(t)
                .map(|s| s.into_owned())
                .map_err(|e| rpm_error(rpm, e))
        };
        let arch = text(Tag::ARCH)?;
        let arch_dir = if source {
            "src"
        } else if arch == "noarch" {
            "noarch"
        } else {
            "x86_64"
        }
        .to_owned();
        let dest = if source {
            out.join("files/SRPMS").join(&file_name)
        } else {
            let dir = out.join("files").join(&arch_dir).join("RPMS");
            mkdirs(&dir)?;
            let component = out.join(&arch_dir).join("RPMS.classic");
            mkdirs(&component)?;
            let copy = component.join(&file_name);
            std::fs::write(&copy, &bytes).map_err(GenError::io(&copy))?;
            dir.join(&file_name)
        };
        std::fs::write(&dest, &bytes).map_err(GenError::io(&dest))?;

        let mut w = HeaderWriter::main();
        for t in [Tag::NAME, Tag::VERSION, Tag::RELEASE, Tag::ARCH] {
            w.set(t.0, TagValue::string(text(t)?.into_bytes()));
        }
        let list_dir = if source {
            "SRPMS.classic"
        } else {
            "RPMS.classic"
        };
        let rec = apt_header_record(
            &w,
            &AptIndex::for_file(&file_name, &bytes, Some(list_dir)),
            AptLayout::Flat,
        )
        .map_err(|e| rpm_error(rpm, e))?;
        let key = if source {
            ("noarch".to_owned(), true)
        } else {
            (arch_dir.clone(), false)
        };
        lists.entry(key).or_default().extend_from_slice(&rec);
        let d = digest_bytes(&bytes, &[DigestAlgo::Sha256]);
        let sha256 = d.hex(DigestAlgo::Sha256).unwrap_or_default();
        hashes
            .entry(arch_dir.clone())
            .or_default()
            .push_str(&format!("{sha256} {file_name}\n"));
        placed.push(PlacedPackage {
            file_name,
            source,
            arch_dir,
            path: dest,
        });
    }
    for arch in ["x86_64", "noarch"] {
        let base = out.join(arch).join("base");
        mkdirs(&base)?;
        let release = base.join("release");
        std::fs::write(
            &release,
            format!("Origin: ALT Linux Team\nLabel: test\nArchitectures: {arch}\nComponents: classic\nBLAKE2b:\n"),
        )
        .map_err(GenError::io(&release))?;
        let list = lists
            .get(&(arch.to_owned(), false))
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        write_xz(&base.join("pkglist.classic.xz"), list)?;
        mkdirs(&out.join(arch).join("RPMS.classic"))?;
    }
    let sources = lists
        .get(&("noarch".to_owned(), true))
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    write_xz(&out.join("noarch/base/srclist.classic.xz"), sources)?;
    for (arch, text) in hashes {
        write_xz(
            &out.join("files/list").join(format!("{arch}.hash.xz")),
            text.as_bytes(),
        )?;
    }
    let info = out.join("files/list/task.info");
    std::fs::write(&info, "task 123456\nprev 123455\n").map_err(GenError::io(&info))?;
    Ok(placed)
}
