use api::cli::{Cli, Command};
use api::settings::Settings;
use api::startup::Application;
use clap::Parser;

/// mimalloc instead of glibc's malloc: it gives freed memory back to the system (glibc kept
/// the hashing threads' freed 19 MiB blocks in its arenas once its mmap threshold had risen
/// to their size); measured in the README's "Memory".
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let settings = Settings::from_env()?;
    api::startup::init_logging(settings.log_format);
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let app = Application::build(settings.clone()).await?;
            log::info!("listening on {}:{}", settings.bind.ip(), app.port());
            app.run_until_stopped().await?;
        }
        Command::Migrate => api::cli::migrate(&settings)?,
        Command::Healthcheck => {
            if let Err(e) = api::cli::healthcheck(&settings) {
                eprintln!("not ready: {e:#}");
                std::process::exit(1);
            }
        }
        Command::Openapi => print!("{}", api::openapi::yaml()),
        Command::BootstrapAdmin { login, name } => {
            let key = api::cli::bootstrap_admin(&settings, &login, &name)?;
            println!(
                "Created administrator {login}. One-time login key (valid {}s, shown once):",
                settings.temporary_key_ttl.as_secs()
            );
            println!("{key}");
        }
        Command::IssueKey {
            employee,
            user,
            provider,
            ttl,
        } => {
            let key = api::cli::issue_key(
                &settings,
                employee.as_deref(),
                user.as_deref(),
                provider.as_deref(),
                ttl.as_deref(),
            )?;
            println!("One-time login key (shown once; redeem at POST /api/v1/auth/temporary-key):");
            println!("{key}");
        }
    }
    Ok(())
}
