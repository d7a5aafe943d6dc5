//! `beehive_loader`: Beehive rebuild results (original-system §1.7, §8.2).
//!
//! - [`source`]: per branch and arch, the `latest` entry of `<base>/logs/<branch>/<arch>/`
//!   (its date), `latest/time.list`, the `latest/error/` and `latest/success/` listings and
//!   `<base>/stats/<branch>/<arch>/ftbfs-since`; everything is downloaded before anything is
//!   written;
//! - [`parse`]: package ids, `time.list` and `ftbfs-since` lines (pure);
//! - [`load`]: skips a branch/arch whose date is stored, finds each package in the branch's
//!   `srpm` set at that date (falling back to the newest earlier one, then to task-built
//!   packages), checks consistency per arch, and writes `BeehiveStatus`.

pub mod load;
pub mod parse;
pub mod source;

pub use load::{
    load_beehive, BeehiveError, BeehiveOptions, DEFAULT_ARCHES, DEFAULT_BRANCHES, DEFAULT_URL,
};
