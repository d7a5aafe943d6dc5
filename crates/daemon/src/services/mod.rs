//! The services this version runs: each is a [`crate::service::Handler`] plus a line in
//! [`crate::daemon::Registry::standard`].

pub mod acl;
pub mod bugzilla;
pub mod feeds;
pub mod repo;
pub mod task;
