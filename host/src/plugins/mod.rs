//! Finding, loading and describing plugin libraries.

mod loader;
mod resolve;

pub use loader::{LoadError, LoadedPlugin, Registry};
pub use resolve::{class_module_name, library_file_name, ResolveError, SearchPath};
