//! Owned halves used from two tasks at once: a reader parked in `recv`
//! never delays a writer, and a writer blocked on a full socket never
//! delays the reader. Both roles; over `TcpStream::into_split` (no lock on
//! the transport) and over `tokio::io::split`.

#![cfg(feature = "tokio")]

mod tokio_support;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_support::{bounded, client_frame};
use wsproto::tokio::{Error, WebSocketStream};
use wsproto::Message;
use wsproto::{CloseCode, Config, Role};

/// Our end (`role`, over `into_split`) and a raw TCP peer that the test
/// drives byte by byte.
async fn raw_pair(role: Role) -> (WebSocketStream<TcpStream>, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (ours, theirs) = tokio::join!(TcpStream::connect(addr), listener.accept());
    let ours = ours.unwrap();
    ours.set_nodelay(true).unwrap();
    let theirs = theirs.unwrap().0;
    theirs.set_nodelay(true).unwrap();
    (
        WebSocketStream::from_raw(ours, role, Config::default()),
        theirs,
    )
}

/// A text frame as the peer of `role` sends it.
fn peer_frame(role: Role, text: &str) -> Vec<u8> {
    match role {
        // Our end is the server: the peer is a client, and masks.
        Role::Server => client_frame(1, text.as_bytes()),
        Role::Client => {
            let mut f = vec![0x81, text.len() as u8];
            f.extend_from_slice(text.as_bytes());
            f
        }
    }
}

/// Reads `count` frames of our end's `role` from the raw peer; returns
/// their payloads.
async fn read_frames(
    peer: &mut (impl AsyncReadExt + Unpin),
    role: Role,
    count: usize,
) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for _ in 0..count {
        let mut head = [0u8; 2];
        peer.read_exact(&mut head).await.unwrap();
        let mut len = (head[1] & 0x7f) as u64;
        if len == 126 {
            len = peer.read_u16().await.unwrap() as u64;
        } else if len == 127 {
            len = peer.read_u64().await.unwrap();
        }
        let mut mask = [0u8; 4];
        if role == Role::Client {
            peer.read_exact(&mut mask).await.unwrap();
        }
        let mut payload = vec![0u8; len as usize];
        peer.read_exact(&mut payload).await.unwrap();
        for (i, b) in payload.iter_mut().enumerate() {
            *b ^= mask[i % 4];
        }
        out.push(payload);
    }
    out
}

async fn parked_reader_never_delays_the_writer(role: Role) {
    bounded(async {
        let (ws, mut peer) = raw_pair(role).await;
        let (mut reader, mut writer) = ws.into_split();
        // The reader parks: the peer sends nothing yet.
        let reading = tokio::spawn(async move {
            let got = reader.recv().await;
            (got, reader)
        });
        tokio::task::yield_now().await;
        let writing = tokio::spawn(async move {
            for i in 0..100 {
                writer.send_text(format!("m{i}")).await.unwrap();
            }
            writer
        });
        let frames = read_frames(&mut peer, role, 100).await;
        assert_eq!(frames[99], b"m99");
        let writer = writing.await.unwrap();
        // All of it went out while the reader was parked.
        assert!(!reading.is_finished());
        peer.write_all(&peer_frame(role, "late")).await.unwrap();
        let (got, _reader) = reading.await.unwrap();
        assert_eq!(got.unwrap(), Message::Text("late".into()));
        drop(writer);
    })
    .await;
}

#[tokio::test]
async fn server_reader_parked_in_recv_never_delays_the_writer() {
    parked_reader_never_delays_the_writer(Role::Server).await;
}

#[tokio::test]
async fn client_reader_parked_in_recv_never_delays_the_writer() {
    parked_reader_never_delays_the_writer(Role::Client).await;
}

async fn blocked_writer_never_delays_the_reader(role: Role) {
    bounded(async {
        let (ws, mut peer) = raw_pair(role).await;
        let (mut reader, mut writer) = ws.into_split();
        writer.set_high_water_mark(1 << 20);
        // The peer does not read: the writer soon waits for a full socket.
        let writing = tokio::spawn(async move {
            let big = wsproto::Bytes::from(vec![1u8; 1 << 20]);
            for _ in 0..64 {
                writer.send_binary(big.clone()).await?;
            }
            Ok::<_, Error>(writer)
        });
        // Meanwhile the peer sends, and the reader gets every message.
        for i in 0..50 {
            peer.write_all(&peer_frame(role, &format!("r{i}")))
                .await
                .unwrap();
            assert_eq!(
                reader.recv().await.unwrap(),
                Message::Text(format!("r{i}").into())
            );
        }
        assert!(!writing.is_finished(), "the writer should still be blocked");
        assert!(reader.buffered_amount() > 0);
        writing.abort();
    })
    .await;
}

#[tokio::test]
async fn server_writer_blocked_on_a_full_socket_never_delays_the_reader() {
    blocked_writer_never_delays_the_reader(Role::Server).await;
}

#[tokio::test]
async fn client_writer_blocked_on_a_full_socket_never_delays_the_reader() {
    blocked_writer_never_delays_the_reader(Role::Client).await;
}

/// Halves over `tokio::io::split` of any stream: an echo between two
/// tasks, a reader task feeding a writer task, then a clean close.
#[tokio::test]
async fn halves_over_any_stream_echo_between_two_tasks() {
    echo_between_two_tasks().await;
}

/// The same on two worker threads: the halves really run at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn halves_echo_between_two_tasks_on_two_threads() {
    for _ in 0..20 {
        echo_between_two_tasks().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_writer_blocked_never_delays_the_reader_on_two_threads() {
    blocked_writer_never_delays_the_reader(Role::Server).await;
}

async fn echo_between_two_tasks() {
    bounded(async {
        let (a, b) = tokio::io::duplex(4096);
        let server = WebSocketStream::from_raw(a, Role::Server, Config::default());
        let mut client = WebSocketStream::from_raw(b, Role::Client, Config::default());
        let (mut reader, mut writer) = server.split();
        let (tx, mut rx) = tokio::sync::mpsc::channel(4);
        let read_task = tokio::spawn(async move {
            loop {
                match reader.recv().await {
                    Ok(Message::Text(t)) => tx.send(t).await.unwrap(),
                    Ok(_) => {}
                    Err(Error::Closed) => return,
                    Err(e) => panic!("{e}"),
                }
            }
        });
        let write_task = tokio::spawn(async move {
            while let Some(text) = rx.recv().await {
                writer.send_text(text).await.unwrap();
            }
        });
        // Ten at a time: every buffer on the way is bounded, so a client
        // that sent everything before reading would (rightly) stall.
        for batch in 0..20 {
            for i in batch * 10..batch * 10 + 10 {
                client
                    .send_text(format!("hello {i} {}", "x".repeat(i * 10)))
                    .await
                    .unwrap();
            }
            for i in batch * 10..batch * 10 + 10 {
                match client.recv().await.unwrap() {
                    Message::Text(t) => assert!(t.starts_with(&format!("hello {i} "))),
                    other => panic!("{other:?}"),
                }
            }
        }
        client.close(CloseCode::NORMAL, "").await.unwrap();
        assert!(matches!(client.recv().await.unwrap(), Message::Close(_)));
        assert!(matches!(client.recv().await, Err(Error::Closed)));
        read_task.await.unwrap();
        write_task.await.unwrap();
    })
    .await;
}

/// What `connect` returns splits without a lock too; the halves end
/// together after the close.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connected_client_splits_into_lock_free_halves() {
    bounded(async {
        let (listener, url) = tokio_support::listener().await;
        let server = tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            stream.set_nodelay(true).unwrap();
            let mut ws = wsproto::tokio::accept(stream).await.unwrap();
            loop {
                match ws.recv().await {
                    Ok(Message::Text(t)) => ws.send_text(t).await.unwrap(),
                    Ok(_) => {}
                    Err(Error::Closed) => return,
                    Err(e) => panic!("{e}"),
                }
            }
        });
        let (ws, _) = wsproto::tokio::connect(&url).await.unwrap();
        let (mut reader, mut writer) = ws.into_split();
        let reading = tokio::spawn(async move {
            let mut got = Vec::new();
            loop {
                match reader.recv().await {
                    Ok(Message::Text(t)) => got.push(t.to_string()),
                    Ok(Message::Close(_)) => {}
                    Ok(other) => panic!("{other:?}"),
                    Err(Error::Closed) => return got,
                    Err(e) => panic!("{e}"),
                }
            }
        });
        for i in 0..100 {
            writer.send_text(format!("{i}")).await.unwrap();
        }
        // The server echoes every message before it answers the close, and
        // the reader still gets messages after this end's close.
        writer.close(CloseCode::NORMAL, "").await.unwrap();
        let got = reading.await.unwrap();
        assert_eq!(got, (0..100).map(|i| i.to_string()).collect::<Vec<_>>());
        server.await.unwrap();
    })
    .await;
}
