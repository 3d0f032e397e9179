//! Small real servers the tests point tack at: an HTTP endpoint that records webhook
//! deliveries (and can fail or hang on demand) and an SMTP sink that records mail.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    /// Header names in lower case.
    pub headers: HashMap<String, String>,
    pub body: String,
}

/// How the endpoint answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Ok = 0,
    Fail = 1,
    /// Reads the request, then never answers.
    Hang = 2,
}

pub struct HookReceiver {
    pub addr: String,
    received: Arc<Mutex<Vec<Received>>>,
    answer: Arc<AtomicU8>,
}

impl HookReceiver {
    pub fn start() -> HookReceiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let received = Arc::new(Mutex::new(Vec::new()));
        let answer = Arc::new(AtomicU8::new(Answer::Ok as u8));
        let (r, a) = (received.clone(), answer.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().map_while(Result::ok) {
                let (r, a) = (r.clone(), a.clone());
                std::thread::spawn(move || serve_http(stream, &r, &a));
            }
        });
        HookReceiver {
            addr,
            received,
            answer,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    pub fn answer(&self, answer: Answer) {
        self.answer.store(answer as u8, Ordering::SeqCst);
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// Waits until at least `n` requests arrived; returns them.
    pub fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Received> {
        let deadline = Instant::now() + timeout;
        loop {
            let got = self.received();
            if got.len() >= n {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "expected {n} webhook requests, got {}: {got:#?}",
                got.len()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn serve_http(stream: TcpStream, received: &Mutex<Vec<Received>>, answer: &AtomicU8) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let path = request_line
            .split_whitespace()
            .nth(1)
            .unwrap_or("")
            .to_string();
        let mut headers = HashMap::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_string());
            }
        }
        let length: usize = headers
            .get("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0u8; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        received.lock().unwrap().push(Received {
            path,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        });
        let reply: &[u8] = match answer.load(Ordering::SeqCst) {
            0 => b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok",
            1 => b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 4\r\n\r\nfail",
            _ => {
                std::thread::sleep(Duration::from_secs(600));
                return;
            }
        };
        if writer.write_all(reply).is_err() {
            return;
        }
    }
}

/// One message the SMTP sink accepted.
#[derive(Debug, Clone)]
pub struct Mail {
    pub from: String,
    pub to: Vec<String>,
    pub data: String,
    /// Whether the session that carried it was encrypted.
    pub encrypted: bool,
}

/// How a sink speaks TLS: not at all, when asked (STARTTLS), or from the first byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    None,
    StartTls,
    Implicit,
}

/// An SMTP server on loopback that accepts (or, on demand, refuses) every message.
pub struct SmtpSink {
    pub port: u16,
    mails: Arc<Mutex<Vec<Mail>>>,
    refuse: Arc<AtomicU8>,
    tls: SmtpTls,
    /// The CA that signed the sink's certificate, as a PEM file a client may trust.
    ca: Option<tempfile::NamedTempFile>,
}

/// A CA and a certificate for 127.0.0.1 signed by it: the CA's PEM, and a server config.
fn test_certificates() -> (String, Arc<rustls::ServerConfig>) {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair, KeyUsagePurpose};
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "tack test CA");
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_key = KeyPair::generate().unwrap();
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let mut leaf_params = CertificateParams::new(vec!["127.0.0.1".to_string()]).unwrap();
    leaf_params.use_authority_key_identifier_extension = true;
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = leaf_params.signed_by(&leaf_key, &issuer).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![leaf.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(leaf_key.serialize_der().into()),
        )
        .unwrap();
    (ca.pem(), Arc::new(config))
}

impl SmtpSink {
    pub fn start() -> SmtpSink {
        Self::start_with(SmtpTls::None)
    }

    /// A sink that speaks TLS as `tls` says, with a certificate from a CA of its own.
    pub fn start_with(tls: SmtpTls) -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let mails = Arc::new(Mutex::new(Vec::new()));
        let refuse = Arc::new(AtomicU8::new(0));
        let (ca, server_config) = match tls {
            SmtpTls::None => (None, None),
            SmtpTls::StartTls | SmtpTls::Implicit => {
                let (pem, config) = test_certificates();
                let mut file = tempfile::NamedTempFile::new().unwrap();
                file.write_all(pem.as_bytes()).unwrap();
                (Some(file), Some(config))
            }
        };
        let (m, r) = (mails.clone(), refuse.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().map_while(Result::ok) {
                let (m, r, config) = (m.clone(), r.clone(), server_config.clone());
                std::thread::spawn(move || {
                    let session = Session {
                        mails: &m,
                        refuse: &r,
                    };
                    match (tls, config) {
                        (SmtpTls::Implicit, Some(config)) => {
                            let Ok(conn) = rustls::ServerConnection::new(config) else {
                                return;
                            };
                            let stream = rustls::StreamOwned::new(conn, stream);
                            session.serve(Box::new(stream), None, true, true)
                        }
                        (SmtpTls::StartTls, config) => {
                            session.serve(Box::new(stream), config, false, true)
                        }
                        _ => session.serve(Box::new(stream), None, false, true),
                    }
                });
            }
        });
        SmtpSink {
            port,
            mails,
            refuse,
            tls,
            ca,
        }
    }

    /// While set, every recipient is refused with a permanent error.
    pub fn refuse(&self, refuse: bool) {
        self.refuse.store(u8::from(refuse), Ordering::SeqCst);
    }

    pub fn mails(&self) -> Vec<Mail> {
        self.mails.lock().unwrap().clone()
    }

    pub fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Mail> {
        let deadline = Instant::now() + timeout;
        loop {
            let got = self.mails();
            if got.len() >= n {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "expected {n} mails, got {}: {got:#?}",
                got.len()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `[smtp]` configuration pointing at this sink (trusting its CA when it speaks TLS).
    pub fn config(&self) -> String {
        let tls = match self.tls {
            SmtpTls::None => "none",
            SmtpTls::StartTls => "starttls",
            SmtpTls::Implicit => "tls",
        };
        let ca = self
            .ca
            .as_ref()
            .map(|f| format!("ca_file = \"{}\"\n", f.path().display()))
            .unwrap_or_default();
        format!(
            "[smtp]\nhost = \"127.0.0.1\"\nport = {}\ntls = \"{tls}\"\nfrom = \"tack <tack@example.com>\"\ntimeout_secs = 5\n{ca}",
            self.port
        )
    }
}

/// A byte stream both ways: a socket, or TLS over one.
trait Duplex: Read + Write {}
impl<T: Read + Write> Duplex for T {}

/// One SMTP conversation, over any stream.
struct Session<'a> {
    mails: &'a Mutex<Vec<Mail>>,
    refuse: &'a AtomicU8,
}

impl Session<'_> {
    /// Speaks SMTP on `stream`; `starttls` offers the upgrade (and continues encrypted).
    fn serve(
        &self,
        stream: Box<dyn Duplex>,
        starttls: Option<Arc<rustls::ServerConfig>>,
        encrypted: bool,
        greet: bool,
    ) {
        let mut reader = BufReader::new(stream);
        let say = |reader: &mut BufReader<Box<dyn Duplex>>, line: &str| {
            reader
                .get_mut()
                .write_all(format!("{line}\r\n").as_bytes())
                .and_then(|()| reader.get_mut().flush())
        };
        if greet && say(&mut reader, "220 sink ESMTP").is_err() {
            return;
        }
        let (mut from, mut to) = (String::new(), Vec::new());
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let command = line.trim_end().to_string();
            let upper = command.to_ascii_uppercase();
            let reply = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
                if starttls.is_some() {
                    "250-sink\r\n250 STARTTLS".to_string()
                } else {
                    "250 sink".to_string()
                }
            } else if upper == "STARTTLS" {
                let Some(config) = starttls else {
                    if say(&mut reader, "502 not offered").is_err() {
                        return;
                    }
                    continue;
                };
                if say(&mut reader, "220 go ahead").is_err() {
                    return;
                }
                let Ok(conn) = rustls::ServerConnection::new(config) else {
                    return;
                };
                let stream = rustls::StreamOwned::new(conn, reader.into_inner());
                return self.serve(Box::new(stream), None, true, false);
            } else if upper.starts_with("MAIL FROM:") {
                from = command[10..].trim().to_string();
                to.clear();
                "250 OK".into()
            } else if upper.starts_with("RCPT TO:") {
                if self.refuse.load(Ordering::SeqCst) == 1 {
                    "550 no such mailbox here".into()
                } else {
                    to.push(command[8..].trim().to_string());
                    "250 OK".into()
                }
            } else if upper == "DATA" {
                if say(&mut reader, "354 go ahead").is_err() {
                    return;
                }
                let mut data = String::new();
                loop {
                    let mut l = String::new();
                    if reader.read_line(&mut l).unwrap_or(0) == 0 {
                        return;
                    }
                    if l == ".\r\n" || l == ".\n" {
                        break;
                    }
                    data.push_str(&l);
                }
                self.mails.lock().unwrap().push(Mail {
                    from: from.clone(),
                    to: to.clone(),
                    data,
                    encrypted,
                });
                "250 queued".into()
            } else if upper == "QUIT" {
                let _ = say(&mut reader, "221 bye");
                return;
            } else {
                "250 OK".into()
            };
            if say(&mut reader, &reply).is_err() {
                return;
            }
        }
    }
}

/// Fetches `http://ADDR/PATH` with a plain HTTP/1.1 GET: (status, body).
pub fn http_get(addr: &str, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    let _ = stream.read_to_string(&mut text);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}
