//! The engine: one container lifecycle for every front end. It takes a
//! configuration (`config`), keeps state, and talks to the kernel only
//! through `crate::sys`. It parses no argv.

pub mod cgroup;
pub mod channel;
pub mod commit;
pub mod config;
pub mod confine;
pub mod container;
pub mod devices;
#[cfg(test)]
mod errtext;
pub mod exec;
pub mod gzip;
pub mod image;
pub mod init;
pub mod json;
pub mod load;
pub mod logs;
pub mod mounts;
pub mod network;
pub mod oci;
pub mod proxy;
pub mod save;
pub mod sha256;
pub mod spec;
pub mod state;
pub mod store;
pub mod stream;
pub mod tar;
pub mod user;
pub mod util;
