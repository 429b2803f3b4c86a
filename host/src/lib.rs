//! The cloudmarker host: configuration, plugin loading and the audit engine.

pub mod config;
