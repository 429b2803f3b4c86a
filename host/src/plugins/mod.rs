//! Finding, loading and describing plugin libraries.

pub mod catalog;
mod loader;
pub mod probe;
mod resolve;

pub use loader::{load_library, LoadError, LoadedPlugin, Registry};
pub use resolve::{class_module_name, library_file_name, ResolveError, SearchPath};
