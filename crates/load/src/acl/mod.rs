//! `acl_loader`: maintainer ACL lists from an HTTP directory listing (original-system §1.6,
//! §8.1).
//!
//! - the listing is read by [`crate::listing`]; files `list.groups.<branch>` and
//!   `list.packages.<branch>` are downloaded (all of them before anything is written);
//! - [`parse`]: one file → `(acl_for, members)` lines (pure; errors name the line);
//! - [`load`]: per branch, lines whose list differs from the latest stored one (`last_acl`)
//!   are written, dated by the file's modification time in the listing (UTC).

pub mod load;
pub mod parse;

pub use load::{load_acl, AclError, DEFAULT_URL};
