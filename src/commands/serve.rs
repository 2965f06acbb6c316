//! `agentworld serve`: the long-lived service. Loads environments, serves MCP and the HTTP API until SIGINT or
//! SIGTERM, then drains (in-flight calls finish, the journal is flushed, open episodes are marked interrupted).
//! Prints `listening on http://ADDR` on stdout once it accepts connections (tests and scripts wait for it).

use std::path::PathBuf;
use std::process::ExitCode;

use agentworld_actors::{Runtime, RuntimeConfig};
use agentworld_server::Server;
use anyhow::Context;

#[derive(clap::Args)]
pub struct ServeArgs {
    /// Spec files or folders (default: the bundled envspecs/).
    #[arg(long = "envs")]
    pub envs: Vec<PathBuf>,
    /// Port to listen on (default: [server] port of the configuration, 8080; 0 picks a free port).
    #[arg(long)]
    pub port: Option<u16>,
    /// Address to listen on (default: [server] bind, 127.0.0.1).
    #[arg(long)]
    pub bind: Option<String>,
    /// Configuration (TOML; AGENTWORLD_* variables override it). See docs/agentworld.toml.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Journal every step and verdict to this DuckDB record (default: [journal] path; none if unset).
    #[arg(long)]
    pub journal: Option<PathBuf>,
    /// Folder of managed train/rollout jobs (default: [server] jobs_dir, agentworld-jobs).
    #[arg(long)]
    pub jobs_dir: Option<PathBuf>,
    /// Also serve imported AgentWorldModel-1K environments (`agentworld import-awm` output: a folder of
    /// environment folders, or one); repeatable. Their tools run in the Python bridge.
    #[arg(long = "awm")]
    pub awm: Vec<PathBuf>,
    /// Python bridge workers for --awm environments (default: one per core).
    #[arg(long)]
    pub awm_workers: Option<usize>,
    /// An OpenAI-compatible endpoint (`http://host:port/v1`) that judges AWM tasks whose code-mode verifier gives
    /// no verdict from their sql-mode verifier's evidence (AWM's LLM judge).
    #[arg(long)]
    pub awm_judge_url: Option<String>,
    /// The judge's model name.
    #[arg(long, default_value = "judge")]
    pub awm_judge_model: String,
    /// Environment variable holding the judge endpoint's API key.
    #[arg(long)]
    pub awm_judge_key_env: Option<String>,
    /// Log as JSON lines instead of text.
    #[arg(long)]
    pub log_json: bool,
}

pub fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    init_logging(args.log_json);
    let paths = if args.envs.is_empty() { vec![super::default_envs()] } else { args.envs.clone() };
    let envs = super::load::load_envs(&paths)?;
    let mut config = RuntimeConfig::load(args.config.as_deref())?;
    if let Some(j) = &args.journal {
        config.journal.path = Some(j.clone());
    }
    let mut settings = config.server.clone();
    if let Some(p) = args.port {
        settings.port = p;
    }
    if let Some(d) = &args.jobs_dir {
        settings.jobs_dir = d.to_string_lossy().into_owned();
    }
    if let Some(b) = &args.bind {
        settings.bind = b.clone();
    }
    let tokio = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    tokio.block_on(async move {
        let names: Vec<String> = envs.iter().map(|e| e.name().to_string()).collect();
        let runtime = Runtime::start(config, envs).await.context("starting the runtime")?;
        if let Some(j) = runtime.journal() {
            let r = j.recovery();
            tracing::info!(
                journal = %j.path().display(),
                replayed_records = r.replayed_records,
                interrupted = r.interrupted,
                "journal opened"
            );
        }
        let awm = if args.awm.is_empty() {
            None
        } else {
            let journal = runtime.journal().cloned().map(std::sync::Arc::new);
            let (awm_paths, workers) = (args.awm.clone(), args.awm_workers);
            let host = tokio::task::spawn_blocking(move || load_awm(&awm_paths, workers, journal)).await??;
            if let Some(url) = &args.awm_judge_url {
                agentworld_rl::http::check_url(url)?;
                let mut config =
                    agentworld_rl::llm::LlmConfig::new(url, &args.awm_judge_model, agentworld_rl::llm::Mode::Text);
                if let Some(var) = &args.awm_judge_key_env {
                    config.api_key =
                        Some(std::env::var(var).with_context(|| format!("--awm-judge-key-env: ${var} is not set"))?);
                }
                let judge: std::sync::Arc<dyn agentworld_awm::Judge> =
                    std::sync::Arc::new(agentworld_rl::judge::LlmJudge::new(config));
                for env in host.environments() {
                    env.set_judge(judge.clone());
                }
            }
            Some(host)
        };
        let awm_names: Vec<String> =
            awm.iter().flat_map(|h| h.environments().iter().map(|e| e.name().to_string())).collect();
        let server = Server::bind_with(runtime, awm, settings).await?;
        let addr = server.local_addr();
        tracing::info!(%addr, environments = names.len(), "serving");
        println!("listening on http://{addr}");
        println!("  HTTP API  http://{addr}/v1/environments   (OpenAPI: http://{addr}/openapi.json)");
        if let Some(first) = names.first() {
            println!("  MCP       http://{addr}/mcp/{first}   (or /mcp/{{env}}/{{task}})");
        }
        if !awm_names.is_empty() {
            println!("  AWM-1K    {} imported environments, e.g. http://{addr}/mcp/{}", awm_names.len(), awm_names[0]);
        }
        use std::io::Write;
        let _ = std::io::stdout().flush();
        let report = server.run(shutdown_signal()).await?;
        tracing::info!(
            requests = report.requests,
            interrupted = report.interrupted,
            drain_timed_out = report.drain_timed_out,
            "stopped"
        );
        println!("stopped: {} requests served, {} open episodes interrupted", report.requests, report.interrupted);
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Starts the Python bridge and loads every imported AWM environment under `paths`.
fn load_awm(
    paths: &[PathBuf],
    workers: Option<usize>,
    journal: Option<std::sync::Arc<agentworld_runtime::Journal>>,
) -> anyhow::Result<agentworld_awm::AwmHost> {
    use agentworld_awm::{AwmHost, BridgeConfig, BridgePool};
    let mut config = BridgeConfig::default();
    if let Some(w) = workers {
        config.workers = w.max(1);
    }
    let pool =
        BridgePool::start(config).context("starting the AWM bridge (scripts/python-deps.sh installs its Python)")?;
    let (host, skipped) = AwmHost::load(paths, pool, journal).context("loading AWM environments")?;
    for s in skipped {
        tracing::warn!(skipped = %s, "AWM environment not served");
    }
    if host.environments().is_empty() {
        anyhow::bail!("no servable AWM environment under {paths:?} (each needs awm-env.json and app.py)");
    }
    Ok(host)
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutdown signal received");
}

/// Structured logs on stderr; `RUST_LOG` picks the level (default `info`).
fn init_logging(json: bool) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = if json { builder.json().try_init() } else { builder.try_init() };
}
