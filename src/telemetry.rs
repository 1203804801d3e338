//! Logging set-up: human-readable lines in development, JSON in production, filtered by
//! `RUST_LOG` (default `info`).

use tracing_subscriber::EnvFilter;

use crate::config::Environment;

/// Installs the global subscriber once; later calls (tests) are ignored.
pub fn init(environment: Environment) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match environment {
        Environment::Production => builder.json().try_init(),
        Environment::Development => builder.compact().try_init(),
    };
}
