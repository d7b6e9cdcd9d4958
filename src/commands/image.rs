//! `proofline image inspect|ls|copy`: present what `proofline-oci` reads.

use std::io::{self, BufWriter, Write};
use std::ops::ControlFlow;

use anyhow::Context;
use proofline_oci::{Entry, Image, ImageInspect, ImageRef, WalkOptions, copy_image};

use super::open_options;
use crate::Outcome;
use crate::cli::{CopyArgs, Format, InspectArgs, LsArgs};

fn parse_ref(s: &str) -> anyhow::Result<ImageRef> {
    Ok(s.parse::<ImageRef>()?)
}

pub(crate) fn inspect(args: &InspectArgs) -> anyhow::Result<Outcome> {
    let opts = open_options(&args.access)?;
    let image = Image::open(&parse_ref(&args.image)?, &opts)?;
    let inspect = image.inspect();
    let mut out = io::stdout().lock();
    match args.format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, &inspect)?;
            writeln!(out)?;
        }
        Format::Text => out.write_all(render_inspect(&inspect).as_bytes())?,
    }
    Ok(Outcome::Passed)
}

/// The human-readable `image inspect`.
pub(crate) fn render_inspect(i: &ImageInspect) -> String {
    use std::fmt::Write as _;
    let id = &i.identity;
    let c = &i.config;
    let mut s = String::new();
    let _ = writeln!(s, "image     {}", id.reference);
    let _ = writeln!(s, "digest    {}", id.digest);
    if let Some(index) = &id.index_digest {
        let _ = writeln!(s, "index     {index}");
    }
    let _ = writeln!(s, "platform  {}", id.platform);
    let _ = writeln!(s, "config    {}", id.config_digest);
    let _ = writeln!(
        s,
        "user      {}",
        c.user
            .as_deref()
            .filter(|u| !u.is_empty())
            .unwrap_or("(unset: root)")
    );
    let join = |v: &Option<Vec<String>>| {
        v.as_ref().map_or_else(
            || "(unset)".to_string(),
            |v| serde_json::to_string(v).unwrap_or_default(),
        )
    };
    let _ = writeln!(s, "entrypoint {}", join(&c.entrypoint));
    let _ = writeln!(s, "cmd       {}", join(&c.cmd));
    if let Some(w) = &c.working_dir {
        let _ = writeln!(s, "workdir   {w}");
    }
    for e in &c.env {
        let _ = writeln!(s, "env       {e}");
    }
    for (k, v) in &c.labels {
        let _ = writeln!(s, "label     {k}={v}");
    }
    for p in &c.exposed_ports {
        let _ = writeln!(s, "port      {p}");
    }
    for (n, l) in id.layers.iter().enumerate() {
        let _ = writeln!(
            s,
            "layer {n:<3} {} {:>12} B  {}",
            l.digest, l.size, l.media_type
        );
    }
    s
}

pub(crate) fn ls(args: &LsArgs) -> anyhow::Result<Outcome> {
    let opts = open_options(&args.access)?;
    let image = Image::open(&parse_ref(&args.image)?, &opts)?;
    let mut out = BufWriter::with_capacity(256 * 1024, io::stdout().lock());
    let mut sorted: Vec<Entry> = Vec::new();
    let mut write_err: Option<io::Error> = None;
    let report = image.walk(&WalkOptions::default(), |entry| {
        if args.sort {
            sorted.push(entry);
            return ControlFlow::Continue(());
        }
        match write_line(&mut out, &entry) {
            Ok(()) => ControlFlow::Continue(()),
            Err(e) => {
                write_err = Some(e);
                ControlFlow::Break(())
            }
        }
    })?;
    if let Some(e) = write_err {
        // A closed pipe (`| head`) is not an error of ours.
        if e.kind() == io::ErrorKind::BrokenPipe {
            return Ok(Outcome::Passed);
        }
        return Err(e).context("writing the listing to stdout");
    }
    sorted.sort_by(|a, b| a.path.cmp(&b.path));
    for entry in &sorted {
        write_line(&mut out, entry)?;
    }
    match out.flush() {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return Ok(Outcome::Passed),
        r => r.context("writing the listing to stdout")?,
    }
    for w in &report.warnings {
        tracing::warn!("{w}");
    }
    if report.warnings_dropped > 0 {
        tracing::warn!("{} more warnings not shown", report.warnings_dropped);
    }
    tracing::info!(
        entries = report.stats.entries,
        layers = report.stats.layers,
        uncompressed_bytes = report.stats.uncompressed_bytes,
        "listed {}",
        image.digest()
    );
    Ok(Outcome::Passed)
}

fn write_line(out: &mut impl Write, entry: &Entry) -> io::Result<()> {
    serde_json::to_writer(&mut *out, entry)?;
    out.write_all(b"\n")
}

pub(crate) fn copy(args: &CopyArgs) -> anyhow::Result<Outcome> {
    let opts = open_options(&args.access)?;
    let src = parse_ref(&args.source)?;
    let dst = parse_ref(&args.destination)?;
    let report =
        copy_image(&src, &dst, &opts).with_context(|| format!("copying {src} to {dst}"))?;
    let mut out = io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, &report)?;
    writeln!(out)?;
    Ok(Outcome::Passed)
}
