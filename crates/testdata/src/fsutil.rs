//! File-system helpers that name the file in every error.

use std::fs;
use std::path::Path;

use crate::error::GenError;

/// Creates `dir` and its parents.
pub(crate) fn mkdirs(dir: &Path) -> Result<(), GenError> {
    fs::create_dir_all(dir).map_err(GenError::io(dir))
}

/// Makes `link` a symlink to `target` (relative, as ALT's trees use); copies on platforms
/// without symlinks.
pub(crate) fn symlink_or_copy(target: &str, link: &Path) -> Result<(), GenError> {
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(target, link).map_err(GenError::io(link))
    }
    #[cfg(not(unix))]
    {
        let from = link.parent().map(|p| p.join(target)).unwrap_or_default();
        fs::copy(&from, link)
            .map(|_| ())
            .map_err(GenError::io(link))
    }
}

/// Hard-links `from` to `to`, copying when a link is impossible (another file system).
pub(crate) fn link_or_copy(from: &Path, to: &Path) -> Result<(), GenError> {
    if fs::hard_link(from, to).is_ok() {
        return Ok(());
    }
    fs::copy(from, to).map(|_| ()).map_err(GenError::io(to))
}

/// Fails unless `out` is absent or an empty directory; then creates it.
pub(crate) fn prepare_out(out: &Path) -> Result<(), GenError> {
    if out.exists() {
        let mut entries = fs::read_dir(out).map_err(GenError::io(out))?;
        if entries.next().is_some() {
            return Err(GenError::Spec(format!(
                "{}: output directory is not empty",
                out.display()
            )));
        }
    }
    mkdirs(out)
}
