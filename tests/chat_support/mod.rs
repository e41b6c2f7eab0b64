//! What the chat tests share: a Redis server of their own, chat instances
//! on free ports, and a client that reads the chat's JSON.

#![allow(dead_code)]

use std::net::{SocketAddr, TcpListener as StdListener, TcpStream as StdStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use wsproto::handshake::ClientRequest;
use wsproto::tokio::{self as ws, MaybeTlsStream, WebSocketStream};
use wsproto::{Config, Message};

use crate::chat;

/// How long any one wait in these tests may take.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// A port nobody listens on now.
pub fn free_port() -> u16 {
    let listener = StdListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// `redis-server` on 127.0.0.1 and a free port, without persistence;
/// stopped when dropped.
pub struct Redis {
    child: Option<Child>,
    pub port: u16,
    dir: PathBuf,
}

impl Redis {
    pub fn start() -> Self {
        let port = free_port();
        let dir = std::env::temp_dir().join(format!("wsproto-chat-redis-{port}"));
        std::fs::create_dir_all(&dir).unwrap();
        let mut redis = Self {
            child: None,
            port,
            dir,
        };
        redis.launch();
        redis
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    fn launch(&mut self) {
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &self.port.to_string()])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("redis-server must be installed (apt-get install redis-server)");
        self.child = Some(child);
        for _ in 0..200 {
            if StdStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("redis-server did not listen on port {}", self.port);
    }

    /// Kills it: the instances lose their connections.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port.
    pub fn restart(&mut self) {
        self.stop();
        self.launch();
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A chat instance on a free port, in this process.
pub struct Instance {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<Result<(), String>>,
}

impl Instance {
    pub async fn start(options: chat::Options) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(chat::run(options, listener, async {
            let _ = stopped.await;
        }));
        Self {
            addr,
            stop: Some(stop),
            task,
        }
    }

    /// Shuts it down as Ctrl-C does, and waits until it has.
    pub async fn shutdown(mut self) -> Result<(), String> {
        let _ = self.stop.take().unwrap().send(());
        tokio::time::timeout(PATIENCE, &mut self.task)
            .await
            .expect("shut down in time")
            .unwrap()
    }

    pub fn url(&self, query: &str) -> String {
        format!("ws://{}/ws?{query}", self.addr)
    }
}

pub type Socket = WebSocketStream<MaybeTlsStream>;

/// Connects to `url` with a request `f` adds to.
pub async fn connect(
    url: &str,
    f: impl FnOnce(ClientRequest) -> ClientRequest,
) -> Result<(Socket, wsproto::handshake::Response), ws::Error> {
    let request = f(ClientRequest::from_url(url).unwrap());
    ws::connect_with(request, Config::default()).await
}

/// The status of a refused handshake.
pub fn refused_status(result: Result<(Socket, wsproto::handshake::Response), ws::Error>) -> u16 {
    match result {
        Err(ws::Error::Refused(response)) => response.status(),
        Err(e) => panic!("expected a refusal, got {e}"),
        Ok(_) => panic!("expected a refusal, the connection was accepted"),
    }
}

/// The next JSON text message (skipping pings and pongs).
pub async fn next_json(socket: &mut Socket) -> serde_json::Value {
    loop {
        let message = tokio::time::timeout(PATIENCE, socket.recv())
            .await
            .expect("a message in time")
            .expect("the connection is open");
        match message {
            Message::Text(text) => return serde_json::from_str(&text).expect("JSON"),
            Message::Ping(_) | Message::Pong(_) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
}

/// Reads JSON messages until one of `kind` comes, and returns it.
pub async fn wait_for(socket: &mut Socket, kind: &str) -> serde_json::Value {
    loop {
        let value = next_json(socket).await;
        if value["type"] == kind {
            return value;
        }
    }
}

/// Reads until the server's close frame, and returns its code and reason.
pub async fn close_of(socket: &mut Socket) -> (u16, String) {
    loop {
        match tokio::time::timeout(PATIENCE, socket.recv()).await {
            Ok(Ok(Message::Close(Some(frame)))) => return (frame.code.0, frame.reason.to_string()),
            Ok(Ok(Message::Close(None))) => return (1005, String::new()),
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                let received = socket.connection().received_close().cloned();
                return match received {
                    Some(frame) => (frame.code.0, frame.reason.to_string()),
                    None => panic!("the connection ended without a close frame: {e}"),
                };
            }
            Err(_) => panic!("no close frame in time"),
        }
    }
}
