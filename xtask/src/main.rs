//! `cargo run --release -p xtask -- bench`: runs `proofline image ls` over a large image and, in
//! the same run, the floor (every layer decompressed and hashed by the fastest tools on this
//! machine), both pinned to one core, and prints the ratio and Proofline's peak memory.
//! `bench-sbom` does the same for `proofline-sbom` per corpus image, with the peer SBOM tools;
//! `bench-scan` measures the scan stage's index load and matching, and cargo-audit beside it.

#![allow(clippy::print_stdout, clippy::print_stderr)]

mod bench;
mod bench_sbom;
mod bench_scan;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "xtask")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Benchmark `proofline image ls` against decompress+hash of every layer.
    Bench(bench::BenchArgs),
    /// Benchmark `proofline-sbom` against the floor and the peer SBOM tools, per corpus image.
    BenchSbom(bench_sbom::BenchSbomArgs),
    /// Benchmark `proofline-scan`: index load and match against 200,000 synthetic advisories,
    /// the corpus images against fixtures/vulndb, and cargo-audit on its own input.
    BenchScan(bench_scan::BenchScanArgs),
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Cmd::Bench(args) => bench::run(&args),
        Cmd::BenchSbom(args) => bench_sbom::run(&args),
        Cmd::BenchScan(args) => bench_scan::run(&args),
    }
}
