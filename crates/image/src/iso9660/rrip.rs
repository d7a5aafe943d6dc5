//! System Use Sharing Protocol entries: Rock Ridge (names, modes, owners, symlinks, times,
//! relocated directories), zisofs `ZF`, and continuation areas, all bounded.

use crate::error::{Error, Result};
use crate::le::u32le;
use crate::source::ReadAt;

use super::SECTOR;

/// Continuation areas followed for one directory record.
const MAX_CONTINUATIONS: u32 = 16;
/// Largest continuation area read.
const MAX_CONTINUATION_LEN: u32 = 1 << 16;

/// The zisofs parameters of a `ZF` entry.
#[derive(Debug, Clone, Copy)]
pub(super) struct Zf {
    /// log2 of the block size.
    pub log2_block: u8,
    /// Size of the uncompressed content.
    pub size: u32,
}

/// What the Rock Ridge entries of one directory record say.
#[derive(Debug, Default)]
pub(super) struct Rr {
    /// Any SUSP/RRIP entry was found.
    pub present: bool,
    /// `NM`, concatenated.
    pub name: Option<Vec<u8>>,
    /// `PX` mode, uid, gid.
    pub px: Option<(u32, u32, u32)>,
    /// `SL`, assembled.
    pub target: Option<String>,
    /// `TF` modification time.
    pub mtime: Option<i64>,
    /// `CL`: the extent of a relocated directory this record stands for.
    pub child_link: Option<u32>,
    /// `RE`: this record is a relocated directory (listed through its `CL` instead).
    pub relocated: bool,
    /// `ZF`.
    pub zf: Option<Zf>,
}

/// Seconds since the epoch of a 7-byte directory record date (years since 1900, month, day,
/// hour, minute, second, offset from GMT in 15-minute units).
pub(super) fn record_time(d: &[u8]) -> i64 {
    civil(
        i64::from(d[0]) + 1900,
        d[1],
        d[2],
        d[3],
        d[4],
        d[5],
        d[6] as i8,
    )
}

/// Seconds since the epoch of a 17-byte descriptor date (`YYYYMMDDHHMMSScc` + offset).
fn long_time(d: &[u8]) -> Option<i64> {
    let n = |r: std::ops::Range<usize>| std::str::from_utf8(&d[r]).ok()?.parse::<i64>().ok();
    let y = n(0..4)?;
    if y == 0 {
        return None;
    }
    Some(civil(
        y,
        n(4..6)? as u8,
        n(6..8)? as u8,
        n(8..10)? as u8,
        n(10..12)? as u8,
        n(12..14)? as u8,
        d[16] as i8,
    ))
}

fn civil(y: i64, mo: u8, d: u8, h: u8, mi: u8, s: u8, gmt_off: i8) -> i64 {
    // Days from 1970-01-01 (proleptic Gregorian), Howard Hinnant's algorithm.
    let (mo, d) = (i64::from(mo.clamp(1, 12)), i64::from(d.clamp(1, 31)));
    let y = if mo <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (mo + if mo > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    days * 86400 + i64::from(h) * 3600 + i64::from(mi) * 60 + i64::from(s)
        - i64::from(gmt_off) * 900
}

/// Parses the system use area `area` of a record at byte `at`.
pub(super) fn parse(src: &dyn ReadAt, area: &[u8], at: u64) -> Result<Rr> {
    let mut rr = Rr::default();
    let mut sl = SlBuilder::default();
    let mut owned;
    let mut a = area;
    let mut a_at = at;
    let mut hops = 0u32;
    loop {
        let mut cont = None;
        while a.len() >= 4 {
            let len = usize::from(a[2]);
            if len < 4 || len > a.len() {
                // Padding or a torn entry ends the area, as in the kernel.
                break;
            }
            let e = &a[..len];
            rr.present = true;
            match &[e[0], e[1]] {
                // Flags 0x02 and 0x04 name `.` and `..`, which are not entries.
                b"NM" if len >= 5 && e[4] & 0x06 == 0 => {
                    rr.name
                        .get_or_insert_with(Vec::new)
                        .extend_from_slice(&e[5..]);
                }
                b"PX" if len >= 36 => rr.px = Some((u32le(e, 4), u32le(e, 20), u32le(e, 28))),
                b"SL" if len >= 5 => sl.entry(&e[5..], a_at)?,
                b"TF" if len >= 5 => rr.mtime = tf_mtime(e).or(rr.mtime),
                b"CL" if len >= 12 => rr.child_link = Some(u32le(e, 4)),
                b"RE" => rr.relocated = true,
                b"ZF" if len >= 16 && &e[4..6] == b"pz" => {
                    rr.zf = Some(Zf {
                        log2_block: e[7],
                        size: u32le(e, 8),
                    });
                }
                b"CE" if len >= 28 => cont = Some((u32le(e, 4), u32le(e, 12), u32le(e, 20))),
                b"ST" => break,
                _ => {}
            }
            a = &a[len..];
        }
        let Some((extent, offset, size)) = cont else {
            break;
        };
        hops += 1;
        let ce_at = u64::from(extent) * SECTOR + u64::from(offset);
        if hops > MAX_CONTINUATIONS || size > MAX_CONTINUATION_LEN {
            return Err(Error::corrupt("iso9660 continuation area", ce_at, format!("continuation {hops} of {size} bytes (at most {MAX_CONTINUATIONS} of {MAX_CONTINUATION_LEN})")));
        }
        owned = vec![0u8; size as usize];
        src.read_exact_at(ce_at, &mut owned, "iso9660 continuation area")?;
        a = &owned;
        a_at = ce_at;
    }
    rr.target = sl.finish();
    Ok(rr)
}

fn tf_mtime(e: &[u8]) -> Option<i64> {
    let flags = e[4];
    let long = flags & 0x80 != 0;
    let size = if long { 17 } else { 7 };
    // Creation comes before modification when present.
    if flags & 0x02 == 0 {
        return None;
    }
    let start = 5 + if flags & 0x01 != 0 { size } else { 0 };
    let stamp = e.get(start..start + size)?;
    if long {
        long_time(stamp)
    } else {
        Some(record_time(stamp))
    }
}

/// Assembles a symlink target from `SL` components, possibly over several entries.
#[derive(Default)]
struct SlBuilder {
    out: Option<String>,
    need_sep: bool,
}

impl SlBuilder {
    fn entry(&mut self, mut comps: &[u8], at: u64) -> Result<()> {
        let out = self.out.get_or_insert_with(String::new);
        while !comps.is_empty() {
            if comps.len() < 2 || comps.len() < 2 + usize::from(comps[1]) {
                return Err(Error::corrupt(
                    "iso9660 SL entry",
                    at,
                    "symlink component runs past the entry",
                ));
            }
            let (flags, len) = (comps[0], usize::from(comps[1]));
            let text = &comps[2..2 + len];
            if self.need_sep {
                out.push('/');
            }
            let root = flags & 0x08 != 0;
            if root {
                out.push('/');
            } else if flags & 0x02 != 0 {
                out.push('.');
            } else if flags & 0x04 != 0 {
                out.push_str("..");
            } else {
                out.push_str(&String::from_utf8_lossy(text));
            }
            self.need_sep = flags & 0x01 == 0 && !root;
            comps = &comps[2 + len..];
        }
        Ok(())
    }

    fn finish(self) -> Option<String> {
        self.out
    }
}
