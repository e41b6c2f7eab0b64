//! Runs every case of an Autobahn TestSuite fuzzing server, echoing every
//! message, then asks the server to write its reports.
//!
//! ```text
//! cargo run --release --example autobahn_client -- ws://127.0.0.1:9001 wsproto
//! ```

use wsproto::blocking::{self, Error};
use wsproto::Message;

fn main() -> Result<(), Error> {
    let mut args = std::env::args().skip(1);
    let base = args.next().unwrap_or_else(|| "ws://127.0.0.1:9001".into());
    let agent = args.next().unwrap_or_else(|| "wsproto".into());

    let count = case_count(&base)?;
    println!("{count} cases");
    for case in 1..=count {
        if let Err(e) = run_case(&format!("{base}/runCase?case={case}&agent={agent}")) {
            // A case that ends in a protocol error is the suite's business;
            // it is recorded in the report.
            eprintln!("case {case}: {e}");
        }
    }
    let (mut ws, _) = blocking::connect(&format!("{base}/updateReports?agent={agent}"))?;
    ws.close_and_wait(wsproto::CloseCode::NORMAL, "")?;
    println!("reports updated");
    Ok(())
}

fn case_count(base: &str) -> Result<u32, Error> {
    let (mut ws, _) = blocking::connect(&format!("{base}/getCaseCount"))?;
    let mut count = None;
    loop {
        match ws.read() {
            Ok(Message::Text(text)) => count = text.trim().parse().ok(),
            Ok(_) => {}
            Err(Error::Closed) => break,
            Err(e) => return Err(e),
        }
    }
    Ok(count.unwrap_or(0))
}

fn run_case(url: &str) -> Result<(), Error> {
    let (mut ws, _) = blocking::connect(url)?;
    loop {
        match ws.read() {
            Ok(Message::Text(text)) => ws.send_text(text)?,
            Ok(Message::Binary(data)) => ws.send_binary(data)?,
            Ok(_) => {}
            Err(Error::Closed) => return Ok(()),
            Err(e) => return Err(e),
        }
    }
}
