//! gRPC unary calls over HTTP/2 and mutual TLS (h2 + tokio-rustls): the crate's only network code.
//!
//! Kept to what the RemoteKeystore service needs: one multiplexed connection, reopened after it breaks; unary calls
//! with a deadline (sent as `grpc-timeout` and enforced locally); no compression; replies of at most 4 MiB. The
//! upstream adapter may replace this module with tonic without touching the rest of the crate: its whole surface is
//! `Channel::new`, `Channel::unary` and `Status`.

use std::fmt;
use std::fs::File;
use std::io::BufReader;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use h2::client::SendRequest;
use tokio::net::TcpStream;
use tokio::sync::Mutex;
use tokio_rustls::TlsConnector;

/// Largest reply accepted; a keystore reply is a few hundred bytes, so more is a broken or hostile peer.
const MAX_REPLY_BYTES: usize = 4 << 20;

/// Code: the gRPC status codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Code {
    Ok,
    Cancelled,
    Unknown,
    InvalidArgument,
    DeadlineExceeded,
    NotFound,
    AlreadyExists,
    PermissionDenied,
    ResourceExhausted,
    FailedPrecondition,
    Aborted,
    OutOfRange,
    Unimplemented,
    Internal,
    Unavailable,
    DataLoss,
    Unauthenticated,
}

impl Code {
    /// from_wire: the code a `grpc-status` value names; an unknown number is `Unknown`, as the gRPC spec says.
    pub fn from_wire(value: u32) -> Code {
        const CODES: [Code; 17] = [
            Code::Ok,
            Code::Cancelled,
            Code::Unknown,
            Code::InvalidArgument,
            Code::DeadlineExceeded,
            Code::NotFound,
            Code::AlreadyExists,
            Code::PermissionDenied,
            Code::ResourceExhausted,
            Code::FailedPrecondition,
            Code::Aborted,
            Code::OutOfRange,
            Code::Unimplemented,
            Code::Internal,
            Code::Unavailable,
            Code::DataLoss,
            Code::Unauthenticated,
        ];
        CODES.get(value as usize).copied().unwrap_or(Code::Unknown)
    }
}

/// Status: a failed call's code and message (the server's `grpc-message`, or what went wrong locally).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    pub code: Code,
    pub message: String,
}

impl Status {
    pub fn new(code: Code, message: impl Into<String>) -> Status {
        Status { code, message: message.into() }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {}", self.code, self.message)
    }
}

/// TlsFiles: the PEM files of one mTLS client identity and the CA that signed the server's certificate.
#[derive(Clone, Debug)]
pub struct TlsFiles<'a> {
    pub ca_file: &'a Path,
    pub cert_file: &'a Path,
    pub key_file: &'a Path,
}

/// Channel: one HTTP/2 connection to a gRPC server, shared by concurrent calls and reopened when it breaks.
///
/// Thread safety: `unary` may be called from many tasks at once; it must run on a Tokio runtime with I/O and time
/// enabled (the connection's driver task is spawned on it).
pub struct Channel {
    host: String,
    port: u16,
    authority: String,
    server_name: rustls::ServerName,
    tls: TlsConnector,
    connection: Mutex<Option<SendRequest<Bytes>>>,
}

impl Channel {
    /// new: a channel to `host:port` whose certificate must name the DNS name `server_name`, with the client
    /// identity and CA of `tls`. Connects lazily. Fails with a readable message when a file cannot be read, holds
    /// no usable certificate or key, or `server_name` is not a DNS name (webpki 0.22 cannot check IP addresses).
    pub fn new(host: &str, port: u16, server_name: &str, tls: &TlsFiles<'_>) -> Result<Channel, String> {
        if server_name.parse::<std::net::IpAddr>().is_ok() {
            return Err(format!(
                "TLS server name {server_name:?} is an IP address; name the DNS name in the signer's certificate"
            ));
        }
        let server_name = rustls::ServerName::try_from(server_name)
            .map_err(|_| format!("TLS server name {server_name:?} is not a valid DNS name"))?;
        let config = client_config(tls)?;
        Ok(Channel {
            host: host.to_string(),
            port,
            authority: if host.contains(':') { format!("[{host}]:{port}") } else { format!("{host}:{port}") },
            server_name,
            tls: TlsConnector::from(Arc::new(config)),
            connection: Mutex::new(None),
        })
    }

    /// unary: calls `path` (`/package.Service/Method`) with the encoded message `request`; the encoded reply, or the
    /// call's status. Everything, connecting included, ends within `timeout` (`DeadlineExceeded` otherwise). A
    /// connection or TLS failure is `Unavailable`.
    pub async fn unary(&self, path: &str, request: Vec<u8>, timeout: Duration) -> Result<Bytes, Status> {
        match tokio::time::timeout(timeout, self.call(path, request, timeout)).await {
            Ok(result) => result,
            Err(_) => Err(Status::new(Code::DeadlineExceeded, format!("no answer within {} ms", timeout.as_millis()))),
        }
    }

    async fn call(&self, path: &str, request: Vec<u8>, timeout: Duration) -> Result<Bytes, Status> {
        let mut sender = self.ready_sender().await?;
        let http_request = http::Request::builder()
            .method(http::Method::POST)
            .uri(format!("https://{}{}", self.authority, path))
            .header("content-type", "application/grpc")
            .header("te", "trailers")
            .header("grpc-timeout", grpc_timeout(timeout))
            .body(())
            .map_err(|error| Status::new(Code::Internal, format!("cannot build the request: {error}")))?;
        let (response, mut body) = sender.send_request(http_request, false).map_err(stream_status)?;
        body.send_data(frame(&request), true).map_err(stream_status)?;

        let response = response.await.map_err(stream_status)?;
        let (head, mut reply_body) = response.into_parts();
        if head.status != http::StatusCode::OK {
            return Err(Status::new(http_status_code(head.status), format!("HTTP status {}", head.status)));
        }
        // A trailers-only reply (every error signerd sends) carries grpc-status in the headers.
        if let Some(status) = status_from(&head.headers) {
            return Err(status);
        }
        let mut received = BytesMut::new();
        while let Some(chunk) = reply_body.data().await {
            let chunk = chunk.map_err(stream_status)?;
            let _ = reply_body.flow_control().release_capacity(chunk.len());
            if received.len() + chunk.len() > MAX_REPLY_BYTES + 5 {
                return Err(Status::new(Code::ResourceExhausted, "reply larger than 4 MiB"));
            }
            received.extend_from_slice(&chunk);
        }
        let trailers = reply_body.trailers().await.map_err(stream_status)?;
        let status = trailers
            .as_ref()
            .and_then(status_from)
            .ok_or_else(|| Status::new(Code::Internal, "reply ended without a valid grpc-status"))?;
        if status.code != Code::Ok {
            return Err(status);
        }
        unframe(received.freeze())
    }

    /// ready_sender: a handle on an open connection, opening one when there is none or the last one broke.
    async fn ready_sender(&self) -> Result<SendRequest<Bytes>, Status> {
        let mut connection = self.connection.lock().await;
        if let Some(sender) = connection.as_ref() {
            if let Ok(ready) = sender.clone().ready().await {
                return Ok(ready);
            }
            *connection = None;
        }
        let sender = self.connect().await?;
        *connection = Some(sender.clone());
        sender.ready().await.map_err(|error| Status::new(Code::Unavailable, format!("connection not ready: {error}")))
    }

    async fn connect(&self) -> Result<SendRequest<Bytes>, Status> {
        let unavailable = |what: &str, error: &dyn fmt::Display| {
            Status::new(Code::Unavailable, format!("{what} {}:{}: {error}", self.host, self.port))
        };
        let tcp = TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(|error| unavailable("cannot connect to", &error))?;
        let _ = tcp.set_nodelay(true);
        let tls = self
            .tls
            .connect(self.server_name.clone(), tcp)
            .await
            .map_err(|error| unavailable("TLS handshake failed with", &error))?;
        let (sender, connection) =
            h2::client::handshake(tls).await.map_err(|error| unavailable("HTTP/2 handshake failed with", &error))?;
        // The driver ends when the connection does; the next call then sees a broken sender and reconnects.
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(sender)
    }
}

/// client_config: rustls settings for mTLS with the CA as the only trust root and ALPN `h2`.
fn client_config(tls: &TlsFiles<'_>) -> Result<rustls::ClientConfig, String> {
    let mut roots = rustls::RootCertStore::empty();
    let ca_certs = read_certificates(tls.ca_file)?;
    for certificate in &ca_certs {
        roots
            .add(certificate)
            .map_err(|error| format!("{}: not a usable CA certificate: {error}", tls.ca_file.display()))?;
    }
    let chain = read_certificates(tls.cert_file)?;
    let key = read_private_key(tls.key_file)?;
    let mut config = rustls::ClientConfig::builder()
        .with_safe_defaults()
        .with_root_certificates(roots)
        .with_single_cert(chain, key)
        .map_err(|error| format!("{} and {}: {error}", tls.cert_file.display(), tls.key_file.display()))?;
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(config)
}

fn open_pem(path: &Path) -> Result<BufReader<File>, String> {
    File::open(path).map(BufReader::new).map_err(|error| format!("{}: {error}", path.display()))
}

fn read_certificates(path: &Path) -> Result<Vec<rustls::Certificate>, String> {
    let certificates = rustls_pemfile::certs(&mut open_pem(path)?)
        .map_err(|error| format!("{}: not PEM: {error}", path.display()))?;
    if certificates.is_empty() {
        return Err(format!("{}: no certificate in the file", path.display()));
    }
    Ok(certificates.into_iter().map(rustls::Certificate).collect())
}

fn read_private_key(path: &Path) -> Result<rustls::PrivateKey, String> {
    let mut reader = open_pem(path)?;
    loop {
        match rustls_pemfile::read_one(&mut reader).map_err(|error| format!("{}: not PEM: {error}", path.display()))? {
            Some(rustls_pemfile::Item::PKCS8Key(der))
            | Some(rustls_pemfile::Item::ECKey(der))
            | Some(rustls_pemfile::Item::RSAKey(der)) => return Ok(rustls::PrivateKey(der)),
            Some(_) => continue,
            None => return Err(format!("{}: no private key in the file", path.display())),
        }
    }
}

/// frame: one gRPC length-prefixed message, uncompressed.
fn frame(message: &[u8]) -> Bytes {
    let mut framed = BytesMut::with_capacity(5 + message.len());
    framed.put_u8(0);
    framed.put_u32(message.len() as u32);
    framed.put_slice(message);
    framed.freeze()
}

/// unframe: the one message of a unary reply body.
fn unframe(body: Bytes) -> Result<Bytes, Status> {
    if body.len() < 5 {
        return Err(Status::new(Code::Internal, "reply has no message"));
    }
    if body[0] != 0 {
        return Err(Status::new(Code::Internal, "reply is compressed, which was not asked for"));
    }
    let length = u32::from_be_bytes([body[1], body[2], body[3], body[4]]) as usize;
    if body.len() != 5 + length {
        return Err(Status::new(Code::Internal, "reply is not exactly one message"));
    }
    Ok(body.slice(5..))
}

/// grpc_timeout: the `grpc-timeout` header for `timeout`, in whole milliseconds (at least one).
fn grpc_timeout(timeout: Duration) -> String {
    format!("{}m", timeout.as_millis().clamp(1, 99_999_999))
}

/// status_from: the status that `grpc-status` and `grpc-message` in `headers` give, if `grpc-status` is there.
fn status_from(headers: &http::HeaderMap) -> Option<Status> {
    let code = headers.get("grpc-status")?.to_str().ok()?.parse::<u32>().ok()?;
    let message = headers.get("grpc-message").map(|value| percent_decode(value.as_bytes())).unwrap_or_default();
    Some(Status::new(Code::from_wire(code), message))
}

/// percent_decode: `grpc-message` text, percent-encoded as the gRPC spec says; a bad escape is kept as is.
fn percent_decode(encoded: &[u8]) -> String {
    let hex = |byte: u8| (byte as char).to_digit(16).map(|digit| digit as u8);
    let mut decoded = Vec::with_capacity(encoded.len());
    let mut index = 0;
    while index < encoded.len() {
        if encoded[index] == b'%' && index + 2 < encoded.len() {
            if let (Some(high), Some(low)) = (hex(encoded[index + 1]), hex(encoded[index + 2])) {
                decoded.push(high << 4 | low);
                index += 3;
                continue;
            }
        }
        decoded.push(encoded[index]);
        index += 1;
    }
    String::from_utf8_lossy(&decoded).into_owned()
}

/// http_status_code: the gRPC code for a non-200 HTTP status, as the gRPC HTTP/2 mapping defines it.
fn http_status_code(status: http::StatusCode) -> Code {
    match status.as_u16() {
        400 => Code::Internal,
        401 => Code::Unauthenticated,
        403 => Code::PermissionDenied,
        404 => Code::Unimplemented,
        429 | 502 | 503 | 504 => Code::Unavailable,
        _ => Code::Unknown,
    }
}

/// stream_status: the status for an HTTP/2 failure; a broken connection or a refused stream is `Unavailable`.
fn stream_status(error: h2::Error) -> Status {
    let code = if error.is_io() || error.is_go_away() {
        Code::Unavailable
    } else {
        match error.reason() {
            Some(h2::Reason::REFUSED_STREAM) => Code::Unavailable,
            Some(h2::Reason::CANCEL) => Code::Cancelled,
            Some(h2::Reason::ENHANCE_YOUR_CALM) => Code::ResourceExhausted,
            Some(h2::Reason::INADEQUATE_SECURITY) => Code::PermissionDenied,
            _ => Code::Internal,
        }
    };
    Status::new(code, format!("HTTP/2: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_and_unframe_round_trip() {
        let framed = frame(b"abc");
        assert_eq!(&framed[..], &[0, 0, 0, 0, 3, b'a', b'b', b'c']);
        assert_eq!(&unframe(framed).unwrap()[..], b"abc");
        assert_eq!(&unframe(frame(b"")).unwrap()[..], b"");
    }

    #[test]
    fn unframe_refuses_short_compressed_and_trailing_bodies() {
        assert_eq!(unframe(Bytes::from_static(&[0, 0, 0])).unwrap_err().code, Code::Internal);
        assert_eq!(unframe(Bytes::from_static(&[1, 0, 0, 0, 0])).unwrap_err().code, Code::Internal);
        assert_eq!(unframe(Bytes::from_static(&[0, 0, 0, 0, 1, 7, 7])).unwrap_err().code, Code::Internal);
        assert_eq!(unframe(Bytes::from_static(&[0, 0, 0, 0, 2, 7])).unwrap_err().code, Code::Internal);
    }

    #[test]
    fn percent_decoding_follows_the_grpc_spec() {
        assert_eq!(percent_decode(b"refused: slot%3D9001 %E2%9C%93"), "refused: slot=9001 \u{2713}");
        assert_eq!(percent_decode(b"100%"), "100%");
        assert_eq!(percent_decode(b"%zz%4"), "%zz%4");
    }

    #[test]
    fn status_codes_map_from_the_wire() {
        assert_eq!(Code::from_wire(9), Code::FailedPrecondition);
        assert_eq!(Code::from_wire(14), Code::Unavailable);
        assert_eq!(Code::from_wire(17), Code::Unknown);
        let mut headers = http::HeaderMap::new();
        assert!(status_from(&headers).is_none());
        headers.insert("grpc-status", http::HeaderValue::from_static("9"));
        headers.insert("grpc-message", http::HeaderValue::from_static("refused%3A x"));
        assert_eq!(status_from(&headers), Some(Status::new(Code::FailedPrecondition, "refused: x")));
    }

    #[test]
    fn timeouts_are_whole_milliseconds() {
        assert_eq!(grpc_timeout(Duration::from_millis(1500)), "1500m");
        assert_eq!(grpc_timeout(Duration::from_micros(10)), "1m");
    }

    #[test]
    fn an_ip_address_is_refused_as_tls_server_name() {
        let missing = Path::new("missing.pem");
        let files = TlsFiles { ca_file: missing, cert_file: missing, key_file: missing };
        let error = Channel::new("127.0.0.1", 1, "127.0.0.1", &files).err().unwrap();
        assert!(error.contains("IP address"), "{error}");
        let error = Channel::new("127.0.0.1", 1, "localhost", &files).err().unwrap();
        assert!(error.contains("missing.pem"), "{error}");
    }
}
