//! The services this version runs. Adding one (acl, bugzilla, beehive, repocop, watch) is a
//! [`crate::service::Handler`] plus a line in [`crate::daemon::Registry::standard`].

pub mod repo;
pub mod task;
