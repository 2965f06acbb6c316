//! `agentworld loadgen`: drive an agentworld server's HTTP API, or any MCP Streamable HTTP endpoint, with many
//! concurrent clients; report calls/s and latency percentiles (see `agentworld_server::loadgen`).

use std::process::ExitCode;
use std::time::Duration;

use agentworld_server::loadgen::{self, Interface, LoadOptions, PlannedCall};
use anyhow::bail;

#[derive(clap::Args)]
pub struct LoadgenArgs {
    /// `http` (the /v1 API; URL = server base) or `mcp` (URL = an MCP endpoint, any server).
    #[arg(value_parser = ["http", "mcp"])]
    pub interface: String,
    /// e.g. http://127.0.0.1:8080 (http) or http://127.0.0.1:8080/mcp/shop (mcp).
    pub url: String,
    /// A tool call to make, `TOOL {json arguments}`; repeat to cycle through several.
    #[arg(long = "call", required = true)]
    pub calls: Vec<String>,
    /// Environment of the episodes opened (http).
    #[arg(long)]
    pub env: Option<String>,
    /// Task of the episodes opened (http).
    #[arg(long)]
    pub task: Option<String>,
    /// Concurrent clients, one connection each.
    #[arg(long, default_value_t = 64)]
    pub clients: usize,
    /// Sessions held open at once, shared out among the clients (default: one per client).
    #[arg(long)]
    pub sessions: Option<usize>,
    #[arg(long, default_value_t = 10.0)]
    pub seconds: f64,
    /// Calls per session before it is closed and replaced.
    #[arg(long, default_value_t = 100)]
    pub steps_per_session: usize,
    /// Offer this many calls per second in total, spread over the clients (open loop; latency counted from when
    /// each call was due). Default: as fast as answers come.
    #[arg(long)]
    pub rate: Option<f64>,
    /// Seconds of load before the measured window (not counted or timed).
    #[arg(long, default_value_t = 0.0)]
    pub warmup: f64,
    /// Per-request timeout, milliseconds.
    #[arg(long, default_value_t = 10_000)]
    pub timeout_ms: u64,
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: LoadgenArgs) -> anyhow::Result<ExitCode> {
    let calls: Vec<PlannedCall> =
        args.calls.iter().map(|c| PlannedCall::parse(c)).collect::<Result<_, _>>().map_err(anyhow::Error::msg)?;
    if !args.seconds.is_finite() || args.seconds <= 0.0 {
        bail!("--seconds must be a positive number (got {})", args.seconds);
    }
    let opts = LoadOptions {
        interface: if args.interface == "mcp" { Interface::Mcp } else { Interface::Http },
        url: args.url.clone(),
        env: args.env.clone(),
        task: args.task.clone(),
        clients: args.clients,
        sessions: args.sessions.unwrap_or(args.clients),
        duration: Duration::from_secs_f64(args.seconds),
        steps_per_session: args.steps_per_session,
        calls,
        timeout: Duration::from_millis(args.timeout_ms),
        rate: args.rate,
        warmup: Duration::from_secs_f64(args.warmup.max(0.0)),
        window_marks: None,
    };
    if let Some(r) = opts.rate
        && !(r.is_finite() && r > 0.0)
    {
        bail!("--rate must be a positive number of calls per second (got {r})");
    }
    let tokio = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let report = tokio.block_on(loadgen::run(opts)).map_err(anyhow::Error::msg)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        let (l, o) = (&report.latency, &report.open_latency);
        println!(
            "{} calls in {:.1} s = {:.0} calls/s; {} clients, {} sessions; latency p50 {} us, p90 {} us, p99 {} us, max {} us",
            report.calls,
            report.seconds,
            report.calls_per_s,
            report.clients,
            report.sessions,
            l.p50_us,
            l.p90_us,
            l.p99_us,
            l.max_us
        );
        println!(
            "session opens {} (p50 {} us, p99 {} us); tool errors {}; errors {}",
            o.count, o.p50_us, o.p99_us, report.tool_errors, report.errors
        );
        if report.rate.is_some() {
            let lag = &report.send_lag;
            println!(
                "sent after they were due (the generator's own share of the latency): p50 {} us, p99 {} us, max {} us",
                lag.p50_us, lag.p99_us, lag.max_us
            );
        }
        for e in &report.first_errors {
            println!("error: {e}");
        }
    }
    Ok(if report.errors == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
