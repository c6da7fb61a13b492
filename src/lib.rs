//! bridgescout: which way out of censorship works from this network, now.
//!
//! The library holds everything but the command line: the endpoint
//! [`catalog`], the [`measurement`] model, [`probe`]s, the concurrent
//! [`engine`], the [`verdict`] logic, [`report`] formats and the [`tui`].
//! Probing code never depends on the UI.

pub mod catalog;
pub mod config;
pub mod controls;
pub mod engine;
pub mod export;
pub mod measurement;
pub mod merge;
pub mod netctx;
pub mod probe;
pub mod report;
pub mod run;
pub mod store;
pub mod tui;
pub mod verdict;
pub mod watch;
