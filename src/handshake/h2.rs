//! The extended CONNECT rules of RFC 8441 (WebSockets over HTTP/2).
