//! The defences around the holes: token refusals that reveal nothing, two-factor guessing
//! from many addresses, admin tokens under `require_totp_for_admins`, backups that stay in
//! their directory, webhooks that neither proxies nor odd address ranges carry past the SSRF
//! guard, and the `TACK_*` environment taking effect.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use tack_protocol::{ApiError, Client, ClientError, Credentials, Request};
use tack_tests::{TestServer, ssh, stderr, wait_until};

const BIN: &str = env!("CARGO_BIN_EXE_tack-e2e");

async fn refusal(server: &TestServer, token: &str) -> (String, Duration) {
    let started = Instant::now();
    let result = Client::connect_tcp(&server.api, Credentials::Token(token.into())).await;
    let took = started.elapsed();
    match result {
        Err(ClientError::Refused(ApiError::Unauthenticated { message })) => (message, took),
        Err(other) => panic!("{token}: {other:?}"),
        Ok(_) => panic!("{token} was accepted"),
    }
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

#[tokio::test]
async fn a_refused_token_says_nothing_about_why_by_message_or_by_time() {
    let server = TestServer::start(BIN);
    server.ok(&["user", "create", "alice"]);
    let token = server.token_for("alice");
    let revoked = server.token_for("alice");
    server.ok(&["token", "revoke", revoked.split('_').nth(1).unwrap()]);
    let (id, secret) = token.trim_start_matches("tack_").split_once('_').unwrap();
    let flip = |s: &str| -> String {
        s.chars()
            .map(|c| if c == '0' { '1' } else { '0' })
            .collect()
    };
    let unknown_id = format!("tack_{}_{secret}", flip(id));
    let wrong_secret = format!("tack_{id}_{}", flip(secret));

    let (unknown_message, _) = refusal(&server, &unknown_id).await;
    let (wrong_message, _) = refusal(&server, &wrong_secret).await;
    let (revoked_message, _) = refusal(&server, &revoked).await;
    assert_eq!(unknown_message, wrong_message);
    assert_eq!(
        revoked_message, wrong_message,
        "a revoked token's name is not shown"
    );

    let (mut unknown, mut wrong) = (Vec::new(), Vec::new());
    for _ in 0..7 {
        unknown.push(refusal(&server, &unknown_id).await.1);
        wrong.push(refusal(&server, &wrong_secret).await.1);
    }
    let (unknown, wrong) = (median(unknown), median(wrong));
    // Without the dummy verification an unknown id answers in a sixth of the time.
    assert!(
        unknown * 2 >= wrong,
        "an unknown id answers in {unknown:?}, a wrong secret in {wrong:?}"
    );
}

fn code_at(secret: &str, offset_steps: i64) -> String {
    tack_tests::totp_code(secret, offset_steps)
}

#[tokio::test]
async fn two_factor_guesses_from_many_addresses_lock_the_account_until_an_admin_lifts_it() {
    let server = TestServer::start(BIN);
    let key = ssh::new_key();
    server.ok(&["user", "create", "alice"]);
    server.ok(&["key", "add", &ssh::authorized_line(&key), "--user", "alice"]);
    let alice = server.with_token(&server.token_for("alice")).await;
    let secret = tack_tests::enable_totp(&alice).await;
    let wrong = if code_at(&secret, 1) == "000000" {
        "111111"
    } else {
        "000000"
    };
    // A stolen key, and a new address for every guess: per-address penalties never add up.
    for n in 0..5u8 {
        let source = std::net::Ipv4Addr::new(127, 0, 1, n + 1);
        let mut guess = ssh::connect_from(&server.ssh, source).await;
        assert!(!ssh::login_with_code(&mut guess, &key, wrong).await);
    }
    let source = std::net::Ipv4Addr::new(127, 0, 2, 1);
    let mut owner = ssh::connect_from(&server.ssh, source).await;
    assert!(
        !ssh::login_with_code(&mut owner, &key, &code_at(&secret, 1)).await,
        "a locked account refuses even the right code"
    );
    server.ok(&["user", "unlock", "alice"]);
    let mut owner = ssh::connect_from(&server.ssh, source).await;
    assert!(ssh::login_with_code(&mut owner, &key, &code_at(&secret, 1)).await);
}

#[tokio::test]
async fn under_require_totp_for_admins_an_admin_token_holds_no_admin_rights() {
    let server = TestServer::start_with_config(BIN, "[security]\nrequire_totp_for_admins = true\n");
    server.ok(&["user", "create", "root", "--admin"]);
    server.ok(&["user", "create", "alice"]);
    let root = server.with_token(&server.token_for("root")).await;
    let minted = root
        .request(Request::CreateInvite {
            role: tack_protocol::ServerRole::Admin,
            expires_in_secs: 3600,
        })
        .await;
    assert!(
        matches!(minted, Err(ClientError::Api(ApiError::Forbidden { .. }))),
        "{minted:?}"
    );
    let for_alice = root
        .request(Request::CreateToken {
            user: Some("alice".into()),
            name: "stolen".into(),
        })
        .await;
    assert!(
        matches!(for_alice, Err(ClientError::Api(ApiError::Forbidden { .. }))),
        "{for_alice:?}"
    );
    // Their own work as a person goes on.
    assert!(
        root.request(Request::ListProjects {
            include_archived: false
        })
        .await
        .is_ok()
    );
    // Without the rule, the same token is an admin's.
    let open = TestServer::start(BIN);
    open.ok(&["user", "create", "root", "--admin"]);
    let root = open.with_token(&open.token_for("root")).await;
    assert!(
        root.request(Request::CreateInvite {
            role: tack_protocol::ServerRole::User,
            expires_in_secs: 3600,
        })
        .await
        .is_ok()
    );
}

#[tokio::test]
async fn backups_asked_for_over_the_network_stay_in_the_backup_directory() {
    let server = TestServer::start(BIN);
    server.ok(&["user", "create", "root", "--admin"]);
    let root = server.with_token(&server.token_for("root")).await;
    let outside = server.data.parent().unwrap().join("outside.tack");
    for path in [
        outside.display().to_string(),
        "../outside.tack".into(),
        ".hidden".into(),
    ] {
        let refused = root.request(Request::Backup { path: path.clone() }).await;
        assert!(
            matches!(refused, Err(ClientError::Api(ApiError::Invalid { .. }))),
            "{path}: {refused:?}"
        );
    }
    assert!(!outside.exists());
    let probe = root
        .request(Request::VerifyBackup {
            name: "/etc/passwd".into(),
        })
        .await;
    assert!(
        matches!(&probe, Err(ClientError::Api(ApiError::Invalid { reason, .. })) if reason.contains("backup directory")),
        "{probe:?}"
    );
    root.request(Request::Backup {
        path: "named.tack".into(),
    })
    .await
    .unwrap();
    let named = server.data.join("backups/named.tack");
    let mode = std::fs::metadata(&named).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "a backup holds secrets");
    // The console is the server's own user: it may write anywhere.
    let out = server.ctl(&["backup", "create", "--out", &outside.display().to_string()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let mode = std::fs::metadata(&outside).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
}

#[tokio::test]
async fn webhooks_refuse_odd_ranges_unresolvable_names_and_ignore_proxies() {
    // Anything that connects here was sent through the "proxy".
    let proxy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    proxy.set_nonblocking(true).unwrap();
    let proxy_url = format!("http://{}", proxy.local_addr().unwrap());
    let server = TestServer::start_with_env(
        BIN,
        "[webhooks]\ntimeout_secs = 1\n[jobs]\nmax_attempts = 1\n",
        &[
            ("HTTP_PROXY", &proxy_url),
            ("HTTPS_PROXY", &proxy_url),
            ("ALL_PROXY", &proxy_url),
            ("http_proxy", &proxy_url),
        ],
    );
    server.ok(&["project", "create", "TACK", "Tack"]);
    for url in [
        "http://[::127.0.0.1]/hook",
        "http://[64:ff9b::7f00:1]/hook",
        "http://[2002:7f00:1::1]/hook",
        "http://198.18.0.1/hook",
        "http://no-such-host.invalid/hook",
    ] {
        let out = server.ctl(&[
            "webhook",
            "create",
            "TACK",
            "--url",
            url,
            "--secret",
            "shared-secret",
        ]);
        assert_eq!(out.status.code(), Some(1), "{url} was accepted");
    }
    // A public address: the delivery goes straight there (and fails on this closed network),
    // never through the proxy.
    server.ok(&[
        "webhook",
        "create",
        "TACK",
        "--url",
        "http://192.0.2.10/hook",
        "--secret",
        "shared-secret",
    ]);
    server.ok(&["issue", "create", "TACK", "Deliver me"]);
    wait_until("a delivery attempt", Duration::from_secs(30), || {
        let log = server.ok(&["webhook", "deliveries", "TACK", "--json"]);
        log.contains("\"error\"") && !log.contains("[]")
    });
    assert!(
        proxy.accept().is_err(),
        "the delivery went through the proxy from the environment"
    );
}

#[tokio::test]
async fn limits_set_in_the_environment_take_effect() {
    let server = TestServer::start_with_env(
        BIN,
        "",
        &[
            ("TACK_LIMITS__REQUESTS_PER_SECOND", "1"),
            ("TACK_LIMITS__REQUEST_BURST", "2"),
            ("TACK_SSH_LIMITS__MAX_SESSIONS_PER_USER", "1"),
        ],
    );
    let key = ssh::new_key();
    server.ok(&["user", "create", "alice"]);
    server.ok(&["key", "add", &ssh::authorized_line(&key), "--user", "alice"]);
    let alice = server.with_token(&server.token_for("alice")).await;
    let mut limited = None;
    for _ in 0..5 {
        if let Err(ClientError::Api(ApiError::RateLimited { retry_after_ms })) =
            alice.request(Request::Whoami).await
        {
            limited = Some(retry_after_ms);
        }
    }
    let retry_after_ms = limited.expect("five requests at once pass a limit of 1/s, burst 2");
    tokio::time::sleep(Duration::from_millis(retry_after_ms + 50)).await;
    assert!(
        alice.request(Request::Whoami).await.is_ok(),
        "after the wait it goes through"
    );

    // One session per person: a command waiting for its input holds it, so a second is refused.
    let mut first = ssh::connect(&server.ssh).await;
    assert!(ssh::login(&mut first, &key).await);
    let waiting = ssh::start_exec(&first, "comment add TACK-1 -").await;
    let mut second = ssh::connect(&server.ssh).await;
    assert!(ssh::login(&mut second, &key).await);
    let (status, _, err) = ssh::exec(&second, "whoami").await;
    assert_eq!(status, 1, "{err}");
    assert!(err.contains("already have 1"), "{err}");
    drop(waiting);
}
