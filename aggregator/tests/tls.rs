//! HTTPS and WSS endpoints: `solvency check` reaches a hub whose RPC is behind TLS (as
//! `https://` and as `wss://`) when the endpoint's certificate chains to a root it trusts (here a private CA named by `SSL_CERT_FILE`, as an
//! operator would for a private node), and refuses one it does not, saying why.

use std::{path::Path, process::Command, sync::Arc};

use rustls_pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject};
use solvency_aggregator::wired::{WiredDevnet, WiredOptions};
use tokio::net::{TcpListener, TcpStream};

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl").args(args).current_dir(dir).output().unwrap();
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// A CA, and a certificate it signs for `localhost` and 127.0.0.1.
fn certificates(dir: &Path) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=test CA",
        ],
    );
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            "node.key",
            "-out",
            "node.csr",
            "-subj",
            "/CN=localhost",
        ],
    );
    std::fs::write(dir.join("ext.cnf"), "subjectAltName=DNS:localhost,IP:127.0.0.1\n").unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "node.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "node.pem",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
        ],
    );
}

/// Terminates TLS on loopback and forwards to `target`; returns its port.
async fn tls_proxy(dir: &Path, target: std::net::SocketAddr) -> u16 {
    let certs: Vec<CertificateDer<'static>> =
        CertificateDer::pem_file_iter(dir.join("node.pem")).unwrap().map(Result::unwrap).collect();
    let key = PrivateKeyDer::from_pem_file(dir.join("node.key")).unwrap();
    let config = tokio_rustls::rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((inbound, _)) = listener.accept().await else { continue };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(inbound).await else { return };
                let Ok(mut outbound) = TcpStream::connect(target).await else { return };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut outbound).await;
            });
        }
    });
    port
}

// Several threads: the proxy serves while `solvency check` runs (a blocking wait here).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_reaches_an_https_endpoint_it_trusts_and_names_one_it_does_not() {
    let dir = tempfile::tempdir().unwrap();
    certificates(dir.path());
    let base = solvency_registry::Registry::parse(
        "deployment_id = \"tls\"\n[aggregator]\npoll_interval_ms = 20",
        "tls.toml",
        &|_| None,
    )
    .unwrap();
    let wired = WiredDevnet::start(
        &base,
        WiredOptions {
            chains: Some(2),
            state_dir: Some(dir.path().join("devnet")),
            ..WiredOptions::default()
        },
    )
    .await
    .unwrap();
    let hub = wired.devnet.hub().clone();
    let target = hub.rpc_url.trim_start_matches("http://").trim_end_matches('/').parse().unwrap();
    let port = tls_proxy(dir.path(), target).await;
    let text = std::fs::read_to_string(wired.registry_path()).unwrap();
    let https = text.replace(
        &format!("rpc_url = \"{}\"", hub.rpc_url),
        &format!("rpc_url = \"https://localhost:{port}\""),
    );
    assert_ne!(text, https, "the hub's endpoint is in the registry");
    let registry = dir.path().join("https.toml");
    std::fs::write(&registry, https).unwrap();

    let wss_registry = dir.path().join("wss.toml");
    let check_with = |registry: &Path, ca: Option<&Path>| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_solvency"));
        command.args(["check", "--config"]).arg(registry);
        command.env_remove("SSL_CERT_FILE").env_remove("SSL_CERT_DIR");
        if let Some(ca) = ca {
            command.env("SSL_CERT_FILE", ca);
        }
        command.output().unwrap()
    };
    let check = |ca: Option<&Path>| check_with(&registry, ca);
    let trusted = check(Some(&dir.path().join("ca.pem")));
    let said = String::from_utf8_lossy(&trusted.stdout).into_owned()
        + &String::from_utf8_lossy(&trusted.stderr);
    assert!(trusted.status.success(), "{said}");
    assert!(said.contains("all checks passed on 2 chain(s)"), "{said}");

    // The same endpoint as a WebSocket (wss://): the node speaks both on one port.
    std::fs::write(
        &wss_registry,
        text.replace(
            &format!("rpc_url = \"{}\"", hub.rpc_url),
            &format!("rpc_url = \"wss://localhost:{port}\""),
        ),
    )
    .unwrap();
    let over_ws = check_with(&wss_registry, Some(&dir.path().join("ca.pem")));
    let said = String::from_utf8_lossy(&over_ws.stdout).into_owned()
        + &String::from_utf8_lossy(&over_ws.stderr);
    assert!(over_ws.status.success() && said.contains("all checks passed"), "{said}");

    let untrusted = check(None);
    let said = String::from_utf8_lossy(&untrusted.stdout).into_owned()
        + &String::from_utf8_lossy(&untrusted.stderr);
    assert!(!untrusted.status.success(), "{said}");
    assert!(said.contains("[rpc]") && said.to_lowercase().contains("certificate"), "{said}");
    wired.shutdown().await;
}
