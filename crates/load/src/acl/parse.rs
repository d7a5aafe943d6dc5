//! ACL files: `<acl_for><TAB><members separated by spaces>` per line; `acl_for` is a package
//! name or `@group`.

/// A malformed line.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("line {line}: {reason}")]
pub struct AclParseError {
    /// 1-based line.
    pub line: usize,
    /// What is wrong.
    pub reason: String,
}

/// One ACL line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AclLine {
    /// Package or `@group`.
    pub acl_for: String,
    /// Members (users and `@groups`), in order; runs of spaces separate, never make empty
    /// members.
    pub members: Vec<String>,
}

/// The branch of a file name: the third part after splitting on non-word characters at most
/// twice (`list.packages.p10` → `p10`), as the original did; `None` when there is none.
pub fn branch_of(name: &str) -> Option<String> {
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    let mut rest = name;
    for _ in 0..2 {
        let i = rest.find(|c: char| !is_word(c))?;
        rest = &rest[i + rest[i..].chars().next()?.len_utf8()..];
    }
    (!rest.is_empty()).then(|| rest.to_owned())
}

/// True for the files the loader reads.
pub fn is_acl_file(name: &str) -> bool {
    name.starts_with("list.groups") || name.starts_with("list.packages")
}

/// Parses one file.
pub fn parse_acl(data: &[u8]) -> Result<Vec<AclLine>, AclParseError> {
    let mut out = Vec::new();
    for (i, raw) in data.split(|&b| b == b'\n').enumerate() {
        let line = std::str::from_utf8(raw).map_err(|e| AclParseError {
            line: i + 1,
            reason: format!("not UTF-8 at byte {}", e.valid_up_to()),
        })?;
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.trim().is_empty() {
            continue;
        }
        let (acl_for, members) = match line.split_once('\t') {
            Some((f, m)) => (f.trim(), m),
            None => {
                return Err(AclParseError {
                    line: i + 1,
                    reason: "no tab between the name and its members".into(),
                })
            }
        };
        if acl_for.is_empty() || acl_for.contains(char::is_whitespace) {
            return Err(AclParseError {
                line: i + 1,
                reason: format!("bad name {acl_for:?}"),
            });
        }
        out.push(AclLine {
            acl_for: acl_for.to_owned(),
            members: members.split_whitespace().map(str::to_owned).collect(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn branches_of_file_names() {
        assert_eq!(branch_of("list.packages.p10").as_deref(), Some("p10"));
        assert_eq!(
            branch_of("list.groups.sisyphus").as_deref(),
            Some("sisyphus")
        );
        assert_eq!(branch_of("list.packages.c10f1").as_deref(), Some("c10f1"));
        assert_eq!(branch_of("list.packages"), None);
        assert!(is_acl_file("list.groups.p9") && !is_acl_file("README"));
    }

    #[test]
    fn lines_members_and_errors() {
        // Synthetic ACL lines.
        let r = parse_acl(b"foo\talice  bob @qa\n@qa\tcarol\r\n\nbar\t\n").unwrap();
        assert_eq!(r[0].acl_for, "foo");
        assert_eq!(r[0].members, ["alice", "bob", "@qa"]);
        assert_eq!(r[1].acl_for, "@qa");
        assert_eq!(r[1].members, ["carol"]);
        assert_eq!(r[2].members, Vec::<String>::new());
        let e = parse_acl(b"foo\ta\nbar baz\n").unwrap_err();
        assert_eq!(e.line, 2);
    }
}
