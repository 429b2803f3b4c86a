//! The `emailalert` plugin library: see [`EmailAlert`]. [`smtp`] is also
//! used by the host for its audit notifications.

mod emailalert;
pub mod smtp;

pub use emailalert::EmailAlert;

cloudmarker_plugin_api::export_plugin!(sink: EmailAlert);
