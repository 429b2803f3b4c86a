//! The `emailalert` plugin library: see [`EmailAlert`]. Its SMTP client is
//! the `smtp` library crate, which the host's notifications use too.

mod emailalert;

pub use emailalert::EmailAlert;

cloudmarker_plugin_api::export_plugin!(sink: EmailAlert);
