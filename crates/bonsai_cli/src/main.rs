//! `bonsai`: the command-line host of the Bonsai engine and tools.
//!
//! Each subcommand lives in its own module; this file only parses arguments,
//! sets up logging and maps outcomes to exit codes: 0 when all went well, 1
//! when the input has errors or could not be read (clap exits 2 on bad usage).

mod bench;
mod check;
mod data_dir;
mod files;
mod network;
mod platform;
mod platform_client;
mod project;
mod report;
mod run;
mod serve;
mod socket;
mod storage;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

// Compiling a package allocates many small strings and trees; mimalloc is
// measurably faster at that than the system allocator (`bonsai bench compile`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(
    name = "bonsai",
    version,
    about = "Run, check and test WeChat mini programs outside WeChat"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Load and compile a mini program, print its diagnostics and a summary.
    Check(check::CheckArgs),
    /// Compile a mini program into an artifact the engine loads.
    Build(check::BuildArgs),
    /// Run an app headless: open a page, tap, and print its tree.
    Run(run::RunArgs),
    /// Measure Bonsai's speed (the corpus, the engine, the platform server) beside a baseline.
    Bench(bench::BenchArgs),
    /// Run the platform server: login and tokens, WeChat Pay and Alipay sandboxes, subscribe messages, package registry, admin API.
    Serve(serve::ServeArgs),
    /// Operate the platform: apps, users, versions and releases, payments, messages.
    Platform(platform::PlatformArgs),
}

/// Options every subcommand that reads a project shares.
#[derive(Debug, Args)]
pub struct InputArgs {
    /// A project directory (with project.config.json or app.json) or a package .zip.
    pub input: PathBuf,
    /// Treat the input as a component library (no app.json): every component is checked.
    #[arg(long)]
    pub components: bool,
    /// Machine-readable JSON on stdout instead of human output.
    #[arg(long)]
    pub json: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // A server's request log is its normal output; tools only speak up on trouble.
    let default_log = if matches!(cli.command, Command::Serve(_)) {
        "info"
    } else {
        "warn"
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("BONSAI_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_log)),
        )
        .with_writer(std::io::stderr)
        .init();
    let outcome = match cli.command {
        Command::Check(args) => check::check(&args),
        Command::Build(args) => check::build(&args),
        Command::Run(args) => run::run(&args),
        Command::Bench(args) => bench::run(&args),
        Command::Serve(args) => serve::serve(&args),
        Command::Platform(args) => platform::run(&args),
    };
    match outcome {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(1)
        }
    }
}
