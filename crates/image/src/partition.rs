//! MBR (with extended partitions) and GPT partition tables, and finding the partition that
//! holds the root filesystem through a caller's probe.

use std::collections::HashSet;

use crate::error::{Error, Result};
use crate::source::{ReadAt, Slice};

const SECTOR: u64 = 512;
/// Most GPT entries read (the usual table has 128).
const MAX_GPT_ENTRIES: u32 = 16_384;
/// Most logical partitions followed in an extended partition's chain.
const MAX_LOGICAL: usize = 256;

/// Which partition table a disk has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableKind {
    /// None: the disk is one filesystem (or something unknown).
    None,
    /// A DOS/MBR table.
    Mbr,
    /// A GUID partition table.
    Gpt,
}

/// What a partition's entry says about its type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PartitionType {
    /// An MBR type byte (`0x83` Linux, `0x8e` LVM, …).
    Mbr(u8),
    /// A GPT entry: type and unique GUIDs (upper-case, as `sfdisk` prints them) and name.
    Gpt {
        /// Partition type GUID.
        type_guid: String,
        /// Unique partition GUID.
        uuid: String,
        /// The entry's name.
        name: String,
    },
}

/// One partition of a disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partition {
    /// Its number as Linux names it (`sda1` is 1; MBR logical partitions start at 5).
    pub number: u32,
    /// Start in bytes.
    pub start: u64,
    /// Length in bytes.
    pub size: u64,
    /// Its type.
    pub kind: PartitionType,
}

/// The partition table of `disk` and its partitions, in table order.
pub fn read_partitions(disk: &dyn ReadAt) -> Result<(TableKind, Vec<Partition>)> {
    if disk.len() < SECTOR {
        return Ok((TableKind::None, Vec::new()));
    }
    let mut mbr = [0u8; 512];
    disk.read_exact_at(0, &mut mbr, "MBR")?;
    if mbr[510..512] != [0x55, 0xaa] {
        return Ok((TableKind::None, Vec::new()));
    }
    let entries: Vec<[u8; 16]> = (0..4)
        .map(|i| {
            mbr[446 + 16 * i..462 + 16 * i]
                .try_into()
                .unwrap_or([0; 16])
        })
        .collect();
    // A boot sector of a filesystem (FAT) also ends with 55 AA: its "entries" have status
    // bytes other than 0x00 and 0x80.
    if entries.iter().any(|e| e[0] != 0 && e[0] != 0x80) {
        return Ok((TableKind::None, Vec::new()));
    }
    if entries.iter().any(|e| e[4] == 0xee) {
        return Ok((TableKind::Gpt, read_gpt(disk)?));
    }
    let mut out = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        let (kind, start, count) = mbr_entry(e);
        if kind == 0 || count == 0 {
            continue;
        }
        let entry_at = 446 + 16 * i as u64;
        let p = checked(
            disk,
            i as u32 + 1,
            start,
            count,
            PartitionType::Mbr(kind),
            "MBR partition entry",
            entry_at,
        )?;
        out.push(p);
        if matches!(kind, 0x05 | 0x0f | 0x85) {
            read_logical(disk, start, &mut out)?;
        }
    }
    Ok((TableKind::Mbr, out))
}

fn mbr_entry(e: &[u8; 16]) -> (u8, u64, u64) {
    let start = u64::from(u32::from_le_bytes([e[8], e[9], e[10], e[11]]));
    let count = u64::from(u32::from_le_bytes([e[12], e[13], e[14], e[15]]));
    (e[4], start, count)
}

fn checked(
    disk: &dyn ReadAt,
    number: u32,
    start_lba: u64,
    sectors: u64,
    kind: PartitionType,
    what: &'static str,
    entry_at: u64,
) -> Result<Partition> {
    let start = start_lba.checked_mul(SECTOR);
    let size = sectors.checked_mul(SECTOR);
    match (start, size) {
        (Some(start), Some(size)) if start.checked_add(size).is_some_and(|end| end <= disk.len()) => {
            Ok(Partition { number, start, size, kind })
        }
        _ => Err(Error::corrupt(
            what,
            entry_at,
            format!(
                "partition {number} (sectors {start_lba}+{sectors}) lies beyond the disk's {} bytes",
                disk.len()
            ),
        )),
    }
}

/// Follows the chain of extended boot records of the extended partition at `ext_lba`.
fn read_logical(disk: &dyn ReadAt, ext_lba: u64, out: &mut Vec<Partition>) -> Result<()> {
    let mut next = 0u64;
    let mut seen = HashSet::new();
    let mut number = 5;
    loop {
        let ebr_lba = ext_lba + next;
        if !seen.insert(ebr_lba) || seen.len() > MAX_LOGICAL {
            return Err(Error::corrupt(
                "EBR",
                ebr_lba * SECTOR,
                "the chain of extended boot records loops",
            ));
        }
        let mut ebr = [0u8; 512];
        disk.read_exact_at(ebr_lba * SECTOR, &mut ebr, "EBR")?;
        if ebr[510..512] != [0x55, 0xaa] {
            return Err(Error::corrupt(
                "EBR",
                ebr_lba * SECTOR,
                "no 55 AA signature",
            ));
        }
        let first: [u8; 16] = ebr[446..462].try_into().unwrap_or([0; 16]);
        let second: [u8; 16] = ebr[462..478].try_into().unwrap_or([0; 16]);
        let (kind, start, count) = mbr_entry(&first);
        if kind != 0 && count != 0 {
            let p = checked(
                disk,
                number,
                ebr_lba + start,
                count,
                PartitionType::Mbr(kind),
                "EBR",
                ebr_lba * SECTOR + 446,
            )?;
            out.push(p);
            number += 1;
        }
        let (kind, start, _) = mbr_entry(&second);
        if kind == 0 || start == 0 {
            return Ok(());
        }
        next = start;
    }
}

fn guid(b: &[u8]) -> String {
    format!(
        "{:08X}-{:04X}-{:04X}-{:02X}{:02X}-{:02X}{:02X}{:02X}{:02X}{:02X}{:02X}",
        u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
        u16::from_le_bytes([b[4], b[5]]),
        u16::from_le_bytes([b[6], b[7]]),
        b[8],
        b[9],
        b[10],
        b[11],
        b[12],
        b[13],
        b[14],
        b[15]
    )
}

fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn le64(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap_or([0; 8]))
}

fn crc32(b: &[u8]) -> u32 {
    let mut c = flate2::Crc::new();
    c.update(b);
    c.sum()
}

/// Reads the GPT: the primary header at LBA 1, else the backup at the last LBA.
fn read_gpt(disk: &dyn ReadAt) -> Result<Vec<Partition>> {
    let last = disk.len() / SECTOR - 1;
    match gpt_at(disk, 1) {
        Ok(p) => Ok(p),
        Err(primary) => gpt_at(disk, last).map_err(|_| primary),
    }
}

fn gpt_at(disk: &dyn ReadAt, lba: u64) -> Result<Vec<Partition>> {
    let at = lba * SECTOR;
    let mut h = [0u8; 512];
    disk.read_exact_at(at, &mut h, "GPT header")?;
    if &h[..8] != b"EFI PART" {
        return Err(Error::corrupt(
            "GPT header",
            at,
            "no EFI PART signature (protective MBR without a GPT)",
        ));
    }
    let header_size = le32(&h, 12) as usize;
    if !(92..=512).contains(&header_size) {
        return Err(Error::corrupt(
            "GPT header",
            at,
            format!("header size {header_size}"),
        ));
    }
    let stored = le32(&h, 16);
    let mut copy = h;
    copy[16..20].fill(0);
    if crc32(&copy[..header_size]) != stored {
        return Err(Error::corrupt("GPT header", at, "CRC32 mismatch"));
    }
    let entries_lba = le64(&h, 72);
    let count = le32(&h, 80);
    let entry_size = le32(&h, 84) as usize;
    if count > MAX_GPT_ENTRIES
        || entry_size < 128
        || !entry_size.is_multiple_of(8)
        || entry_size > 4096
    {
        return Err(Error::corrupt(
            "GPT header",
            at,
            format!("{count} entries of {entry_size} bytes"),
        ));
    }
    let table_at = entries_lba
        .checked_mul(SECTOR)
        .filter(|a| {
            a.checked_add((count as u64) * entry_size as u64)
                .is_some_and(|e| e <= disk.len())
        })
        .ok_or_else(|| {
            Error::corrupt(
                "GPT header",
                at,
                format!("entry array at LBA {entries_lba} lies beyond the disk"),
            )
        })?;
    let mut table = vec![0u8; count as usize * entry_size];
    disk.read_exact_at(table_at, &mut table, "GPT entry array")?;
    if crc32(&table) != le32(&h, 88) {
        return Err(Error::corrupt(
            "GPT entry array",
            table_at,
            "CRC32 mismatch",
        ));
    }
    let mut out = Vec::new();
    for (i, e) in table.chunks_exact(entry_size).enumerate() {
        if e[..16].iter().all(|&b| b == 0) {
            continue;
        }
        let first = le64(e, 32);
        let last = le64(e, 40);
        let entry_at = table_at + (i * entry_size) as u64;
        if last < first {
            return Err(Error::corrupt(
                "GPT entry",
                entry_at,
                format!(
                    "partition {} ends ({last}) before it starts ({first})",
                    i + 1
                ),
            ));
        }
        let units: Vec<u16> = e[56..128]
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .take_while(|&u| u != 0)
            .collect();
        let kind = PartitionType::Gpt {
            type_guid: guid(&e[..16]),
            uuid: guid(&e[16..32]),
            name: String::from_utf16_lossy(&units),
        };
        out.push(checked(
            disk,
            i as u32 + 1,
            first,
            last - first + 1,
            kind,
            "GPT entry",
            entry_at,
        )?);
    }
    Ok(out)
}

/// The first partition of `disk` for which `probe` says yes (a filesystem reader that finds
/// `/var/lib/rpm` in it), or the whole disk as partition 0 when there is no table. Probes
/// are tried in table order; a probe's error counts as "no".
pub fn find_partition<'a>(
    disk: &'a dyn ReadAt,
    mut probe: impl FnMut(&Partition, &Slice<&'a dyn ReadAt>) -> Result<bool>,
) -> Result<Option<(Partition, Slice<&'a dyn ReadAt>)>> {
    let (kind, parts) = read_partitions(disk)?;
    let candidates = if kind == TableKind::None {
        vec![Partition {
            number: 0,
            start: 0,
            size: disk.len(),
            kind: PartitionType::Mbr(0),
        }]
    } else {
        parts
    };
    for p in candidates {
        if matches!(p.kind, PartitionType::Mbr(0x05 | 0x0f | 0x85)) {
            continue;
        }
        let window = Slice::new(disk, p.start, p.size)?;
        if probe(&p, &window).unwrap_or(false) {
            return Ok(Some((p, window)));
        }
    }
    Ok(None)
}
