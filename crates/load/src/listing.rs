//! HTTP directory listings (Apache and nginx autoindex pages): entry names, whether each is a
//! directory, its modification time and size. Pure: HTML text in, entries out.
//!
//! Three page styles are read:
//! - **`<pre>`**: one entry per line, `<a href="name">name</a>  2024-03-01 12:34  1.2K`
//!   (Apache FancyIndexing, nginx `01-Mar-2024 12:34  1234`);
//! - **table**: one entry per `<tr>`, the date and size in the cells after the link
//!   (Apache `HTMLTable`, lighttpd `2024-Mar-01 12:34:56`);
//! - **`<ul>`**: one entry per `<li>` link, no dates (Apache without FancyIndexing).
//!
//! Links to the parent, to other sites, absolute paths and the sort links (`?C=N;O=D`) are
//! not entries. Dates carry no zone and are read as UTC. A line or row that has an entry
//! link but no readable date is an error naming its line and byte offset: the parser never
//! guesses.

/// One entry of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Its name, percent-decoded, without the trailing `/` of a directory.
    pub name: String,
    /// The link as written (relative to the listing).
    pub href: String,
    /// True when the link ends with `/`.
    pub is_dir: bool,
    /// Modification time (UTC seconds), `None` in `<ul>` listings.
    pub mtime: Option<i64>,
    /// Size as shown (`1.2K`, `1234`, `-`), if any.
    pub size: Option<String>,
    /// Byte offset of its link in the page.
    pub offset: usize,
}

/// Which layout the page has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// `<pre>` lines.
    Pre,
    /// `<table>` rows.
    Table,
    /// `<ul>` items.
    List,
}

/// A listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    /// Its layout.
    pub style: Style,
    /// Its entries, in page order.
    pub entries: Vec<Entry>,
}

impl Listing {
    /// The entry named `name` (directory or not).
    pub fn get(&self, name: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.name == name)
    }
}

/// A page that is not a listing, or an entry without a readable date.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[error("listing line {line} (byte {offset}): {reason}")]
pub struct ListingError {
    /// 1-based line.
    pub line: usize,
    /// Byte offset.
    pub offset: usize,
    /// What is wrong.
    pub reason: String,
}

fn line_of(text: &str, offset: usize) -> usize {
    1 + text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
}

fn error(text: &str, offset: usize, reason: impl Into<String>) -> ListingError {
    ListingError {
        line: line_of(text, offset),
        offset,
        reason: reason.into(),
    }
}

/// Parses a listing page (bytes as latin-1 when not UTF-8, as the original decoded them).
pub fn parse_listing_bytes(data: &[u8]) -> Result<Listing, ListingError> {
    match std::str::from_utf8(data) {
        Ok(t) => parse_listing(t),
        Err(_) => {
            let t: String = data.iter().map(|&b| b as char).collect();
            parse_listing(&t)
        }
    }
}

/// Parses a listing page.
pub fn parse_listing(html: &str) -> Result<Listing, ListingError> {
    let lower = html.to_ascii_lowercase();
    let first = |tag: &str| lower.find(tag);
    let pre = first("<pre");
    let table = first("<table");
    let ul = first("<ul");
    // The first container that holds entry links decides the style.
    let mut candidates: Vec<(usize, Style)> =
        [(pre, Style::Pre), (table, Style::Table), (ul, Style::List)]
            .into_iter()
            .filter_map(|(p, s)| p.map(|p| (p, s)))
            .collect();
    candidates.sort_by_key(|c| c.0);
    for (start, style) in candidates {
        let (open, close) = match style {
            Style::Pre => ("<pre", "</pre>"),
            Style::Table => ("<table", "</table>"),
            Style::List => ("<ul", "</ul>"),
        };
        let _ = open;
        let end = lower[start..]
            .find(close)
            .map(|e| start + e)
            .ok_or_else(|| error(html, start, format!("{close} missing")))?;
        let entries = match style {
            Style::Pre => pre_entries(html, &lower, start, end)?,
            Style::Table => row_entries(html, &lower, start, end, "<tr", "</tr>", true)?,
            Style::List => row_entries(html, &lower, start, end, "<li", "</li>", false)?,
        };
        if entries.is_some() {
            return Ok(Listing {
                style,
                entries: entries.unwrap_or_default(),
            });
        }
    }
    Err(error(
        html,
        0,
        "not a directory listing (no <pre>, <table> or <ul> with links)",
    ))
}

/// The `href` of the `<a …>` tag starting at `at` (lower-cased copy `lower`), and where the
/// tag's `>` ends.
fn anchor_href(html: &str, lower: &str, at: usize) -> Option<(String, usize)> {
    let tag_end = at + lower[at..].find('>')?;
    let tag = &lower[at..tag_end];
    let h = tag.find("href")?;
    let rest = &tag[h + 4..];
    let eq = rest.find('=')?;
    if !rest[..eq].trim().is_empty() {
        return None;
    }
    let v_start = at + h + 4 + eq + 1;
    let raw = &html[v_start..tag_end];
    let trimmed = raw.trim_start();
    let value = match trimmed.chars().next()? {
        q @ ('"' | '\'') => {
            let inner = &trimmed[1..];
            &inner[..inner.find(q)?]
        }
        _ => trimmed.split_whitespace().next()?,
    };
    Some((decode_entities(value), tag_end + 1))
}

/// True for links that are not entries of this directory.
fn skip_href(href: &str) -> bool {
    href.is_empty()
        || href.starts_with('?')
        || href.starts_with('/')
        || href.starts_with('#')
        || href.starts_with("..")
        || href == "./"
        || href.contains("://")
        || href.starts_with("mailto:")
}

fn entry_of(href: &str, offset: usize) -> Option<Entry> {
    let path = href.split(['?', '#']).next().unwrap_or("");
    let path = path.strip_prefix("./").unwrap_or(path);
    let is_dir = path.ends_with('/');
    let name = percent_decode(path.trim_end_matches('/'));
    if name.is_empty() || name.contains('/') {
        return None;
    }
    Some(Entry {
        name,
        href: href.to_owned(),
        is_dir,
        mtime: None,
        size: None,
        offset,
    })
}

/// `<pre>` lines: `Ok(None)` when the block has no entry links (e.g. a header block).
fn pre_entries(
    html: &str,
    lower: &str,
    start: usize,
    end: usize,
) -> Result<Option<Vec<Entry>>, ListingError> {
    let mut out = Vec::new();
    let mut links = 0;
    let mut pos = start;
    while let Some(a) = lower[pos..end].find("<a ").map(|p| pos + p) {
        let Some((href, after)) = anchor_href(html, lower, a) else {
            pos = a + 3;
            continue;
        };
        links += 1;
        let close = lower[after..end]
            .find("</a>")
            .map(|p| after + p)
            .ok_or_else(|| error(html, a, "link without </a>"))?;
        let eol = lower[close..end]
            .find('\n')
            .map(|p| close + p)
            .unwrap_or(end);
        pos = eol;
        if skip_href(&href) {
            continue;
        }
        let Some(mut e) = entry_of(&href, a) else {
            continue;
        };
        let rest = strip_tags(&html[close + 4..eol]);
        let (mtime, size) = date_and_size(&rest)
            .ok_or_else(|| error(html, a, format!("no date after entry {:?}", e.name)))?;
        e.mtime = Some(mtime);
        e.size = size;
        out.push(e);
    }
    Ok((links > 0).then_some(out))
}

/// `<tr>` or `<li>` items: the link, then (tables) the date in the following cells.
fn row_entries(
    html: &str,
    lower: &str,
    start: usize,
    end: usize,
    open: &str,
    close: &str,
    dated: bool,
) -> Result<Option<Vec<Entry>>, ListingError> {
    let mut out = Vec::new();
    let mut links = 0;
    let mut pos = start;
    while let Some(r) = lower[pos..end].find(open).map(|p| pos + p) {
        // A row ends at its closing tag, or at the next row (HTML allows leaving it out).
        let next = lower[r + open.len()..end]
            .find(open)
            .map(|p| r + open.len() + p)
            .unwrap_or(end);
        let row_end = lower[r..next].find(close).map(|p| r + p).unwrap_or(next);
        pos = row_end.max(r + open.len());
        let Some(a) = lower[r..row_end].find("<a ").map(|p| r + p) else {
            continue;
        };
        let Some((href, after)) = anchor_href(html, lower, a) else {
            continue;
        };
        links += 1;
        if skip_href(&href) {
            continue;
        }
        let Some(mut e) = entry_of(&href, a) else {
            continue;
        };
        if dated {
            let close_a = lower[after..row_end]
                .find("</a>")
                .map(|p| after + p + 4)
                .ok_or_else(|| error(html, a, "link without </a>"))?;
            let rest = strip_tags(&html[close_a..row_end]);
            let (mtime, size) = date_and_size(&rest)
                .ok_or_else(|| error(html, a, format!("no date after entry {:?}", e.name)))?;
            e.mtime = Some(mtime);
            e.size = size;
        }
        out.push(e);
    }
    Ok((links > 0).then_some(out))
}

/// Text without tags, entities decoded, tags replaced by a space (cells stay apart).
fn strip_tags(s: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in s.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                out.push(' ');
            }
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    decode_entities(&out)
}

fn decode_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_owned();
    }
    s.replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 3 <= b.len() {
            let hex = |c: u8| (c as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];

fn month(s: &str) -> Option<u8> {
    let l = s.to_ascii_lowercase();
    MONTHS.iter().position(|m| *m == l).map(|i| i as u8 + 1)
}

fn digits<T: std::str::FromStr>(s: &str, lens: &[usize]) -> Option<T> {
    if !lens.contains(&s.len()) || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// `(year, month, day)` of `2024-03-01`, `01-Mar-2024` or `2024-Mar-01`.
fn date_token(t: &str) -> Option<(i32, u8, u8)> {
    let p: Vec<&str> = t.split('-').collect();
    if p.len() != 3 {
        return None;
    }
    if let (Some(y), Some(m), Some(d)) = (
        digits(p[0], &[4]),
        digits(p[1], &[2]),
        digits(p[2], &[1, 2]),
    ) {
        return Some((y, m, d));
    }
    if let (Some(d), Some(m), Some(y)) = (digits(p[0], &[1, 2]), month(p[1]), digits(p[2], &[4])) {
        return Some((y, m, d));
    }
    if let (Some(y), Some(m), Some(d)) = (digits(p[0], &[4]), month(p[1]), digits(p[2], &[1, 2])) {
        return Some((y, m, d));
    }
    None
}

/// The first `date time` pair of the text after a link (UTC seconds) and the token after it.
fn date_and_size(rest: &str) -> Option<(i64, Option<String>)> {
    let toks: Vec<&str> = rest.split_whitespace().collect();
    for i in 0..toks.len().saturating_sub(1) {
        if let Some((y, m, d)) = date_token(toks[i]) {
            let t = crate::feed::hms_utc(y, m, d, toks[i + 1])?;
            return Some((t, toks.get(i + 2).map(|s| (*s).to_owned())));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    // Synthetic pages in the layouts Apache and nginx generate.
    const APACHE_PRE: &str = r#"<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 3.2 Final//EN">
<html><head><title>Index of /acl</title></head><body>
<h1>Index of /acl</h1>
<pre><img src="/icons/blank.gif" alt="Icon "> <a href="?C=N;O=D">Name</a>                    <a href="?C=M;O=A">Last modified</a>      <a href="?C=S;O=A">Size</a>  <a href="?C=D;O=A">Description</a><hr><img src="/icons/back.gif" alt="[PARENTDIR]"> <a href="/">Parent Directory</a>                             -
<img src="/icons/text.gif" alt="[TXT]"> <a href="list.groups.p10">list.groups.p10</a>         2024-03-01 10:15  1.2K
<img src="/icons/text.gif" alt="[TXT]"> <a href="list.packages.sisyphus">list.packages.sisyphus</a>  2024-03-02 23:59:58  456K
<img src="/icons/folder.gif" alt="[DIR]"> <a href="old/">old/</a>                    2023-12-31 00:00    -
<hr></pre>
</body></html>
"#;

    const NGINX_PRE: &str = "<html>\r\n<head><title>Index of /beehive/logs/Sisyphus/x86_64/</title></head>\r\n<body>\r\n<h1>Index of /beehive/logs/Sisyphus/x86_64/</h1><hr><pre><a href=\"../\">../</a>\r\n<a href=\"latest/\">latest/</a>                                            05-Mar-2024 04:10                   -\r\n<a href=\"time%20list.txt\">time list.txt</a>                                      5-Mar-2024 04:09               12345\r\n</pre><hr></body>\r\n</html>\r\n";

    const APACHE_TABLE: &str = r#"<html><body><h1>Index of /x</h1>
  <table>
   <tr><th valign="top"><img src="/icons/blank.gif" alt="[ICO]"></th><th><a href="?C=N;O=D">Name</a></th><th><a href="?C=M;O=A">Last modified</a></th><th><a href="?C=S;O=A">Size</a></th></tr>
   <tr><th colspan="4"><hr></th></tr>
<tr><td valign="top"><img src="/icons/back.gif" alt="[PARENTDIR]"></td><td><a href="/">Parent Directory</a></td><td>&nbsp;</td><td align="right">  - </td></tr>
<tr><td valign="top"><img src="/icons/text.gif" alt="[TXT]"></td><td><a href="list.packages.p9">list.packages.p9</a></td><td align="right">2024-02-29 08:00  </td><td align="right">2.0K</td></tr>
<tr><td valign="top"><img src="/icons/folder.gif" alt="[DIR]"></td><td><a href="error/">error/</a></td><td align="right">2024-Mar-01 12:00:01</td><td align="right"> - </td></tr>
   <tr><th colspan="4"><hr></th></tr>
</table>
</body></html>"#;

    const APACHE_UL: &str = r#"<html><head><title>Index of /x</title></head><body><h1>Index of /x</h1>
<ul><li><a href="/"> Parent Directory</a></li>
<li><a href="foo-1.0-alt1"> foo-1.0-alt1</a></li>
<li><a href="python3-module-alt-2.0-alt1/"> python3-module-alt-2.0-alt1/</a></li>
</ul></body></html>"#;

    #[test]
    fn apache_pre() {
        let l = parse_listing(APACHE_PRE).unwrap();
        assert_eq!(l.style, Style::Pre);
        let names: Vec<_> = l.entries.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["list.groups.p10", "list.packages.sisyphus", "old"]);
        assert_eq!(l.entries[0].mtime, Some(1_709_288_100)); // 2024-03-01 10:15 UTC
        assert_eq!(l.entries[1].mtime, Some(1_709_423_998)); // 2024-03-02 23:59:58 UTC
        assert_eq!(l.entries[1].size.as_deref(), Some("456K"));
        assert!(l.entries[2].is_dir && !l.entries[0].is_dir);
    }

    #[test]
    fn nginx_pre() {
        let l = parse_listing(NGINX_PRE).unwrap();
        assert_eq!(l.style, Style::Pre);
        assert_eq!(l.entries.len(), 2);
        let latest = l.get("latest").unwrap();
        assert!(latest.is_dir);
        assert_eq!(latest.mtime, Some(1_709_611_800)); // 2024-03-05 04:10 UTC
        let t = l.get("time list.txt").unwrap();
        assert_eq!(t.mtime, Some(1_709_611_740));
        assert_eq!(t.size.as_deref(), Some("12345"));
    }

    #[test]
    fn apache_table() {
        let l = parse_listing(APACHE_TABLE).unwrap();
        assert_eq!(l.style, Style::Table);
        assert_eq!(l.entries.len(), 2);
        assert_eq!(l.entries[0].name, "list.packages.p9");
        assert_eq!(l.entries[0].mtime, Some(1_709_193_600)); // 2024-02-29 08:00 UTC
        assert_eq!(l.entries[0].size.as_deref(), Some("2.0K"));
        assert_eq!(l.entries[1].name, "error");
        assert_eq!(l.entries[1].mtime, Some(1_709_294_401)); // 2024-03-01 12:00:01 UTC
    }

    #[test]
    fn apache_ul() {
        let l = parse_listing(APACHE_UL).unwrap();
        assert_eq!(l.style, Style::List);
        let names: Vec<_> = l
            .entries
            .iter()
            .map(|e| (e.name.as_str(), e.is_dir))
            .collect();
        assert_eq!(
            names,
            [
                ("foo-1.0-alt1", false),
                ("python3-module-alt-2.0-alt1", true)
            ]
        );
        assert!(l.entries.iter().all(|e| e.mtime.is_none()));
    }

    #[test]
    fn empty_listings_and_errors() {
        // A directory with only the parent link is an empty listing, not an error.
        let empty = "<html><body><pre><a href=\"../\">../</a>\n</pre></body></html>";
        assert_eq!(parse_listing(empty).unwrap().entries, vec![]);
        let e = parse_listing("<html><body>Hello</body></html>").unwrap_err();
        assert!(e.reason.contains("not a directory listing"));
        let bad = "<html><body><pre><a href=\"../\">../</a>\n<a href=\"x\">x</a>   yesterday   12\n</pre></body></html>";
        let e = parse_listing(bad).unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.reason.contains("\"x\""), "{e}");
        let bad_date = "<pre><a href=\"x\">x</a> 2024-02-30 10:00 1\n</pre>";
        assert!(parse_listing(bad_date).is_err());
        assert!(parse_listing("<pre><a href=\"x\">x").is_err());
    }
}
