//! The volume descriptors' fields, and the text `isoinfo -d` (cdrkit) prints from them, which
//! the original iso_loader stored verbatim.

use std::fmt::Write as _;

use crate::error::{Error, Result};
use crate::le::{u16le, u32le};
use crate::source::ReadAt;

use super::{Iso9660, SECTOR};

/// Descriptors scanned before giving up on a missing set terminator.
pub(super) const MAX_DESCRIPTORS: u64 = 256;

/// Fields of the primary volume descriptor and what the other descriptors announce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeInfo {
    /// System identifier.
    pub system_id: String,
    /// Volume identifier (the label).
    pub volume_id: String,
    /// Volume set identifier.
    pub volume_set_id: String,
    /// Publisher identifier.
    pub publisher_id: String,
    /// Data preparer identifier.
    pub preparer_id: String,
    /// Application identifier.
    pub application_id: String,
    /// Copyright file identifier.
    pub copyright_file_id: String,
    /// Abstract file identifier.
    pub abstract_file_id: String,
    /// Bibliographic file identifier.
    pub bibliographic_file_id: String,
    /// Volume set size.
    pub volume_set_size: u16,
    /// Volume sequence number.
    pub volume_sequence_number: u16,
    /// Logical block size.
    pub logical_block_size: u16,
    /// Volume space size in logical blocks.
    pub volume_space_size: u32,
    /// Volume creation date as `YYYY MM DD HH:MM:SS.cc` (digits as stored).
    pub creation_date: String,
    /// Volume modification date, same form.
    pub modification_date: String,
    /// Volume expiration date, same form.
    pub expiration_date: String,
    /// Volume effective date, same form.
    pub effective_date: String,
    /// The Joliet UCS level (1–3) when a Joliet descriptor exists.
    pub joliet_level: Option<u8>,
    /// The line isoinfo prints about Rock Ridge (`Rock Ridge signatures version 1 found`, …).
    pub rock_ridge: Vec<String>,
    /// Lines from the descriptor walk: El Torito records and the ISO 9660:1999 note.
    pub descriptor_lines: Vec<String>,
    /// The first 64 bytes of the last El Torito boot catalog announced.
    pub boot_catalog: Option<[u8; 64]>,
}

/// An identifier field as isoinfo's `printchars` prints it: up to the first NUL, stopping at a
/// space when only spaces follow (or when just one character follows the spaces).
fn id_text(field: &[u8]) -> String {
    let mut out = Vec::new();
    for (idx, &c) in field.iter().enumerate() {
        if c == 0 {
            break;
        }
        if c == b' ' {
            let remaining = field.len() - idx;
            match field[idx..].iter().position(|&b| b != b' ') {
                None => break,
                Some(j) if j == remaining - 1 => break,
                Some(_) => {}
            }
        }
        out.push(c);
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A 17-byte descriptor date as isoinfo's debug output shows it.
fn date_text(d: &[u8]) -> String {
    let s = |r: std::ops::Range<usize>| String::from_utf8_lossy(&d[r]).into_owned();
    format!(
        "{} {} {} {}:{}:{}.{}",
        s(0..4),
        s(4..6),
        s(6..8),
        s(8..10),
        s(10..12),
        s(12..14),
        s(14..16)
    )
}

impl<R: ReadAt> Iso9660<R> {
    /// Reads the volume descriptors' information (the PVD fields, Joliet, Rock Ridge, El Torito).
    pub fn volume_info(&self) -> Result<VolumeInfo> {
        let pvd = &self.pvd;
        let mut info = VolumeInfo {
            system_id: id_text(&pvd[8..40]),
            volume_id: id_text(&pvd[40..72]),
            volume_set_id: id_text(&pvd[190..318]),
            publisher_id: id_text(&pvd[318..446]),
            preparer_id: id_text(&pvd[446..574]),
            application_id: id_text(&pvd[574..702]),
            copyright_file_id: id_text(&pvd[702..739]),
            abstract_file_id: id_text(&pvd[739..776]),
            bibliographic_file_id: id_text(&pvd[776..813]),
            volume_set_size: u16le(pvd, 120),
            volume_sequence_number: u16le(pvd, 124),
            logical_block_size: u16le(pvd, 128),
            volume_space_size: u32le(pvd, 80),
            creation_date: date_text(&pvd[813..830]),
            modification_date: date_text(&pvd[830..847]),
            expiration_date: date_text(&pvd[847..864]),
            effective_date: date_text(&pvd[864..881]),
            joliet_level: None,
            rock_ridge: Vec::new(),
            descriptor_lines: Vec::new(),
            boot_catalog: None,
        };
        let mut catalog = None;
        let mut d = [0u8; SECTOR as usize];
        for n in 16..16 + MAX_DESCRIPTORS {
            self.src
                .read_exact_at(n * SECTOR, &mut d, "iso9660 volume descriptor")?;
            if d[0] == 255 {
                break;
            }
            let joliet = joliet_level(&d);
            if info.joliet_level.is_none() {
                info.joliet_level = joliet;
            }
            if joliet.is_some() && d[6] == 1 {
                continue;
            }
            if d[0] == 0 && &d[7..31] == b"EL TORITO SPECIFICATION\0" {
                let sector = u32le(&d, 71);
                info.descriptor_lines.push(format!(
                    "El Torito VD version {} found, boot catalog is in sector {sector}",
                    d[6]
                ));
                catalog = Some(sector);
            }
            if d[6] == 2 {
                info.descriptor_lines
                    .push("CD-ROM uses ISO 9660:1999 relaxed format".to_owned());
                break;
            }
        }
        if let Some(sector) = catalog {
            let mut c = [0u8; 64];
            self.src
                .read_exact_at(u64::from(sector) * SECTOR, &mut c, "El Torito boot catalog")?;
            info.boot_catalog = Some(c);
        }
        info.rock_ridge = self.rock_ridge_lines()?;
        Ok(info)
    }

    /// What isoinfo says about Rock Ridge after parsing the root's `.` record.
    fn rock_ridge_lines(&self) -> Result<Vec<String>> {
        let root_extent = u64::from(u32le(&self.pvd, 156 + 2));
        let mut sector = [0u8; SECTOR as usize];
        self.src
            .read_exact_at(root_extent * SECTOR, &mut sector, "iso9660 root directory")?;
        let len = usize::from(sector[0]);
        let name_len = usize::from(sector[32]);
        let mut lines = Vec::new();
        let mut start = 33 + name_len + usize::from(name_len % 2 == 0);
        if len < 33 || start > len {
            return Ok(vec!["NO Rock Ridge present".to_owned()]);
        }
        if len - start >= 14 && &sector[start + 6..start + 8] == b"XA" && sector[start + 9] == 0 {
            start += 14;
        }
        let mut scan = SignatureScan::default();
        scan.area(self, &sector[start..len], &mut lines, 0)?;
        if scan.flags == 0 {
            lines.push("NO Rock Ridge present".to_owned());
        } else {
            lines.push(if scan.flags & 1024 != 0 {
                format!("Rock Ridge signatures version {} found", scan.su_version)
            } else {
                "Bad Rock Ridge signatures found (SU record missing)".to_owned()
            });
            if scan.flags & 2048 != 0 {
                lines.push(format!(
                    "Apple signatures version {} found",
                    scan.aa_version
                ));
            }
        }
        Ok(lines)
    }
}

/// The Joliet level a descriptor's escape sequences announce.
pub(super) fn joliet_level(d: &[u8]) -> Option<u8> {
    if d[88] != b'%' || d[89] != b'/' || !(d[91] == 0 || d[91] == b' ') {
        return None;
    }
    match d[90] {
        b'@' => Some(1),
        b'C' => Some(2),
        b'E' => Some(3),
        _ => None,
    }
}

/// isoinfo's reading of a system use area: which signatures appear.
#[derive(Default)]
struct SignatureScan {
    flags: u32,
    su_version: u8,
    aa_version: u8,
}

impl SignatureScan {
    fn area<R: ReadAt>(
        &mut self,
        iso: &Iso9660<R>,
        mut a: &[u8],
        lines: &mut Vec<String>,
        depth: u32,
    ) -> Result<()> {
        let mut cont = None;
        while a.len() >= 4 {
            if a[3] != 1 && a[3] != 2 {
                lines.push(format!("**BAD RRVERSION ({})", a[3]));
                self.flags = 0;
                return Ok(());
            }
            let sig = [a[0], a[1]];
            let bit = match &sig {
                b"PX" => 1,
                b"PN" => 2,
                b"SL" => 4,
                b"NM" => 8,
                b"CL" => 16,
                b"PL" => 32,
                b"RE" => 64,
                b"TF" => 128,
                b"SP" => {
                    self.su_version = a[3];
                    1024
                }
                b"AA" => {
                    self.aa_version = a[3];
                    2048
                }
                _ => 0,
            };
            self.flags |= bit;
            if &sig == b"CE" && a.len() >= 28 {
                cont = Some((u32le(a, 4), u32le(a, 12), u32le(a, 20)));
            }
            let step = usize::from(a[2]);
            if step < 4 || step > a.len() {
                break;
            }
            a = &a[step..];
        }
        if let Some((extent, offset, size)) = cont {
            if depth >= 8 {
                return Err(Error::corrupt(
                    "iso9660 continuation area",
                    u64::from(extent) * SECTOR,
                    "more than 8 chained continuation areas",
                ));
            }
            let mut sector = [0u8; SECTOR as usize];
            iso.src.read_exact_at(
                u64::from(extent) * SECTOR,
                &mut sector,
                "iso9660 continuation area",
            )?;
            let start = (offset as usize).min(sector.len());
            let end = start.saturating_add(size as usize).min(sector.len());
            self.area(iso, &sector[start..end], lines, depth + 1)?;
        }
        Ok(())
    }
}

impl VolumeInfo {
    /// The text `isoinfo -d -i <image>` (cdrkit 1.1) prints for this volume, newline-terminated.
    pub fn isoinfo_text(&self) -> String {
        let mut t = String::new();
        let _ = writeln!(t, "CD-ROM is in ISO 9660 format");
        let _ = writeln!(t, "System id: {}", self.system_id);
        let _ = writeln!(t, "Volume id: {}", self.volume_id);
        let _ = writeln!(t, "Volume set id: {}", self.volume_set_id);
        let _ = writeln!(t, "Publisher id: {}", self.publisher_id);
        let _ = writeln!(t, "Data preparer id: {}", self.preparer_id);
        let _ = writeln!(t, "Application id: {}", self.application_id);
        let _ = writeln!(t, "Copyright File id: {}", self.copyright_file_id);
        let _ = writeln!(t, "Abstract File id: {}", self.abstract_file_id);
        let _ = writeln!(t, "Bibliographic File id: {}", self.bibliographic_file_id);
        let _ = writeln!(t, "Volume set size is: {}", self.volume_set_size);
        let _ = writeln!(
            t,
            "Volume set sequence number is: {}",
            self.volume_sequence_number
        );
        let _ = writeln!(t, "Logical block size is: {}", self.logical_block_size);
        let _ = writeln!(t, "Volume size is: {}", self.volume_space_size as i32);
        for line in &self.descriptor_lines {
            let _ = writeln!(t, "{line}");
        }
        match self.joliet_level {
            Some(level) => {
                let _ = writeln!(t, "Joliet with UCS level {level} found");
            }
            None => {
                let _ = writeln!(t, "NO Joliet present");
            }
        }
        for line in &self.rock_ridge {
            let _ = writeln!(t, "{line}");
        }
        if let Some(c) = &self.boot_catalog {
            let id = &c[4..27];
            let id = &id[..id.iter().position(|&b| b == 0).unwrap_or(id.len())];
            let arch = match c[1] {
                0 => "x86",
                1 => "PPC",
                2 => "MAC",
                _ => "Unknown Arch",
            };
            let e = &c[32..64];
            let boot = match e[0] {
                0x88 => "bootable",
                0x00 => "not bootable",
                _ => "Illegal",
            };
            let media = match e[1] {
                0 => "No Emulation Boot",
                1 => "1200 Floppy",
                2 => "1.44MB Floppy",
                3 => "2.88MB Floppy",
                4 => "Hard Disk Emulation",
                _ => "Illegal Bootmedia",
            };
            let off = u32le(e, 8);
            let _ = writeln!(t, "Eltorito validation header:");
            let _ = writeln!(t, "    Hid {}", c[0]);
            let _ = writeln!(t, "    Arch {} ({arch})", c[1]);
            let _ = writeln!(t, "    ID '{}'", String::from_utf8_lossy(id));
            let _ = writeln!(t, "    Key {:X} {:X}", c[30], c[31]);
            let _ = writeln!(t, "    Eltorito defaultboot header:");
            let _ = writeln!(t, "        Bootid {:X} ({boot})", e[0]);
            let _ = writeln!(t, "        Boot media {:X} ({media})", e[1]);
            let _ = writeln!(t, "        Load segment {:X}", u16le(e, 2));
            let _ = writeln!(t, "        Sys type {:X}", e[4]);
            let _ = writeln!(t, "        Nsect {:X}", u16le(e, 6));
            let _ = writeln!(t, "        Bootoff {off:X} {off}");
        }
        t
    }
}
