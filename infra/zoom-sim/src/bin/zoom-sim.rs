//! Manual use: start the Zoom simulator, register one realistic recording, print its
//! `recording.completed` body and signature, optionally deliver it, wait for Ctrl-C.

use clap::Parser;
use zoom_sim::{RecordingSpec, ZoomSim};

#[derive(Parser, Debug)]
#[command(about = "In-process Zoom stand-in: webhooks, downloads, CDN redirects")]
struct Args {
    /// Webhook secret token used to sign the printed body.
    #[arg(long, env = "ZOOM_WEBHOOK_SECRET", default_value = "zoom-sim-secret")]
    secret: String,
    /// Port on 127.0.0.1 (0 = any free port).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Prefix from which the recording's ids are derived.
    #[arg(long, default_value = "demo")]
    prefix: String,
    /// Size scale of the files in bytes (8 MiB gives ~40 MB of media).
    #[arg(long, default_value_t = 8 * 1024 * 1024)]
    scale_bytes: u64,
    /// Register the recording as a webinar (type 5).
    #[arg(long)]
    webinar: bool,
    /// Also POST the signed body to this webhook URL.
    #[arg(long)]
    deliver_to: Option<String>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let sim = ZoomSim::start_on_port(args.port).await?;
    let mut spec = RecordingSpec::realistic(&args.prefix, args.scale_bytes);
    if args.webinar {
        spec = spec.as_webinar();
    }
    let rec = sim.add_recording(spec);
    let body = rec.recording_completed_body();
    let ts = zoom_sim::unix_now();
    let sig = zoom_sim::sign(&args.secret, ts, body.as_bytes());

    println!("{body}");
    eprintln!("api_base:               {}", sim.api_base());
    eprintln!("cdn_base:               {}", sim.cdn_base());
    eprintln!("x-zm-request-timestamp: {ts}");
    eprintln!("x-zm-signature:         {sig}");
    eprintln!("api token:              {}", sim.issue_api_token());
    let app = sim.s2s_app();
    eprintln!("oauth token url:        {}", sim.oauth_token_url());
    eprintln!("s2s account_id:         {}", app.account_id);
    eprintln!("s2s client_id:          {}", app.client_id);
    eprintln!("s2s client_secret:      {}", app.client_secret);

    if let Some(url) = &args.deliver_to {
        let client = reqwest::Client::new();
        let (status, resp) = zoom_sim::deliver(&client, url, &args.secret, ts, &body).await?;
        eprintln!("delivered to {url}: {status} {resp}");
    }

    eprintln!("serving; Ctrl-C to stop");
    tokio::signal::ctrl_c().await?;
    sim.shutdown().await;
    Ok(())
}
