//! The `invest-registry` command: parse the command line, call the library.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use invest_registry::config::{DbSettings, Settings};
use invest_registry::auth::{Caller, Role};
use invest_registry::users::{self, NewUser};
use invest_registry::vocab::Vocabulary;
use invest_registry::exchange::{self, ImportRequest, Library};
use invest_registry::{db, demo, loadgen, openapi, telemetry, Application};

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
    Serve(Box<Settings>),
    /// Apply pending migrations and exit.
    Migrate(DbSettings),
    /// Add realistic demo records for the three parks (skipped when present).
    SeedDemo(DbSettings),
    /// Manage users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Import a CSV or XLSX file, as `POST /imports` does: a dry run unless `--commit`.
    Import {
        /// The file to read.
        file: std::path::PathBuf,
        /// projects, investors or talents.
        #[arg(long, alias = "kind")]
        library: String,
        /// The park of rows without a 园区代码 column.
        #[arg(long)]
        park: Option<String>,
        /// Write the rows (all or nothing); without it, only check them.
        #[arg(long)]
        commit: bool,
        /// The name the writes and their audit events carry (a provincial system user).
        #[arg(long, default_value = "command-line")]
        actor: String,
        #[command(flatten)]
        db: DbSettings,
    },
    /// Print the OpenAPI document (what openapi/openapi.json must hold).
    Openapi,
    /// The targets' summary: `check` compares it with a computation from
    /// the facts (failing on any difference); `rebuild` rebuilds it.
    Targets {
        #[command(subcommand)]
        command: TargetsCommand,
    },
    /// The projects' stored light days: `check` compares them with the
    /// judgement of their facts under the stored rules (failing on any
    /// difference); `rebuild` recomputes them.
    Monitoring {
        #[command(subcommand)]
        command: MonitoringCommand,
    },
    /// Fill the database with many generated rows for the benchmarks (bench/).
    BenchLoad {
        #[arg(long, default_value_t = 10_000)]
        projects: u64,
        #[arg(long, default_value_t = 2_000)]
        investors: u64,
        #[arg(long, default_value_t = 0)]
        talents: u64,
        /// Parks to add beside the three of the policy.
        #[arg(long, default_value_t = 3)]
        extra_parks: u32,
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Also write `park_code id` for every project to this file.
        #[arg(long)]
        ids_out: Option<std::path::PathBuf>,
        #[command(flatten)]
        db: DbSettings,
    },
}

#[derive(Subcommand)]
enum TargetsCommand {
    Check {
        /// Dates to check (YYYY-MM-DD, repeatable; default today).
        #[arg(long)]
        as_of: Vec<chrono::NaiveDate>,
        #[command(flatten)]
        db: DbSettings,
    },
    Rebuild(DbSettings),
}

#[derive(Subcommand)]
enum MonitoringCommand {
    Check(DbSettings),
    Rebuild(DbSettings),
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user; the password is read from standard input.
    Create {
        #[arg(long)]
        username: String,
        /// provincial_admin, provincial_viewer, park_admin, park_staff or park_viewer
        #[arg(long)]
        role: String,
        /// The park of a park role.
        #[arg(long)]
        park: Option<String>,
        #[arg(long)]
        display_name: Option<String>,
        /// Read the password from standard input (its first line).
        #[arg(long, required = true)]
        password_stdin: bool,
        #[command(flatten)]
        db: DbSettings,
    },
}

/// mimalloc: fewer instructions than glibc's malloc on every request (see `memory`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    invest_registry::memory::tune_allocator();
    let cli = Cli::parse();
    telemetry::init();
    let result = match cli.command {
        None => serve(&cli.serve),
        Some(Command::Serve(settings)) => serve(&settings),
        Some(Command::Migrate(db)) => db::connect(&db.database_url, 1)
            .map_err(|e| e.to_string())
            .and_then(|pool| {
                let mut conn = pool.get().map_err(|e| e.to_string())?;
                invest_registry::targets::summary::ensure_built(&mut conn).map_err(|e| e.problem().detail)?;
                invest_registry::projects::lights::ensure_built(&mut conn).map_err(|e| e.problem().detail)
            }),
        Some(Command::SeedDemo(db)) => db::connect(&db.database_url, 2)
            .map_err(|e| e.to_string())
            .and_then(|pool| demo::seed(&pool).map_err(|e| e.to_string()))
            .map(|n| println!("seed-demo: {n} projects added")),
        Some(Command::User { command: UserCommand::Create { username, role, park, display_name, password_stdin: _, db } }) => {
            create_user(&db, username, &role, park, display_name)
        }
        Some(Command::BenchLoad { projects, investors, talents, extra_parks, seed, ids_out, db }) => db::connect(&db.database_url, 1)
            .map_err(|e| e.to_string())
            .and_then(|pool| {
                let sizes = loadgen::Sizes { projects, investors, talents, extra_parks };
                loadgen::load(&pool, sizes, seed, ids_out.as_deref()).map_err(|e| e.problem().detail)
            }),
        Some(Command::Import { file, library, park, commit, actor, db }) => import(&db, &file, &library, park, commit, &actor),
        Some(Command::Openapi) => {
            print!("{}", openapi::document_json());
            Ok(())
        }
        Some(Command::Targets { command }) => targets_command(command),
        Some(Command::Monitoring { command }) => monitoring_command(command),
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

fn targets_command(command: TargetsCommand) -> Result<(), String> {
    use invest_registry::targets::summary;
    let (db, dates) = match &command {
        TargetsCommand::Check { as_of, db } => (db, as_of.clone()),
        TargetsCommand::Rebuild(db) => (db, vec![]),
    };
    let pool = db::connect(&db.database_url, 1).map_err(|e| e.to_string())?;
    let mut conn = pool.get().map_err(|e| e.to_string())?;
    if let TargetsCommand::Rebuild(_) = command {
        return db::write_tx(&mut conn, summary::rebuild).map_err(|e| e.problem().detail);
    }
    let dates = if dates.is_empty() { vec![invest_registry::clock::today()] } else { dates };
    let mut differences = 0;
    for as_of in dates {
        let found = summary::check(&mut conn, as_of, None).map_err(|e| e.problem().detail)?;
        println!("{as_of}: {}", if found.is_empty() { "the summary agrees with the facts".to_owned() } else { format!("{} differences", found.len()) });
        for line in &found {
            println!("  {line}");
        }
        differences += found.len();
    }
    if differences == 0 { Ok(()) } else { Err(format!("{differences} differences between the summary and the facts")) }
}

fn monitoring_command(command: MonitoringCommand) -> Result<(), String> {
    use invest_registry::projects::lights;
    let db = match &command {
        MonitoringCommand::Check(db) | MonitoringCommand::Rebuild(db) => db,
    };
    let pool = db::connect(&db.database_url, 1).map_err(|e| e.to_string())?;
    let mut conn = pool.get().map_err(|e| e.to_string())?;
    if let MonitoringCommand::Rebuild(_) = command {
        let changed = lights::rebuild_all(&mut conn).map_err(|e| e.problem().detail)?;
        println!("light days of {changed} projects rewritten");
        return Ok(());
    }
    let found = lights::check(&mut conn).map_err(|e| e.problem().detail)?;
    for line in &found {
        println!("  {line}");
    }
    if found.is_empty() {
        println!("the light days agree with the facts");
        Ok(())
    } else {
        Err(format!("{} differences between the light days and the facts", found.len()))
    }
}

fn create_user(db: &DbSettings, username: String, role: &str, park: Option<String>, display_name: Option<String>) -> Result<(), String> {
    let role = Role::parse(role).ok_or_else(|| format!("unknown role {role:?}; expected one of: {}", Role::allowed()))?;
    let mut password = String::new();
    std::io::stdin().read_line(&mut password).map_err(|e| format!("cannot read the password: {e}"))?;
    let password = password.trim_end_matches(['\r', '\n']).to_owned();
    let pool = db::connect(&db.database_url, 1).map_err(|e| e.to_string())?;
    let mut conn = pool.get().map_err(|e| e.to_string())?;
    let new = NewUser { username, display_name, password, role, park_code: park };
    // A password that breaks the rule is reported by `create` with the other fields.
    let hash = invest_registry::auth::passwords::hash(&new.password).map_err(|e| e.problem().detail)?;
    let user = users::create(&mut conn, &Caller::system("command-line"), new, Some(hash)).map_err(problem_text)?;
    println!("created user {} ({}, {}) with id {}", user.username, user.role, user.park_code.as_deref().unwrap_or("all parks"), user.id);
    Ok(())
}

/// The import of `POST /imports` from the command line: prints its report
/// as JSON, and fails when any row is bad.
fn import(db: &DbSettings, file: &std::path::Path, library: &str, park: Option<String>, commit: bool, actor: &str) -> Result<(), String> {
    let library = Library::parse(library).map_err(problem_text)?;
    let bytes = std::fs::read(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let pool = db::connect(&db.database_url, 1).map_err(|e| e.to_string())?;
    let mut conn = pool.get().map_err(|e| e.to_string())?;
    let request = ImportRequest { library, file: bytes, park_code: park, dry_run: !commit };
    let report = exchange::run_import(&mut conn, &Caller::system(actor), request).map_err(problem_text)?;
    println!("{}", serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?);
    if report.errors.is_empty() {
        Ok(())
    } else {
        Err(format!("{} bad rows; nothing was written", report.errors.len()))
    }
}

/// An error as one line: the fields it names, or its detail.
fn problem_text(error: invest_registry::error::ApiError) -> String {
    let problem = error.problem();
    let fields: Vec<String> = problem.errors.iter().map(|f| format!("{}: {}", f.field, f.message)).collect();
    if fields.is_empty() { problem.detail } else { fields.join("; ") }
}
