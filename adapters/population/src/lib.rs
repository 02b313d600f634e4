//! The national population database (*Cơ sở dữ liệu quốc gia về dân cư*) adapter: integration
//! "037", a verified-match citizen lookup over SOAP 1.1 (see `population.md` in the domain
//! notes), and a simulator of the service for the sandbox and the tests.
//!
//! - [`name`]: the name form the service compares (`Đỗ Thị Thử` → `DOTHITHU`);
//! - [`id`]: the structure of a personal ID number (province, century/sex, year);
//! - [`auth`]: the authentication headers (timestamp, Basic with the SHA-256 formula, client
//!   id, API key);
//! - [`wire`]: request envelope, answer (match / not found / fault), Vietnamese wire names;
//! - [`client`]: one lookup over HTTP, errors mapped to stable codes;
//! - [`sim`]: the simulator (a real HTTP server), also the `population-sim` binary.
//!
//! The gateway depends on this crate, never the other way round.

pub mod auth;
pub mod client;
pub mod id;
pub mod name;
pub mod sim;
pub mod wire;
pub mod xml;

pub use auth::Credentials;
pub use client::{Client, PopulationError, Settings};
pub use lienthong_contract::citizen::{Citizen, LookupAnswer};
pub use wire::{Birth, Query};

/// Command-line options of the simulator (`population-sim`, `lienthong sim population`).
#[derive(Debug, Clone, clap::Args)]
pub struct SimArgs {
    /// Address to listen on (port 0: any free port; the address is printed on stdout).
    #[arg(long, default_value = "127.0.0.1:7037")]
    pub listen: String,
    /// Account name the simulator expects.
    #[arg(long, default_value = "lienthong-sandbox")]
    pub username: String,
    /// Shared secret it expects.
    #[arg(
        long,
        env = "POPULATION_SIM_SECRET",
        default_value = "sandbox-population-secret"
    )]
    pub secret: String,
    /// The `url_xacthuc` string hashed into the Authorization header.
    #[arg(long, default_value = "https://sandbox.invalid/xacthuc")]
    pub auth_url: String,
    /// Expected `X-Road-Client`.
    #[arg(long, default_value = "VN/GOV/H99/LIENTHONG")]
    pub client_id: String,
    /// Expected `ApiKey` (none: not checked).
    #[arg(long)]
    pub api_key: Option<String>,
    /// Delay before every answer, in milliseconds.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// Extra delay from 0 to this many milliseconds, fixed per person asked about (the same
    /// question always takes as long), so that concurrent callers do not move in lockstep.
    #[arg(long, default_value_t = 0)]
    pub latency_spread_ms: u64,
    /// Size of the synthetic population.
    #[arg(long, default_value_t = 5000)]
    pub people: usize,
    /// Seed of the synthetic population.
    #[arg(long, default_value_t = 37)]
    pub seed: u64,
}

impl SimArgs {
    pub fn sim_config(&self) -> sim::SimConfig {
        sim::SimConfig {
            latency_ms: self.latency_ms,
            latency_spread_ms: self.latency_spread_ms,
            people: self.people,
            seed: self.seed,
            ..sim::SimConfig::new(Credentials {
                username: self.username.clone(),
                secret: self.secret.as_bytes().to_vec(),
                auth_url: self.auth_url.clone(),
                client_id: self.client_id.clone(),
                api_key: self.api_key.clone(),
            })
        }
    }

    /// Run until Ctrl-C / SIGTERM, printing `population-sim listening on http://ADDR/…` first.
    pub async fn run(&self) -> std::io::Result<()> {
        let s = sim::start(&self.listen, self.sim_config()).await?;
        println!("population-sim listening on {}", s.url());
        use std::io::Write;
        let _ = std::io::stdout().flush();
        #[cfg(unix)]
        {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
        s.task.abort();
        Ok(())
    }
}
