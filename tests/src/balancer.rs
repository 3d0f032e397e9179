//! A real HAProxy in TCP mode in front of several `tack serve` nodes, sending each connection's
//! client address with the PROXY protocol (v2), as a production balancer would.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const INSTALL: &str = "HAProxy is not installed: the cluster tests start their own balancer. \
                       Install it with `apt-get install -y haproxy`";

pub struct Balancer {
    child: Child,
    /// Where people connect with ssh, through the balancer.
    pub ssh: String,
    /// The protocol socket, through the balancer.
    pub api: String,
    _dir: tempfile::TempDir,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .unwrap_or_else(|err| panic!("no free port for the balancer: {err}"))
}

fn haproxy() -> PathBuf {
    [
        "/usr/sbin/haproxy",
        "/usr/bin/haproxy",
        "/usr/local/sbin/haproxy",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|path| path.exists())
    .unwrap_or_else(|| panic!("{INSTALL}"))
}

impl Balancer {
    /// Balances round-robin over the nodes' SSH and protocol addresses.
    pub fn start(ssh_nodes: &[&str], api_nodes: &[&str]) -> Balancer {
        let dir = tempfile::tempdir().unwrap();
        let (ssh_port, api_port) = (free_port(), free_port());
        let backend = |name: &str, nodes: &[&str]| {
            let servers: String = nodes
                .iter()
                .enumerate()
                .map(|(n, addr)| {
                    format!(
                        "    server n{} {addr} send-proxy-v2 check inter 200ms\n",
                        n + 1
                    )
                })
                .collect();
            format!("backend {name}\n    balance roundrobin\n{servers}")
        };
        let config = format!(
            "global\n    maxconn 4000\n\
             defaults\n    mode tcp\n    timeout connect 2s\n    timeout client 1h\n    timeout server 1h\n\
             frontend ssh\n    bind 127.0.0.1:{ssh_port}\n    default_backend ssh_nodes\n\
             frontend api\n    bind 127.0.0.1:{api_port}\n    default_backend api_nodes\n\
             {}{}",
            backend("ssh_nodes", ssh_nodes),
            backend("api_nodes", api_nodes)
        );
        let file = dir.path().join("haproxy.cfg");
        std::fs::write(&file, config).unwrap();
        let child = Command::new(haproxy())
            .arg("-db")
            .arg("-f")
            .arg(&file)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|err| panic!("cannot start haproxy ({err}); {INSTALL}"));
        let balancer = Balancer {
            child,
            ssh: format!("127.0.0.1:{ssh_port}"),
            api: format!("127.0.0.1:{api_port}"),
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(&balancer.ssh).is_err() {
            assert!(Instant::now() < deadline, "haproxy did not start listening");
            std::thread::sleep(Duration::from_millis(20));
        }
        balancer
    }
}

impl Drop for Balancer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
