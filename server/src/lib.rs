//! The tack server: config, the protocol socket, the service with its business rules, and the
//! command line (`serve`, `ctl`, `backup`, `restore`).

pub mod cli;
pub mod commands;
pub mod config;
pub mod http;
pub mod jobs;
pub mod runtime;
pub mod search;
pub mod search_index;
pub mod service;
pub mod socket;
pub mod ssh;
pub mod terminal;
