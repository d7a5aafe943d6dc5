//! RPM version comparison: `rpmvercmp` and an [`Evr`] (epoch, version, release) type.
//!
//! The ordering follows rpm's C implementation (rpm 4.15 and later, which added `^`):
//!
//! * a version string is split into segments of ASCII digits or ASCII letters; any other
//!   byte only separates segments (so `1.0`, `1_0` and `1..0` compare equal);
//! * `~` sorts before everything, even before the end of the string (`1.0~rc1 < 1.0`);
//! * `^` sorts after the end of the string but before any other segment
//!   (`1.0 < 1.0^git1 < 1.0.1`);
//! * numeric segments compare as numbers of any length (leading zeros ignored) and are
//!   newer than alphabetic ones; alphabetic segments compare bytewise;
//! * when all segments are equal, the string with segments left over is newer.
//!
//! [`Evr`] compares the epoch first (missing epoch = 0), then the version, then the release.

use std::cmp::Ordering;
use std::fmt;

/// Compares two version (or release) strings the way rpm's `rpmvercmp` does.
///
/// Works on bytes: non-ASCII bytes are separators, like any other non-alphanumeric byte.
pub fn rpmvercmp(a: impl AsRef<[u8]>, b: impl AsRef<[u8]>) -> Ordering {
    let (a, b) = (a.as_ref(), b.as_ref());
    if a == b {
        return Ordering::Equal;
    }
    let (mut i, mut j) = (0usize, 0usize);
    let at = |s: &[u8], k: usize| s.get(k).copied();
    loop {
        // Skip separators (everything that is neither a segment nor `~` / `^`).
        while let Some(c) = at(a, i) {
            if is_segment_byte(c) || c == b'~' || c == b'^' {
                break;
            }
            i += 1;
        }
        while let Some(c) = at(b, j) {
            if is_segment_byte(c) || c == b'~' || c == b'^' {
                break;
            }
            j += 1;
        }
        let (ca, cb) = (at(a, i), at(b, j));
        if ca.is_none() && cb.is_none() {
            return Ordering::Equal;
        }
        // Tilde: sorts before everything else, including the end of the string.
        if ca == Some(b'~') || cb == Some(b'~') {
            if ca != Some(b'~') {
                return Ordering::Greater;
            }
            if cb != Some(b'~') {
                return Ordering::Less;
            }
            i += 1;
            j += 1;
            continue;
        }
        // Caret: like tilde, except that the end of the string (the base version) is lower.
        if ca == Some(b'^') || cb == Some(b'^') {
            if ca.is_none() {
                return Ordering::Less;
            }
            if cb.is_none() {
                return Ordering::Greater;
            }
            if ca != Some(b'^') {
                return Ordering::Greater;
            }
            if cb != Some(b'^') {
                return Ordering::Less;
            }
            i += 1;
            j += 1;
            continue;
        }
        let (Some(ca), Some(_)) = (ca, cb) else {
            // One string ran out: whichever still has characters left wins.
            return if ca.is_none() {
                Ordering::Less
            } else {
                Ordering::Greater
            };
        };
        // Take the segment type from `a`; `b`'s segment must be of the same type.
        let numeric = ca.is_ascii_digit();
        let class: fn(u8) -> bool = if numeric {
            |c| c.is_ascii_digit()
        } else {
            |c| c.is_ascii_alphabetic()
        };
        let seg_end = |s: &[u8], mut k: usize| {
            while s.get(k).is_some_and(|&c| class(c)) {
                k += 1;
            }
            k
        };
        let (ea, eb) = (seg_end(a, i), seg_end(b, j));
        let (mut sa, mut sb) = (&a[i..ea], &b[j..eb]);
        if sb.is_empty() {
            // Different segment types: numeric is newer than alphabetic.
            return if numeric {
                Ordering::Greater
            } else {
                Ordering::Less
            };
        }
        if numeric {
            sa = trim_leading_zeros(sa);
            sb = trim_leading_zeros(sb);
            match sa.len().cmp(&sb.len()) {
                Ordering::Equal => {}
                other => return other,
            }
        }
        match sa.cmp(sb) {
            Ordering::Equal => {}
            other => return other,
        }
        i = ea;
        j = eb;
    }
}

fn is_segment_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric()
}

fn trim_leading_zeros(s: &[u8]) -> &[u8] {
    let n = s.iter().take_while(|&&c| c == b'0').count();
    &s[n..]
}

/// Epoch, version and release of a package or a dependency.
///
/// `Ord` agrees with rpm 4.18's `rpmverCmp` (Lua `rpm.vercmp` / `rpm.ver` comparisons):
/// epoch (missing = 0), then version, then release, where a missing release sorts below any
/// present one (even an empty one, as in `1.0-`). rpm's dependency matching instead treats a missing release as "any
/// release"; use [`Evr::cmp_rpm`] for that.
///
/// Equality follows the ordering (`1.0` equals `1.00`), so `Evr` does not implement `Hash`.
#[derive(Debug, Clone, Default)]
pub struct Evr {
    /// Epoch; `None` when the string had no `N:` prefix.
    pub epoch: Option<u64>,
    /// Version (never contains the epoch prefix).
    pub version: String,
    /// Release; `None` when the string had no `-`.
    pub release: Option<String>,
}

impl Evr {
    /// Builds an `Evr` from its parts.
    pub fn new(epoch: Option<u64>, version: impl Into<String>, release: Option<String>) -> Self {
        Evr {
            epoch,
            version: version.into(),
            release,
        }
    }

    /// Parses `[E:]V[-R]` like rpm's `parseEVR`: the epoch is a run of leading digits
    /// followed by `:` (an empty one, `:V`, means 0); the release is everything after the
    /// last `-`. Any string parses. An epoch too large for `u64` is kept as part of the
    /// version (rpm would still compare it numerically; such epochs don't occur in practice).
    pub fn parse(s: &str) -> Evr {
        let digits = s.bytes().take_while(u8::is_ascii_digit).count();
        let (epoch, rest) = match s.as_bytes().get(digits) {
            Some(b':') => {
                let e = &s[..digits];
                match if e.is_empty() {
                    Some(0)
                } else {
                    e.parse().ok()
                } {
                    Some(n) => (Some(n), &s[digits + 1..]),
                    None => (None, s),
                }
            }
            _ => (None, s),
        };
        match rest.rfind('-') {
            Some(p) => Evr::new(epoch, &rest[..p], Some(rest[p + 1..].to_string())),
            None => Evr::new(epoch, rest, None),
        }
    }

    /// The epoch, 0 when missing.
    pub fn epoch_or_zero(&self) -> u64 {
        self.epoch.unwrap_or(0)
    }

    /// Compares like rpm's dependency range check (`rpmdsCompareEVR`): epoch (missing = 0),
    /// version, and the release only if both sides have a non-empty one.
    pub fn cmp_rpm(&self, other: &Evr) -> Ordering {
        self.epoch_or_zero()
            .cmp(&other.epoch_or_zero())
            .then_with(|| rpmvercmp(&self.version, &other.version))
            .then_with(
                || match (self.release.as_deref(), other.release.as_deref()) {
                    (Some(a), Some(b)) if !a.is_empty() && !b.is_empty() => rpmvercmp(a, b),
                    _ => Ordering::Equal,
                },
            )
    }
}

impl Ord for Evr {
    fn cmp(&self, other: &Self) -> Ordering {
        self.epoch_or_zero()
            .cmp(&other.epoch_or_zero())
            .then_with(|| rpmvercmp(&self.version, &other.version))
            .then_with(|| match (&self.release, &other.release) {
                (Some(a), Some(b)) => rpmvercmp(a, b),
                // rpm 4.18's rpmverCmp: no release sorts below any release, even "".
                (a, b) => a.is_some().cmp(&b.is_some()),
            })
    }
}

impl PartialOrd for Evr {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Evr {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Evr {}

impl fmt::Display for Evr {
    /// Formats as `[E:]V[-R]`, the inverse of [`Evr::parse`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(e) = self.epoch {
            write!(f, "{e}:")?;
        }
        f.write_str(&self.version)?;
        if let Some(r) = &self.release {
            write!(f, "-{r}")?;
        }
        Ok(())
    }
}

impl std::str::FromStr for Evr {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Evr::parse(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Ordering::*;

    #[test]
    fn basic_cases() {
        let cases = [
            ("1.0", "1.0", Equal),
            ("1.0", "2.0", Less),
            ("2.0.1", "2.0", Greater),
            ("1.0a", "1.0", Greater),
            ("1.0", "1.0a", Less),
            ("1.0~rc1", "1.0", Less),
            ("1.0~rc1", "1.0~rc2", Less),
            ("1.0^", "1.0", Greater),
            ("1.0^git1", "1.0.1", Less),
            ("1.0^git1~pre", "1.0^git1", Less),
            ("001", "1", Equal),
            ("1.a", "1.1", Less),
            ("a", "", Greater),
            ("~", "", Less),
            ("1_0", "1.0", Equal),
            ("10", "9", Greater),
            (
                "123456789012345678901234567890",
                "123456789012345678901234567891",
                Less,
            ),
        ];
        for (a, b, want) in cases {
            assert_eq!(rpmvercmp(a, b), want, "{a} vs {b}");
            assert_eq!(rpmvercmp(b, a), want.reverse(), "{b} vs {a}");
        }
    }

    #[test]
    fn evr_parse_and_order() {
        let e = Evr::parse("2:1.0-alt1");
        assert_eq!(e.epoch, Some(2));
        assert_eq!(e.version, "1.0");
        assert_eq!(e.release.as_deref(), Some("alt1"));
        assert_eq!(e.to_string(), "2:1.0-alt1");
        assert_eq!(Evr::parse(":1").epoch, Some(0));
        assert_eq!(Evr::parse("a:1").epoch, None);
        assert_eq!(Evr::parse("1.0-1-2").release.as_deref(), Some("2"));
        assert!(Evr::parse("1:0.1") > Evr::parse("9.9"));
        assert!(Evr::parse("0:1.0") == Evr::parse("1.0"));
        assert_eq!(Evr::parse("1.0").cmp_rpm(&Evr::parse("1.0-5")), Equal);
        assert_eq!(Evr::parse("1.0").cmp(&Evr::parse("1.0-5")), Less);
        assert_eq!(Evr::parse("1.0").cmp(&Evr::parse("1.0-")), Less);
        assert_eq!(Evr::parse("1.0-").cmp(&Evr::parse("1.0-.")), Equal);
    }
}
