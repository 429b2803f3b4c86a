//! Finding, loading and describing plugin libraries.

pub mod aliases;
pub mod cache;
pub mod catalog;
pub mod isolate;
mod loader;
pub mod probe;
mod resolve;
pub mod wire;

pub use loader::{
    api_at_least, check_library_safety, load_library, Instance, Library, LoadError, LoadedPlugin,
    Registry,
};
pub use resolve::{class_module_name, library_file_name, PluginRef, ResolveError, SearchPath};
