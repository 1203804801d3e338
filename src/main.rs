//! The `masthead` command line: `serve`, `migrate`, `openapi` and the administrative commands
//! (`user create`, `demo`, `images restrip`).

use std::process::ExitCode;

/// jemalloc, so the memory a burst of image work frees goes back to the system (glibc kept it:
/// docs/security.md, "Giving memory back"). The library and its tests keep the system allocator.
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's settings, read once at its start: background threads return freed pages without
/// waiting for the next allocation, dirty pages are purged after 1 s and not kept as "muzzy"
/// pages after that. (`MALLOC_CONF`, jemalloc's environment variable, is `_RJEM_MALLOC_CONF`
/// with this crate and can still change them.)
#[cfg(not(target_env = "msvc"))]
#[expect(
    unsafe_code,
    reason = "jemalloc reads its settings from a C symbol of this name; the pointer is to a static C string"
)]
#[unsafe(export_name = "_rjem_malloc_conf")]
pub static JEMALLOC_CONF: Option<&'static std::ffi::c_char> =
    Some(unsafe { &*c"background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0".as_ptr() });

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
    /// Load a small set of original demo articles, tags and a demo author (idempotent).
    Demo,
    /// Manage editor accounts.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Maintain stored images.
    Images {
        #[command(subcommand)]
        command: ImagesCommand,
    },
}

#[derive(Subcommand)]
enum ImagesCommand {
    /// Re-read every stored original through today's metadata allowlist and rewrite those it
    /// changes (originals stored before it still carry EXIF/GPS, XMP, IPTC and text chunks).
    /// Ids and URLs stay; renditions stay valid. Safe to run again, and while servers run.
    Restrip {
        /// Only report what would be rewritten.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user. The password is read from MASTHEAD_PASSWORD or, if unset, standard input.
    Create {
        #[arg(long)]
        email: String,
        /// Display name, shown in bylines.
        #[arg(long)]
        name: String,
        /// contributor, author, editor or admin.
        #[arg(long, default_value = "author")]
        role: String,
    },
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
        Command::User {
            command: UserCommand::Create { email, name, role },
        } => create_user(&settings, email, name, role),
        Command::Demo => demo(&settings),
        Command::Images {
            command: ImagesCommand::Restrip { dry_run },
        } => restrip(&settings, dry_run),
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

fn demo(settings: &Settings) -> anyhow::Result<()> {
    let db = Db::open(&settings.database_url, 1)?;
    db.migrate()?;
    let passwords = masthead::auth::password::Passwords::new(settings.argon2_memory_kib)?;
    let mut conn = db.get()?;
    // The bootstrap admin first: demo users must not stand in for it (`serve` creates it only
    // while there is no admin, so either order works).
    masthead::startup::bootstrap_admin(settings, &mut conn, &passwords)?;
    let summary = masthead::demo::load(&mut conn, &passwords, settings)?;
    println!(
        "demo content: {} new articles, {} new tags, {} new users, {} new comments, {} new corrections, {} images",
        summary.articles, summary.tags, summary.users, summary.comments, summary.corrections, summary.images
    );
    if let Some(slug) = &summary.embargoed {
        println!("embargoed (public when its embargo ends): {slug}");
    }
    if masthead::users::store::count_admins(&mut conn)? == 0 {
        println!(
            "no admin account yet: set MASTHEAD_BOOTSTRAP_ADMIN_EMAIL and \
             MASTHEAD_BOOTSTRAP_ADMIN_PASSWORD (the next `masthead serve` or `masthead demo` \
             creates it), or run `masthead user create --email E --name N --role admin`"
        );
    }
    let base = settings.bind.clone();
    println!("try: curl http://{base}/api/v1/articles");
    if let Some(slug) = summary.slugs.first() {
        println!("     curl http://{base}/api/v1/articles/{slug}");
        println!("     curl http://{base}/api/v1/articles/{slug}/comments");
    }
    println!("     curl http://{base}/api/v1/corrections");
    Ok(())
}

fn restrip(settings: &Settings, dry_run: bool) -> anyhow::Result<()> {
    let db = Db::open(&settings.database_url, 2)?;
    db.migrate()?;
    let media = masthead::images::Media::from_settings(settings)?;
    let summary = actix_web::rt::System::new().block_on(masthead::images::restrip::run(
        &db,
        &media,
        settings,
        dry_run,
        |line| println!("{line}"),
    ))?;
    println!(
        "images restrip{}: {} checked, {} {}, {} already in line, {} left as they were",
        if dry_run { " (dry run)" } else { "" },
        summary.checked,
        summary.rewritten,
        if dry_run { "to rewrite" } else { "rewritten" },
        summary.unchanged,
        summary.failed.len()
    );
    if !summary.failed.is_empty() {
        anyhow::bail!(
            "{} images could not be brought in line (listed above)",
            summary.failed.len()
        );
    }
    Ok(())
}

fn create_user(settings: &Settings, email: String, name: String, role: String) -> anyhow::Result<()> {
    let password = match std::env::var("MASTHEAD_PASSWORD") {
        Ok(password) if !password.is_empty() => password,
        _ => {
            eprintln!("Password (at least 12 characters), then Enter:");
            let mut line = String::new();
            std::io::stdin().read_line(&mut line)?;
            line.trim_end_matches(['\r', '\n']).to_owned()
        }
    };
    let db = Db::open(&settings.database_url, 1)?;
    db.migrate()?;
    let passwords = masthead::auth::password::Passwords::new(settings.argon2_memory_kib)?;
    let mut conn = db.get()?;
    let input = masthead::users::http::CreateUser {
        email,
        display_name: name,
        role,
        password,
    };
    let user = masthead::users::http::create_user(&mut conn, &passwords, input)
        .map_err(|e| anyhow::anyhow!("{}", describe(e)))?;
    println!("created {} {} ({})", user.role, user.email, user.id);
    Ok(())
}

/// A one-line description of an API error for the terminal, with field errors.
fn describe(err: masthead::error::ApiError) -> String {
    let problem = err.problem();
    match problem.errors {
        Some(errors) => errors
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect::<Vec<_>>()
            .join("; "),
        None => problem.detail,
    }
}

fn serve(settings: Settings) -> anyhow::Result<()> {
    if settings.environment == Environment::Development {
        // Without MASTHEAD_JWT_SECRET, `Application::build` says where the kept secret lives.
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
