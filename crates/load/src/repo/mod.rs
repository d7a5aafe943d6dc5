//! `repo_loader`: one dated branch snapshot as a package-set tree.

pub mod layout;
pub mod load;
pub mod scan;

pub use load::{load_repo, RepoError, RepoLoadOptions, RepoLoadReport};
