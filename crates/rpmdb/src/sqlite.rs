//! SQLite `rpmdb.sqlite` (rpm ≥ 4.16), read from the file format: no SQLite library.
//!
//! # What is read (the facts of the SQLite file format this reader relies on)
//! - The 100-byte file header: magic `SQLite format 3\0`, page size (big-endian `u16` at 16,
//!   1 meaning 65536), read format version at 19 (1 rollback journal, 2 WAL), bytes
//!   reserved at the end of each page at 20, the payload fractions 64/32/32 at 21..24, the
//!   page count at 28 (valid when the change counter at 24 equals the number at 92), and the
//!   text encoding at 56 (1 = UTF-8).
//! - Table b-tree pages: type 5 (interior: cells of a left child page and a key, plus the
//!   right-most child at 8 of the page header) and 13 (leaf: cells of payload length, rowid
//!   and payload). The page header is 8 (leaf) or 12 (interior) bytes, at offset 100 on
//!   page 1 and 0 elsewhere, followed by the big-endian `u16` cell offsets.
//! - Payloads larger than a page keep a prefix on the page and continue on a chain of
//!   overflow pages (a `u32` next-page number, then content); how much stays local follows
//!   from the usable page size (SQLite's `X`, `M`, `K` rule).
//! - Records: a header of varint serial types, then the values.
//! - The schema table (rooted at page 1) names the root page and the `CREATE TABLE`
//!   statement of rpm's `Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT
//!   NULL)`; `hnum` is the rowid.
//!
//! Rows come in rowid order, which is `rpm -qa`'s order. A `-wal` file is not read: a
//! database must be checkpointed (rpm checkpoints when it closes the database).

use std::borrow::Cow;
use std::ops::Range;

use crate::error::{Blame, Problem, Result};
use crate::{Format, InstalledHeader};

/// The first 16 bytes of an SQLite 3 database.
pub const MAGIC: &[u8] = b"SQLite format 3\0";

const FILE_HEADER: usize = 100;
const LEAF_TABLE: u8 = 13;
const INTERIOR_TABLE: u8 = 5;
/// SQLite itself gives up deeper than 20 levels; a deeper tree is corrupt.
const MAX_DEPTH: usize = 40;

const BLAME: Blame = Blame(Format::Sqlite);

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(b[at..at + 4].try_into().unwrap_or_default())
}

/// A varint at `at` of `b`: its value and length, or `None` if it runs off the end.
fn varint(b: &[u8], at: usize) -> Option<(u64, usize)> {
    let mut v = 0u64;
    for i in 0..9 {
        let x = *b.get(at + i)?;
        if i == 8 {
            return Some(((v << 8) | u64::from(x), 9));
        }
        v = (v << 7) | u64::from(x & 0x7f);
        if x & 0x80 == 0 {
            return Some((v, i + 1));
        }
    }
    None
}

/// What the file header says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileHeader {
    /// Page size in bytes.
    pub page_size: u32,
    /// Page size less the bytes reserved at the end of each page.
    pub usable_size: u32,
    /// Number of pages (from the header when valid, else from the file length).
    pub pages: u32,
    /// Whether the database is in WAL mode (read format version 2).
    pub wal: bool,
}

impl FileHeader {
    /// Reads and checks the 100-byte file header.
    pub fn parse(data: &[u8]) -> Result<FileHeader> {
        let h = BLAME.slice(data, 0, FILE_HEADER as u64, "file header")?;
        if &h[..16] != MAGIC {
            return Err(BLAME.at(
                "file header",
                0,
                Problem::BadMagic {
                    expected: "SQLite format 3",
                    found: format!("{:02x?}", &h[..16]),
                },
            ));
        }
        let raw = be16(h, 16);
        let page_size: u32 = if raw == 1 { 65536 } else { raw.into() };
        if !page_size.is_power_of_two() || !(512..=65536).contains(&page_size) {
            return Err(BLAME.at(
                "file header",
                16,
                Problem::Unsupported {
                    what: "page size",
                    value: raw.to_string(),
                },
            ));
        }
        if !(1..=2).contains(&h[19]) {
            return Err(BLAME.at(
                "file header",
                19,
                Problem::Unsupported {
                    what: "read format version",
                    value: h[19].to_string(),
                },
            ));
        }
        let usable_size = page_size - u32::from(h[20]);
        if usable_size < 480 {
            return Err(BLAME.at(
                "file header",
                20,
                Problem::OutOfRange {
                    what: "reserved bytes per page",
                    value: h[20].into(),
                    min: 0,
                    max: u64::from(page_size - 480),
                },
            ));
        }
        if h[21..24] != [64, 32, 32] {
            return Err(BLAME.at(
                "file header",
                21,
                Problem::Invalid(format!(
                    "payload fractions {:?}, expected [64, 32, 32]",
                    &h[21..24]
                )),
            ));
        }
        let encoding = be32(h, 56);
        if encoding > 1 {
            return Err(BLAME.at(
                "file header",
                56,
                Problem::Unsupported {
                    what: "text encoding",
                    value: format!("{encoding} (only UTF-8 is read)"),
                },
            ));
        }
        let in_file = (data.len() / page_size as usize).min(u32::MAX as usize) as u32;
        let stated = be32(h, 28);
        let pages = if stated != 0 && be32(h, 24) == be32(h, 92) {
            stated
        } else {
            in_file
        };
        // A file shorter than its page count was cut off (an image copied in part).
        if pages > in_file {
            return Err(BLAME.at(
                "file header",
                28,
                Problem::Truncated {
                    needed: u64::from(pages) * u64::from(page_size),
                    file_len: data.len() as u64,
                },
            ));
        }
        Ok(FileHeader {
            page_size,
            usable_size,
            pages,
            wal: h[19] == 2,
        })
    }
}

/// A value of a record column (text and blobs as byte ranges of the payload).
#[derive(Clone, Debug, PartialEq, Eq)]
enum Value {
    Null,
    Int(i64),
    Float,
    Blob(Range<usize>),
    Text(Range<usize>),
}

/// The columns of a record, `what` naming it in errors.
fn record(payload: &[u8], what: &dyn Fn() -> String, offset: u64) -> Result<Vec<Value>> {
    let bad = |m: String| BLAME.at(what(), offset, Problem::Invalid(m));
    let (header_len, n) = varint(payload, 0)
        .ok_or_else(|| bad("record header length runs off the payload".into()))?;
    let header_len = header_len as usize;
    if header_len < n || header_len > payload.len() {
        return Err(bad(format!(
            "record header of {header_len} bytes in a payload of {}",
            payload.len()
        )));
    }
    let mut at = n;
    let mut data = header_len;
    let mut out = Vec::new();
    while at < header_len {
        let (t, n) = varint(&payload[..header_len], at)
            .ok_or_else(|| bad("serial type runs off the record header".into()))?;
        at += n;
        let size = match t {
            0 | 8 | 9 => 0,
            1..=4 => t as usize,
            5 => 6,
            6 | 7 => 8,
            10 | 11 => return Err(bad(format!("reserved serial type {t}"))),
            _ => ((t - 12) / 2) as usize,
        };
        let end = data
            .checked_add(size)
            .filter(|&e| e <= payload.len())
            .ok_or_else(|| {
                bad(format!(
                    "column {} ({size} bytes at {data}) runs past the payload of {}",
                    out.len(),
                    payload.len()
                ))
            })?;
        let bytes = &payload[data..end];
        out.push(match t {
            0 => Value::Null,
            1..=6 => {
                // Big-endian two's complement of 1, 2, 3, 4, 6 or 8 bytes.
                let mut v: i64 = if bytes[0] & 0x80 != 0 { -1 } else { 0 };
                for &b in bytes {
                    v = (v << 8) | i64::from(b);
                }
                Value::Int(v)
            }
            7 => Value::Float,
            8 => Value::Int(0),
            9 => Value::Int(1),
            t if t % 2 == 0 => Value::Blob(data..end),
            _ => Value::Text(data..end),
        });
        data = end;
    }
    Ok(out)
}

/// A table row: rowid, payload, and the file offset of the payload (or its first piece).
type Row<'a> = (i64, Cow<'a, [u8]>, u64);

/// One frame of the b-tree walk.
#[derive(Clone, Copy, Debug)]
struct Frame {
    page: u32,
    leaf: bool,
    cells: usize,
    next: usize,
}

/// A depth-first, bounded walk of one table b-tree, yielding (rowid, payload, offset).
struct TableWalk<'a> {
    data: &'a [u8],
    header: FileHeader,
    stack: Vec<Frame>,
    /// Pages of this tree already entered.
    seen: Vec<bool>,
    /// Overflow pages already read. Each belongs to one item, so a page met twice is a
    /// cycle or a shared chain, and all items together copy at most the file's size.
    seen_overflow: Vec<bool>,
    tree: &'static str,
}

impl<'a> TableWalk<'a> {
    /// A walk of the tree rooted at page `root`, whose number was read at offset `link`.
    fn new(
        data: &'a [u8],
        header: &FileHeader,
        root: u32,
        link: u64,
        tree: &'static str,
    ) -> Result<Self> {
        let pages = header.pages as usize + 1;
        // Tables sized by the file, not by a header that may lie.
        let cap = pages.min(data.len() / header.page_size as usize + 2);
        let mut w = TableWalk {
            data,
            header: header.clone(),
            stack: Vec::new(),
            seen: vec![false; cap],
            seen_overflow: vec![false; cap],
            tree,
        };
        w.enter(root, link)?;
        Ok(w)
    }

    fn page_offset(&self, page: u32) -> u64 {
        u64::from(page - 1) * u64::from(self.header.page_size)
    }

    /// Page `n` (1-based), checked to be within the database. `link` is the offset of the
    /// field that gave the number (named if it is out of range).
    fn page(&self, n: u32, what: &str, link: u64) -> Result<&'a [u8]> {
        let name = || format!("{what} {n}");
        if n == 0 || n > self.header.pages {
            return Err(BLAME.at(
                format!("link to {}", name()),
                link,
                Problem::OutOfRange {
                    what: "page number",
                    value: n.into(),
                    min: 1,
                    max: self.header.pages.into(),
                },
            ));
        }
        BLAME.slice(
            self.data,
            self.page_offset(n),
            self.header.page_size.into(),
            name(),
        )
    }

    /// Offset of the b-tree page header in page `n`.
    fn header_at(n: u32) -> usize {
        if n == 1 {
            FILE_HEADER
        } else {
            0
        }
    }

    /// Enters b-tree page `n`, linked from the field at `link`.
    fn enter(&mut self, n: u32, link: u64) -> Result<()> {
        let page = self.page(n, "b-tree page", link)?;
        let offset = self.page_offset(n);
        let idx = n as usize;
        if idx >= self.seen.len() || self.seen[idx] {
            return Err(BLAME.at(
                format!("b-tree page {n}"),
                offset,
                Problem::Cycle {
                    page: n.into(),
                    chain: self.tree,
                },
            ));
        }
        self.seen[idx] = true;
        if self.stack.len() >= MAX_DEPTH {
            return Err(BLAME.at(
                format!("b-tree page {n}"),
                offset,
                Problem::Invalid(format!("{} deeper than {MAX_DEPTH} levels", self.tree)),
            ));
        }
        let h = Self::header_at(n);
        let kind = page[h];
        let leaf = match kind {
            LEAF_TABLE => true,
            INTERIOR_TABLE => false,
            other => {
                return Err(BLAME.at(
                    format!("b-tree page {n}"),
                    offset + h as u64,
                    Problem::Unsupported {
                        what: "page type",
                        value: format!("{other} (expected a table b-tree page, 5 or 13)"),
                    },
                ))
            }
        };
        let cells = usize::from(be16(page, h + 3));
        let first = h + if leaf { 8 } else { 12 };
        let usable = self.header.usable_size as usize;
        if first + 2 * cells > usable {
            return Err(BLAME.at(
                format!("b-tree page {n}"),
                offset + h as u64 + 3,
                Problem::OutOfRange {
                    what: "cell count",
                    value: cells as u64,
                    min: 0,
                    max: ((usable - first) / 2) as u64,
                },
            ));
        }
        self.stack.push(Frame {
            page: n,
            leaf,
            cells,
            next: 0,
        });
        Ok(())
    }

    /// Offset of cell `i` of page `n` within the page, checked.
    fn cell_at(&self, page: &[u8], f: &Frame, i: usize) -> Result<usize> {
        let h = Self::header_at(f.page);
        let first = h + if f.leaf { 8 } else { 12 };
        let at = usize::from(be16(page, first + 2 * i));
        let min = first + 2 * f.cells;
        let usable = self.header.usable_size as usize;
        if at < min || at >= usable {
            return Err(BLAME.at(
                format!("cell {i} of b-tree page {}", f.page),
                self.page_offset(f.page) + (first + 2 * i) as u64,
                Problem::OutOfRange {
                    what: "cell offset",
                    value: at as u64,
                    min: min as u64,
                    max: (usable - 1) as u64,
                },
            ));
        }
        Ok(at)
    }

    /// The payload of leaf cell at `at` of page `f.page`: rowid, payload and its offset.
    fn leaf_cell(&mut self, page: &'a [u8], f: &Frame, i: usize, at: usize) -> Result<Row<'a>> {
        let usable = self.header.usable_size as usize;
        let cell = &page[at..usable];
        let offset = self.page_offset(f.page) + at as u64;
        let name = || format!("cell {i} of b-tree page {}", f.page);
        let bad = |m: &str| BLAME.at(name(), offset, Problem::Invalid(m.into()));
        let (len, n1) = varint(cell, 0).ok_or_else(|| bad("payload length runs off the page"))?;
        let (rowid, n2) = varint(cell, n1).ok_or_else(|| bad("rowid runs off the page"))?;
        let rowid = rowid as i64;
        let start = n1 + n2;
        if len > self.data.len() as u64 {
            return Err(BLAME.at(
                name(),
                offset,
                Problem::OutOfRange {
                    what: "payload length",
                    value: len,
                    min: 0,
                    max: self.data.len() as u64,
                },
            ));
        }
        let p = len as usize;
        let x = usable - 35;
        if p <= x {
            let body = cell
                .get(start..start + p)
                .ok_or_else(|| bad("payload runs off the page"))?;
            return Ok((rowid, Cow::Borrowed(body), offset + start as u64));
        }
        let m = (usable - 12) * 32 / 255 - 23;
        let k = m + (p - m) % (usable - 4);
        let local = if k <= x { k } else { m };
        let head = cell
            .get(start..start + local + 4)
            .ok_or_else(|| bad("local payload and overflow pointer run off the page"))?;
        let mut out = Vec::with_capacity(p);
        out.extend_from_slice(&head[..local]);
        let first = be32(head, local);
        let link = offset + (start + local) as u64;
        self.overflow(first, link, p, &mut out, &name, offset)?;
        Ok((rowid, Cow::Owned(out), offset + start as u64))
    }

    fn overflow(
        &mut self,
        first: u32,
        first_link: u64,
        total: usize,
        out: &mut Vec<u8>,
        name: &dyn Fn() -> String,
        cell_offset: u64,
    ) -> Result<()> {
        let usable = self.header.usable_size as usize;
        let mut n = first;
        let mut link = first_link;
        while out.len() < total {
            if n == 0 {
                return Err(BLAME.at(
                    name(),
                    cell_offset,
                    Problem::Invalid(format!(
                        "overflow chain from page {first} ends after {} of {total} bytes",
                        out.len()
                    )),
                ));
            }
            let page = self.page(n, "overflow page", link)?;
            link = self.page_offset(n);
            let idx = n as usize;
            if idx >= self.seen_overflow.len() || self.seen_overflow[idx] {
                return Err(BLAME.at(
                    format!("overflow page {n}"),
                    self.page_offset(n),
                    Problem::Cycle {
                        page: n.into(),
                        chain: "overflow chains",
                    },
                ));
            }
            self.seen_overflow[idx] = true;
            let take = (total - out.len()).min(usable - 4);
            out.extend_from_slice(&page[4..4 + take]);
            n = be32(page, 0);
        }
        Ok(())
    }

    fn step(&mut self) -> Result<Option<Row<'a>>> {
        loop {
            let Some(f) = self.stack.last().copied() else {
                return Ok(None);
            };
            let page = self.page(f.page, "b-tree page", 0)?;
            if f.next > f.cells || (f.leaf && f.next == f.cells) {
                self.stack.pop();
                continue;
            }
            let i = f.next;
            if let Some(top) = self.stack.last_mut() {
                top.next += 1;
            }
            if f.leaf {
                let at = self.cell_at(page, &f, i)?;
                return self.leaf_cell(page, &f, i, at).map(Some);
            }
            let base = self.page_offset(f.page);
            let (child, link) = if i == f.cells {
                let at = Self::header_at(f.page) + 8;
                (be32(page, at), base + at as u64)
            } else {
                let at = self.cell_at(page, &f, i)?;
                if at + 4 > self.header.usable_size as usize {
                    return Err(BLAME.at(
                        format!("cell {i} of b-tree page {}", f.page),
                        self.page_offset(f.page) + at as u64,
                        Problem::Invalid("child pointer runs off the page".into()),
                    ));
                }
                (be32(page, at), base + at as u64)
            };
            self.enter(child, link)?;
        }
    }
}

/// Where rpm's `Packages` table is and which columns hold what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PackagesTable {
    /// Root page of the table b-tree.
    pub root: u32,
    /// Offset of the schema record that gives the root page.
    pub root_link: u64,
    /// Column index of `hnum` (the rowid alias: stored as NULL).
    pub hnum: usize,
    /// Column index of `blob`.
    pub blob: usize,
}

/// Column names of a `CREATE TABLE` statement (table constraints left out).
fn column_names(sql: &str) -> Option<Vec<String>> {
    let open = sql.find('(')?;
    let body = &sql[open + 1..];
    let mut parts = Vec::new();
    let (mut depth, mut quote, mut start) = (0usize, None::<char>, 0usize);
    let mut end = None;
    for (i, c) in body.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"' | '`') => quote = Some(c),
            (None, '[') => quote = Some(']'),
            (None, '(') => depth += 1,
            (None, ')') if depth == 0 => {
                parts.push(&body[start..i]);
                end = Some(i);
                break;
            }
            (None, ')') => depth -= 1,
            (None, ',') if depth == 0 => {
                parts.push(&body[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    end?;
    const CONSTRAINTS: [&str; 5] = ["CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN"];
    Some(
        parts
            .iter()
            .map(|p| p.trim())
            .filter(|p| {
                let first = p.split_whitespace().next().unwrap_or("");
                !CONSTRAINTS.iter().any(|k| first.eq_ignore_ascii_case(k))
            })
            .map(|p| {
                let name = match p.chars().next() {
                    Some(q @ ('"' | '\'' | '`')) => p[1..].split(q).next().unwrap_or(""),
                    Some('[') => p[1..].split(']').next().unwrap_or(""),
                    _ => p.split_whitespace().next().unwrap_or(""),
                };
                name.to_string()
            })
            .collect(),
    )
}

/// Finds rpm's `Packages` table in the schema.
pub fn packages_table(data: &[u8]) -> Result<PackagesTable> {
    let header = FileHeader::parse(data)?;
    let mut schema = TableWalk::new(data, &header, 1, 0, "schema b-tree")?;
    while let Some((rowid, payload, offset)) = schema.step()? {
        let what = || format!("schema row {rowid}");
        let cols = record(&payload, &what, offset)?;
        let text = |i: usize| match cols.get(i) {
            Some(Value::Text(r)) => std::str::from_utf8(&payload[r.clone()]).ok(),
            _ => None,
        };
        if text(0) != Some("table") || !text(1).is_some_and(|n| n.eq_ignore_ascii_case("Packages"))
        {
            continue;
        }
        let root = match cols.get(3) {
            Some(&Value::Int(r)) if r > 0 && r <= i64::from(u32::MAX) => (r as u32, offset),
            other => {
                return Err(BLAME.at(
                    what(),
                    offset,
                    Problem::Invalid(format!("Packages has root page {other:?}")),
                ))
            }
        };
        let sql = text(4).unwrap_or("");
        let names = column_names(sql).ok_or_else(|| {
            BLAME.at(
                what(),
                offset,
                Problem::Invalid(format!("cannot read the columns of {sql:?}")),
            )
        })?;
        let find = |c: &str| names.iter().position(|n| n.eq_ignore_ascii_case(c));
        let (Some(hnum), Some(blob)) = (find("hnum"), find("blob")) else {
            return Err(BLAME.at(
                what(),
                offset,
                Problem::Invalid(format!("Packages has columns {names:?}, not hnum and blob")),
            ));
        };
        return Ok(PackagesTable {
            root: root.0,
            root_link: root.1,
            hnum,
            blob,
        });
    }
    Err(BLAME.at(
        "schema",
        FILE_HEADER as u64,
        Problem::Invalid("no Packages table".into()),
    ))
}

/// Yields the rows of the `Packages` table in rowid order. See [`crate::Reader`].
pub struct Walk<'a> {
    table: PackagesTable,
    rows: TableWalk<'a>,
    done: bool,
}

impl<'a> Walk<'a> {
    /// Reads the file header and the schema and finds the `Packages` table.
    pub fn new(data: &'a [u8]) -> Result<Walk<'a>> {
        let header = FileHeader::parse(data)?;
        let table = packages_table(data)?;
        Ok(Walk {
            rows: TableWalk::new(
                data,
                &header,
                table.root,
                table.root_link,
                "Packages b-tree",
            )?,
            table,
            done: false,
        })
    }

    fn step(&mut self) -> Result<Option<InstalledHeader<'a>>> {
        let Some((rowid, payload, offset)) = self.rows.step()? else {
            return Ok(None);
        };
        let what = || format!("Packages row {rowid}");
        let cols = record(&payload, &what, offset)?;
        let instance = match cols.get(self.table.hnum) {
            None | Some(Value::Null) => rowid,
            Some(&Value::Int(v)) => v,
            Some(other) => {
                return Err(BLAME.at(
                    what(),
                    offset,
                    Problem::Invalid(format!("hnum is {other:?}")),
                ))
            }
        };
        let instance = u32::try_from(instance)
            .ok()
            .filter(|&i| i != 0)
            .ok_or_else(|| {
                BLAME.at(
                    what(),
                    offset,
                    Problem::OutOfRange {
                        what: "hnum",
                        value: instance as u64,
                        min: 1,
                        max: u32::MAX.into(),
                    },
                )
            })?;
        let range = match cols.get(self.table.blob) {
            Some(Value::Blob(r)) => r.clone(),
            other => {
                return Err(BLAME.at(
                    what(),
                    offset,
                    Problem::Invalid(format!("blob column is {other:?}, not a BLOB")),
                ))
            }
        };
        let blob_offset = offset + range.start as u64;
        let blob = match payload {
            Cow::Borrowed(p) => Cow::Borrowed(&p[range]),
            Cow::Owned(mut p) if range.end == p.len() => {
                p.drain(..range.start);
                Cow::Owned(p)
            }
            Cow::Owned(p) => Cow::Owned(p[range].to_vec()),
        };
        Ok(Some(InstalledHeader {
            instance,
            blob,
            offset: blob_offset,
        }))
    }
}

impl<'a> Iterator for Walk<'a> {
    type Item = Result<InstalledHeader<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.step() {
            Ok(Some(h)) => Some(Ok(h)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints() {
        assert_eq!(varint(&[0x05], 0), Some((5, 1)));
        assert_eq!(varint(&[0x81, 0x00], 0), Some((128, 2)));
        assert_eq!(varint(&[0xff; 9], 0), Some((u64::MAX, 9)));
        assert_eq!(varint(&[0x81], 0), None);
    }

    #[test]
    fn rpm_schema_columns() {
        let sql =
            "CREATE TABLE 'Packages' (hnum INTEGER PRIMARY KEY AUTOINCREMENT,blob BLOB NOT NULL)";
        assert_eq!(column_names(sql).unwrap(), ["hnum", "blob"]);
        let sql = "CREATE TABLE x (\"a b\" TEXT, [c] INT DEFAULT (1,2), PRIMARY KEY (c), d)";
        assert_eq!(column_names(sql).unwrap(), ["a b", "c", "d"]);
        assert_eq!(column_names("CREATE TABLE x (a"), None);
    }

    #[test]
    fn records() {
        // header len 4: NULL, int8 (1 byte), blob of 2 bytes (serial 16)
        let payload = [4u8, 0, 1, 16, 0xfe, 0xaa, 0xbb];
        let name = || "r".to_string();
        let cols = record(&payload, &name, 0).unwrap();
        assert_eq!(cols, [Value::Null, Value::Int(-2), Value::Blob(5..7)]);
        let e = record(&[4u8, 0, 1, 18, 1], &name, 7).unwrap_err();
        assert_eq!(e.offset(), 7);
        assert!(record(&[3u8, 10, 0], &name, 0).is_err());
    }
}
