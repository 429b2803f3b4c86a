//! Azure App Service web apps, as one plugin library: the `azwebapp` cloud
//! plugin, which reads every web app of every subscription with its site
//! configuration, and the checks of those records (upstream Cloudmarker's
//! four, and FTP).

mod azwebapp;

pub use azwebapp::{AzWebApp, WebApp, WEB_APP_CONFIG};

cloudmarker_plugin_api::export_plugins!(
    cloud: AzWebApp,
);
