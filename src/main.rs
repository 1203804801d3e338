//! The `masthead` command line: `serve`, `migrate`, `openapi` and the administrative commands.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use masthead::config::{Environment, Settings};
use masthead::db::Db;
use masthead::startup::{Application, openapi_json};

#[derive(Parser)]
#[command(name = "masthead", version, about = "Headless CMS for news publishers")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP server (applies migrations first unless MASTHEAD_RUN_MIGRATIONS=false).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Print the OpenAPI document to standard output.
    Openapi,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Openapi = cli.command {
        print!("{}", openapi_json());
        return ExitCode::SUCCESS;
    }
    let settings = match Settings::from_env() {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("masthead: configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    masthead::telemetry::init(settings.environment);
    let result = match cli.command {
        Command::Serve => serve(settings),
        Command::Migrate => migrate(&settings),
        Command::Openapi => Ok(()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("masthead: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn migrate(settings: &Settings) -> anyhow::Result<()> {
    let db = Db::open(&settings.database_url, 1)?;
    let applied = db.migrate()?;
    if applied.is_empty() {
        println!("database is up to date ({})", db.url().redacted());
    } else {
        for version in &applied {
            println!("applied {version}");
        }
    }
    Ok(())
}

fn serve(settings: Settings) -> anyhow::Result<()> {
    if settings.environment == Environment::Development {
        if settings.jwt_secret_generated {
            tracing::warn!(
                "MASTHEAD_JWT_SECRET is not set: generated a random secret for this process \
                 (sessions end when it stops; set one in .env to keep them)"
            );
        }
        tracing::info!(
            database = %masthead::db::DatabaseUrl::parse(&settings.database_url)
                .map(|u| u.redacted())
                .unwrap_or_default(),
            media_dir = %settings.media_dir.display(),
            "development mode with defaults; see .env.example for every setting"
        );
    }
    let bind = settings.bind.clone();
    actix_web::rt::System::new().block_on(async move {
        let app = Application::build(settings)?;
        tracing::info!(address = %bind, port = app.port(), "Masthead is listening; API docs at /docs/");
        app.run_until_stopped().await?;
        Ok(())
    })
}
