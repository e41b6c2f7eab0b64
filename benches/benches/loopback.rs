//! Echo over TCP on 127.0.0.1: each implementation's server against one
//! pipelined load client, then idle memory per established connection.
//!
//! The server is `src/bin/echo_server.rs` in a child process (what it runs
//! per implementation is described there), on a tokio current-thread
//! runtime pinned to core 0; this process is the load client, on a
//! current-thread runtime pinned to the last core. The client does no
//! WebSocket work of its own: it writes pre-encoded masked frames (fixed
//! key) and counts the bytes that come back, so its cost per message is the
//! same whichever server runs.
//!
//! Workloads: binary messages of 20 B over 1, 16 and 128 connections, and of
//! 16 KiB over 16 connections. Each connection keeps up to `depth` messages
//! in flight (32 of 20 B, 4 of 16 KiB): it writes as many as came back, in
//! one write, after each read. Before measuring, every connection echoes one
//! message and the answer is checked byte for byte.
//!
//! Criterion times `iters` messages spread over the connections
//! (`iter_custom`), so its throughput is messages per second. Around each
//! timing the server's CPU clock (`clock_getcpuclockid` on the child) is
//! read too; the table printed at the end gives messages per second and
//! messages per server CPU-second, summed over every timed run.
//!
//! Idle memory: 5,000 connections (`WSPROTO_BENCH_IDLE`, 0 to skip) opened
//! and upgraded, then left idle; the server reports its resident set and its
//! heap (a counting global allocator) before and after; the table gives the
//! difference per connection.
//!
//! `WSPROTO_BENCH_QUICK=1` is the short mode: fewer and shorter samples.

use std::cell::RefCell;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::rc::Rc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use nix::time::{clock_getcpuclockid, clock_gettime};
use nix::unistd::Pid;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::runtime::Runtime;
use wsproto::frame::OpCode;
use wsproto_benches::loopback::{connect, server_frame, IMPLS, MEMORY_REQUEST, PORT_LINE};
use wsproto_benches::{binary_payload, masked_frame, KIB};

/// The core the server runs on; the client takes the last one.
const SERVER_CORE: usize = 0;

struct Workload {
    name: &'static str,
    payload: usize,
    connections: usize,
    depth: usize,
}

const WORKLOADS: &[Workload] = &[
    Workload {
        name: "20B_x1",
        payload: 20,
        connections: 1,
        depth: 32,
    },
    Workload {
        name: "20B_x16",
        payload: 20,
        connections: 16,
        depth: 32,
    },
    Workload {
        name: "20B_x128",
        payload: 20,
        connections: 128,
        depth: 32,
    },
    Workload {
        name: "16KiB_x16",
        payload: 16 * KIB,
        connections: 16,
        depth: 4,
    },
];

type BoxError = Box<dyn std::error::Error>;

/// A running echo server (child process), killed when dropped.
struct Server {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    port: u16,
}

impl Server {
    fn spawn(implementation: &str) -> Result<Self, BoxError> {
        let mut child = Command::new(env!("CARGO_BIN_EXE_echo_server"))
            .arg(implementation)
            .arg(SERVER_CORE.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?;
        let stdin = child.stdin.take().ok_or("no stdin")?;
        let mut stdout = BufReader::new(child.stdout.take().ok_or("no stdout")?);
        let mut line = String::new();
        stdout.read_line(&mut line)?;
        let port = line
            .trim()
            .strip_prefix(PORT_LINE)
            .ok_or_else(|| format!("unexpected first line {line:?}"))?
            .parse()?;
        Ok(Self {
            child,
            stdin,
            stdout,
            port,
        })
    }

    /// The server's CPU time so far, user and system, all threads.
    fn cpu_time(&self) -> Duration {
        let clock =
            clock_getcpuclockid(Pid::from_raw(self.child.id() as i32)).and_then(clock_gettime);
        match clock {
            Ok(t) => Duration::new(t.tv_sec() as u64, t.tv_nsec() as u32),
            Err(_) => Duration::ZERO,
        }
    }

    /// The server's resident set and live heap, in bytes.
    fn memory(&mut self) -> Result<(u64, u64), BoxError> {
        writeln!(self.stdin, "{MEMORY_REQUEST}")?;
        self.stdin.flush()?;
        let mut line = String::new();
        self.stdout.read_line(&mut line)?;
        let mut fields = line.split_whitespace().skip(1).map(str::parse::<u64>);
        match (fields.next(), fields.next()) {
            (Some(Ok(rss)), Some(Ok(heap))) => Ok((rss, heap)),
            _ => Err(format!("unexpected memory line {line:?}").into()),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One connection of the load client.
struct Client {
    stream: TcpStream,
    buf: Vec<u8>,
}

/// Totals over every timed run of one implementation on one workload.
#[derive(Default, Clone, Copy)]
struct Totals {
    messages: u64,
    wall: Duration,
    server_cpu: Duration,
}

/// Sends `quota` messages over one connection, `depth` at most in flight,
/// and waits for every echo.
async fn drive(
    client: &mut Client,
    batch: &[u8],
    frame_len: usize,
    echo_len: usize,
    quota: u64,
    depth: u64,
) -> std::io::Result<()> {
    let target = quota * echo_len as u64;
    let mut sent = 0u64;
    let mut received = 0u64;
    while received < target {
        let in_flight = sent - received / echo_len as u64;
        let more = (depth - in_flight).min(quota - sent);
        if more > 0 {
            client
                .stream
                .write_all(&batch[..more as usize * frame_len])
                .await?;
            sent += more;
        }
        let n = client.stream.read(&mut client.buf).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        received += n as u64;
    }
    if received != target {
        return Err(std::io::Error::other(
            "the server sent more than it was sent",
        ));
    }
    Ok(())
}

/// Opens the workload's connections and checks one echo on each.
async fn open(
    port: u16,
    workload: &Workload,
    frame: &[u8],
    echo: &[u8],
) -> Result<Vec<Client>, BoxError> {
    let mut clients = Vec::with_capacity(workload.connections);
    for _ in 0..workload.connections {
        let mut stream = connect(port).await?;
        stream.write_all(frame).await?;
        let mut answer = vec![0u8; echo.len()];
        stream.read_exact(&mut answer).await?;
        if answer != echo {
            return Err("the echo differs from the message sent".into());
        }
        clients.push(Client {
            stream,
            buf: vec![0u8; 64 * KIB],
        });
    }
    Ok(clients)
}

fn throughput(
    c: &mut Criterion,
    runtime: &Runtime,
    results: &mut Vec<(&'static str, &'static str, Totals)>,
) {
    for workload in WORKLOADS {
        let payload = binary_payload(workload.payload);
        let frame = masked_frame(OpCode::Binary, &payload);
        let echo = server_frame(&payload);
        let batch = frame.repeat(workload.depth);
        let mut group = c.benchmark_group(format!("loopback/echo_{}", workload.name));
        group.throughput(Throughput::Elements(1));
        for &implementation in IMPLS {
            let server = match Server::spawn(implementation) {
                Ok(server) => server,
                Err(e) => panic!("{implementation}: the echo server did not start: {e}"),
            };
            let mut clients = runtime
                .block_on(open(server.port, workload, &frame, &echo))
                .unwrap_or_else(|e| panic!("{implementation}: {e}"));
            let totals = Rc::new(RefCell::new(Totals::default()));
            group.bench_function(implementation, |b| {
                b.iter_custom(|iters| {
                    let connections = clients.len() as u64;
                    let cpu_before = server.cpu_time();
                    let start = Instant::now();
                    runtime.block_on(async {
                        let runs = clients.iter_mut().enumerate().map(|(i, client)| {
                            // `iters` messages in all, spread as evenly as can be.
                            let quota =
                                iters / connections + u64::from((i as u64) < iters % connections);
                            drive(
                                client,
                                &batch,
                                frame.len(),
                                echo.len(),
                                quota,
                                workload.depth as u64,
                            )
                        });
                        for result in futures_util::future::join_all(runs).await {
                            result.unwrap_or_else(|e| panic!("{implementation}: {e}"));
                        }
                    });
                    let wall = start.elapsed();
                    let mut totals = totals.borrow_mut();
                    totals.messages += iters;
                    totals.wall += wall;
                    totals.server_cpu += server.cpu_time().saturating_sub(cpu_before);
                    wall
                })
            });
            results.push((workload.name, implementation, *totals.borrow()));
        }
        group.finish();
    }
}

/// Resident set and heap per idle connection, in bytes.
fn idle_memory(
    runtime: &Runtime,
    implementation: &str,
    connections: usize,
) -> Result<(f64, f64), BoxError> {
    let mut server = Server::spawn(implementation)?;
    // Warm the server up with one connection, so what is measured is per
    // connection, not the first connection's one-off allocations.
    let warm = runtime.block_on(connect(server.port))?;
    std::thread::sleep(Duration::from_millis(50));
    let (rss_before, heap_before) = server.memory()?;
    let clients = runtime.block_on(async {
        let mut clients = Vec::with_capacity(connections);
        while clients.len() < connections {
            let batch = (connections - clients.len()).min(64);
            let opened =
                futures_util::future::join_all((0..batch).map(|_| connect(server.port))).await;
            for stream in opened {
                clients.push(stream?);
            }
        }
        // Let the server's tasks reach their idle wait.
        tokio::time::sleep(Duration::from_millis(200)).await;
        Ok::<_, std::io::Error>(clients)
    })?;
    let (rss_after, heap_after) = server.memory()?;
    drop(clients);
    drop(warm);
    let per = |after: u64, before: u64| after.saturating_sub(before) as f64 / connections as f64;
    Ok((per(rss_after, rss_before), per(heap_after, heap_before)))
}

fn main() {
    let quick = std::env::var_os("WSPROTO_BENCH_QUICK").is_some_and(|v| v != "0");
    let idle_connections: usize = std::env::var("WSPROTO_BENCH_IDLE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5000);
    // Pin the client away from the server.
    if let Some(last) = core_affinity::get_core_ids().and_then(|ids| ids.into_iter().last()) {
        if last.id != SERVER_CORE {
            core_affinity::set_for_current(last);
        }
    }
    let _ = rlimit::increase_nofile_limit(u64::MAX);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");

    let mut criterion = Criterion::default().sample_size(10);
    criterion = if quick {
        criterion
            .warm_up_time(Duration::from_millis(300))
            .measurement_time(Duration::from_millis(700))
    } else {
        criterion
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(3))
    };
    let mut criterion = criterion.configure_from_args();

    let mut results = Vec::new();
    throughput(&mut criterion, &runtime, &mut results);

    let mut idle = Vec::new();
    if idle_connections > 0 {
        for &implementation in IMPLS {
            match idle_memory(&runtime, implementation, idle_connections) {
                Ok(per) => idle.push((implementation, per)),
                Err(e) => eprintln!("{implementation}: idle memory not measured: {e}"),
            }
        }
    }
    criterion.final_summary();
    print_tables(&results, &idle, idle_connections);
}

fn print_tables(
    results: &[(&str, &str, Totals)],
    idle: &[(&str, (f64, f64))],
    idle_connections: usize,
) {
    let mut out = String::new();
    let rate = |n: u64, d: Duration| {
        let rate = n as f64 / d.as_secs_f64();
        match () {
            _ if d.is_zero() => "—".to_string(),
            _ if rate >= 1e6 => format!("{:.2} M", rate / 1e6),
            _ => format!("{:.1} k", rate / 1e3),
        }
    };
    out.push_str(
        "\nLoopback echo, messages per second and per server CPU-second (k = 10³, M = 10⁶)\n\n",
    );
    out.push_str("| implementation |");
    for w in WORKLOADS {
        out.push_str(&format!(" {} msg/s | {} msg/CPU-s |", w.name, w.name));
    }
    out.push_str("\n|---|");
    for _ in WORKLOADS {
        out.push_str("---:|---:|");
    }
    out.push('\n');
    for &implementation in IMPLS {
        out.push_str(&format!("| {implementation} |"));
        for w in WORKLOADS {
            match results
                .iter()
                .find(|(n, i, _)| *n == w.name && *i == implementation)
            {
                Some((_, _, t)) => out.push_str(&format!(
                    " {} | {} |",
                    rate(t.messages, t.wall),
                    rate(t.messages, t.server_cpu)
                )),
                None => out.push_str(" | |"),
            }
        }
        out.push('\n');
    }
    let per_cpu = |implementation: &str| {
        results
            .iter()
            .find(|(n, i, _)| *n == "20B_x128" && *i == implementation)
            .filter(|(_, _, t)| !t.server_cpu.is_zero())
            .map(|(_, _, t)| t.messages as f64 / t.server_cpu.as_secs_f64())
    };
    if let Some(yawc) = per_cpu("yawc") {
        for ours in ["wsproto_tokio", "wsproto_minimal"] {
            if let Some(v) = per_cpu(ours) {
                out.push_str(&format!(
                    "\n{ours} / yawc, 20B_x128 per server CPU-second: {:.2}×",
                    v / yawc
                ));
            }
        }
        out.push('\n');
    }
    if !idle.is_empty() {
        out.push_str(&format!(
            "\nIdle memory per established connection ({idle_connections} connections), server side\n\n"
        ));
        out.push_str(
            "| implementation | RSS per connection | heap per connection |\n|---|---:|---:|\n",
        );
        for (implementation, (rss, heap)) in idle {
            out.push_str(&format!(
                "| {implementation} | {:.1} KB | {:.1} KB |\n",
                rss / 1000.0,
                heap / 1000.0
            ));
        }
    }
    println!("{out}");
}
