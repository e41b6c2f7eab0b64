//! Runs every case of an Autobahn TestSuite fuzzing server through the
//! tokio adapter, echoing every message, then asks the server to write its
//! reports.
//!
//! ```text
//! cargo run --release --example tokio_autobahn_client --features tokio -- ws://127.0.0.1:9001 wsproto-tokio
//! ```

use wsproto::tokio::{self as ws, Error};
use wsproto::Message;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let mut args = std::env::args().skip(1);
    let base = args.next().unwrap_or_else(|| "ws://127.0.0.1:9001".into());
    let agent = args.next().unwrap_or_else(|| "wsproto".into());

    let count = case_count(&base).await?;
    println!("{count} cases");
    for case in 1..=count {
        if let Err(e) = run_case(&format!("{base}/runCase?case={case}&agent={agent}")).await {
            // A case that ends in a protocol error is the suite's business;
            // it is recorded in the report.
            eprintln!("case {case}: {e}");
        }
    }
    let (mut ws, _) = ws::connect(&format!("{base}/updateReports?agent={agent}")).await?;
    ws.close(wsproto::CloseCode::NORMAL, "").await?;
    while ws.recv().await.is_ok() {}
    println!("reports updated");
    Ok(())
}

async fn case_count(base: &str) -> Result<u32, Error> {
    let (mut ws, _) = ws::connect(&format!("{base}/getCaseCount")).await?;
    let mut count = None;
    loop {
        match ws.recv().await {
            Ok(Message::Text(text)) => count = text.trim().parse().ok(),
            Ok(_) => {}
            Err(Error::Closed) => break,
            Err(e) => return Err(e),
        }
    }
    Ok(count.unwrap_or(0))
}

async fn run_case(url: &str) -> Result<(), Error> {
    let (mut ws, _) = ws::connect(url).await?;
    loop {
        match ws.recv().await {
            Ok(Message::Text(text)) => ws.send_text(text).await?,
            Ok(Message::Binary(data)) => ws.send_binary(data).await?,
            Ok(_) => {}
            Err(Error::Closed) => return Ok(()),
            Err(e) => return Err(e),
        }
    }
}
