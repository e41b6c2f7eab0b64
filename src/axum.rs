//! An axum extractor for WebSockets (feature `axum`), with
//! permessage-deflate (RFC 7692) negotiated by default, over HTTP/1.1 and
//! HTTP/2 extended CONNECT (RFC 8441).
//!
//! [`WebSocketUpgrade`] has the shape of axum's own
//! `axum::extract::ws::WebSocketUpgrade`: extract it, choose with
//! [`protocols`](WebSocketUpgrade::protocols), then return
//! [`on_upgrade`](WebSocketUpgrade::on_upgrade)'s response. The callback gets
//! the tokio adapter's [`WebSocketStream`](crate::tokio::WebSocketStream).
//! It accepts `GET` (HTTP/1.1) and `CONNECT` (HTTP/2), so route it with
//! `any(handler)`; for HTTP/2, serve with extended CONNECT enabled
//! (`axum::serve` does not: use hyper's `http2::Builder::enable_connect_protocol()`,
//! as the `axum_echo` example does).
//!
//! ```
//! use axum::{response::Response, routing::any, Router};
//! use wsproto::axum::WebSocketUpgrade;
//!
//! async fn handler(ws: WebSocketUpgrade) -> Response {
//!     ws.protocols(["chat"]).on_upgrade(|mut ws| async move {
//!         while let Ok(message) = ws.recv().await {
//!             if ws.send(message).await.is_err() {
//!                 break;
//!             }
//!         }
//!     })
//! }
//!
//! let app: Router = Router::new().route("/ws", any(handler));
//! ```

use std::future::Future;

use axum_core::body::Body;
use axum_core::extract::FromRequestParts;
use axum_core::response::{IntoResponse, Response};
use http::request::Parts;

use crate::config::Config;
use crate::handshake::{Accept, DeflateAnswer};
use crate::http::{Opening, ServerRequest};
use crate::hyper::{Error, Rejection, ServerUpgrade, WebSocket};

/// The extractor: a request to open a WebSocket that passed the checks of
/// RFC 6455 §4.2.1 (HTTP/1.1 `GET`) or RFC 8441 §4–5 (HTTP/2 `CONNECT`).
///
/// Rejected requests get [`WebSocketUpgradeRejection`]'s response: the
/// status of [`RequestError::status`](crate::handshake::RequestError::status)
/// (400, 405, 426 naming version 13, 501), with the reason as text.
#[must_use]
#[derive(Debug)]
pub struct WebSocketUpgrade<F = DefaultOnFailedUpgrade> {
    upgrade: ServerUpgrade,
    config: Config,
    protocol: Option<String>,
    deflate: DeflateAnswer,
    on_failed_upgrade: F,
}

impl<F> WebSocketUpgrade<F> {
    /// The connection's [`Config`]: limits, permessage-deflate parameters
    /// ([`Config::deflate`]), keepalive and close timers. The default
    /// negotiates permessage-deflate when the client offers it.
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// The largest message accepted, after decompression
    /// ([`Config::max_message_size`]).
    pub fn max_message_size(mut self, bytes: usize) -> Self {
        self.config = self.config.max_message_size(bytes);
        self
    }

    /// The largest frame accepted ([`Config::max_frame_size`]).
    pub fn max_frame_size(mut self, bytes: usize) -> Self {
        self.config = self.config.max_frame_size(bytes);
        self
    }

    /// Declines permessage-deflate whatever the client offers.
    pub fn without_compression(mut self) -> Self {
        self.deflate = DeflateAnswer::Decline;
        self
    }

    /// The subprotocols this server speaks, most preferred first: the
    /// first that the client offered is selected (RFC 6455 §4.2.2, item 4);
    /// none, if the client offered none of them.
    pub fn protocols<I>(mut self, protocols: I) -> Self
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        let offers = self.upgrade.request().offers();
        self.protocol = protocols
            .into_iter()
            .find(|p| offers.subprotocols().any(|o| o == p.as_ref()))
            .map(|p| p.as_ref().to_owned());
        self
    }

    /// The subprotocols the client offered, in its order of preference.
    pub fn requested_protocols(&self) -> impl Iterator<Item = &str> + '_ {
        self.upgrade.request().subprotocols()
    }

    /// Selects a subprotocol; it must be one the client offered, or the
    /// upgrade fails with 500 (RFC 6455 §4.2.2, item 4).
    pub fn set_selected_protocol(&mut self, protocol: &str) {
        self.protocol = Some(protocol.to_owned());
    }

    /// The subprotocol selected, if any.
    pub fn selected_protocol(&self) -> Option<&str> {
        self.protocol.as_deref()
    }

    /// How the WebSocket is being opened: an HTTP/1.1 upgrade or an
    /// HTTP/2 extended CONNECT.
    pub fn opening(&self) -> Opening {
        self.upgrade.opening()
    }

    /// The checked request: path, Origin, offers.
    pub fn request(&self) -> &ServerRequest {
        self.upgrade.request()
    }

    /// What to do when the upgrade fails after the response was sent (the
    /// client went away, or hyper could not hand the stream over); by
    /// default, nothing.
    pub fn on_failed_upgrade<C: OnFailedUpgrade>(self, callback: C) -> WebSocketUpgrade<C> {
        WebSocketUpgrade {
            upgrade: self.upgrade,
            config: self.config,
            protocol: self.protocol,
            deflate: self.deflate,
            on_failed_upgrade: callback,
        }
    }

    /// Accepts: returns the response (101, or 200 over HTTP/2) with the
    /// negotiated subprotocol and extensions, and spawns a task that calls
    /// `callback` with the WebSocket once hyper has handed over the stream.
    #[must_use = "to set up the WebSocket connection, this response must be returned"]
    pub fn on_upgrade<C, Fut>(self, callback: C) -> Response
    where
        C: FnOnce(WebSocket) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
        F: OnFailedUpgrade,
    {
        let mut accept = Accept::new().deflate(self.deflate);
        if let Some(protocol) = &self.protocol {
            match accept.subprotocol(protocol) {
                Ok(a) => accept = a,
                Err(e) => return server_error(&e),
            }
        }
        let (response, fut) = match self.upgrade.accept(&accept, self.config) {
            Ok(accepted) => accepted,
            Err(e) => return server_error(&e),
        };
        let on_failed_upgrade = self.on_failed_upgrade;
        tokio::spawn(async move {
            match fut.await {
                Ok(ws) => callback(ws).await,
                Err(e) => on_failed_upgrade.call(e),
            }
        });
        response.map(Body::new)
    }
}

/// A 500 for an answer the server could not build.
fn server_error(error: &dyn std::fmt::Display) -> Response {
    let mut response = Response::new(Body::from(format!("{error}\n")));
    *response.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
    response
}

impl<S: Send + Sync> FromRequestParts<S> for WebSocketUpgrade<DefaultOnFailedUpgrade> {
    type Rejection = WebSocketUpgradeRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let upgrade = ServerUpgrade::from_parts(parts).map_err(WebSocketUpgradeRejection)?;
        Ok(Self {
            upgrade,
            config: Config::default(),
            protocol: None,
            deflate: DeflateAnswer::Negotiate,
            on_failed_upgrade: DefaultOnFailedUpgrade,
        })
    }
}

/// Why a request could not be extracted as a [`WebSocketUpgrade`]; its
/// response says so with the right status.
#[derive(Debug)]
pub struct WebSocketUpgradeRejection(pub Rejection);

impl std::fmt::Display for WebSocketUpgradeRejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for WebSocketUpgradeRejection {}

impl IntoResponse for WebSocketUpgradeRejection {
    fn into_response(self) -> Response {
        self.0.into_response().map(Body::new)
    }
}

/// What [`WebSocketUpgrade::on_failed_upgrade`] calls.
pub trait OnFailedUpgrade: Send + 'static {
    /// Called with the reason the upgrade failed.
    fn call(self, error: Error);
}

impl<F: FnOnce(Error) + Send + 'static> OnFailedUpgrade for F {
    fn call(self, error: Error) {
        self(error)
    }
}

/// The default [`OnFailedUpgrade`]: does nothing.
#[derive(Debug, Clone, Copy, Default)]
#[non_exhaustive]
pub struct DefaultOnFailedUpgrade;

impl OnFailedUpgrade for DefaultOnFailedUpgrade {
    fn call(self, _error: Error) {}
}
