//! The `invest-registry` command: parse the command line, call the library.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use invest_registry::config::{DbSettings, Settings};
use invest_registry::{db, demo, openapi, telemetry, Application};

#[derive(Parser)]
#[command(name = "invest-registry", version, about = "Investment-attraction registry of the Cross-Strait Industrial Cooperation Zone (Hunan)")]
#[command(args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// With no subcommand, `serve` with these settings.
    #[command(flatten)]
    serve: Settings,
}

#[derive(Subcommand)]
enum Command {
    /// Migrate the database, then serve the API (the default).
    Serve(Settings),
    /// Apply pending migrations and exit.
    Migrate(DbSettings),
    /// Add realistic demo records for the three parks (skipped when present).
    SeedDemo(DbSettings),
    /// Print the OpenAPI document (what openapi/openapi.json must hold).
    Openapi,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    telemetry::init();
    let result = match cli.command {
        None => serve(&cli.serve),
        Some(Command::Serve(settings)) => serve(&settings),
        Some(Command::Migrate(db)) => db::connect(&db.database_url, 1).map(|_| ()).map_err(|e| e.to_string()),
        Some(Command::SeedDemo(db)) => db::connect(&db.database_url, 2)
            .map_err(|e| e.to_string())
            .and_then(|pool| demo::seed(&pool).map_err(|e| e.to_string()))
            .map(|n| println!("seed-demo: {n} projects added")),
        Some(Command::Openapi) => {
            print!("{}", openapi::document_json());
            Ok(())
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("invest-registry: {message}");
            ExitCode::FAILURE
        }
    }
}

fn serve(settings: &Settings) -> Result<(), String> {
    actix_web::rt::System::new().block_on(async {
        let app = Application::build(settings).map_err(|e| e.to_string())?;
        tracing::info!(bind = %settings.bind, "serving");
        app.run_until_stopped().await.map_err(|e| e.to_string())
    })
}
