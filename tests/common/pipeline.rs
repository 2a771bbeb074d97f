//! A site on SQLite or PostgreSQL driven message by message through the real pipeline,
//! for tests that need no mail server. Answers are read back from the outbound queue.
#![allow(dead_code)]

#[path = "dns.rs"]
pub mod dns;

use nhomthu::config;
use nhomthu::dns::Resolver;
use nhomthu::pipeline::{Runtime, process};
use nhomthu::source::{Ack, Fetched};
use nhomthu::store::members::Status;
use nhomthu::store::{Store, members, outbound};
use nhomthu::templates::Templates;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

/// One site on one backend, with a counter for message keys.
pub struct Site {
    pub rt: Runtime,
    _dir: tempfile::TempDir,
    next: AtomicUsize,
}

/// A fresh PostgreSQL database for one test.
pub async fn postgres_url(name: &str) -> String {
    use sqlx::Connection;
    let db = format!("nhomthu_t_{name}_{}", std::process::id());
    let mut admin = sqlx::PgConnection::connect("postgres://postgres@127.0.0.1:5432/postgres")
        .await
        .expect("PostgreSQL at 127.0.0.1:5432 (.ci/run starts it)");
    sqlx::query(&format!("DROP DATABASE IF EXISTS {db}"))
        .execute(&mut admin)
        .await
        .unwrap();
    sqlx::query(&format!("CREATE DATABASE {db}"))
        .execute(&mut admin)
        .await
        .unwrap();
    format!("postgres://postgres@127.0.0.1:5432/{db}")
}

impl Site {
    /// A site from configuration text whose `DATABASE` and `TEMPLATES` are filled in.
    /// Without a `[dns]` table it asks the test DNS server (loopback, `scripts/dns`).
    pub async fn new(database: String, config_text: &str) -> Site {
        let config_text = if config_text.contains("\n[dns]\n") {
            config_text.to_string()
        } else {
            format!("{config_text}{}", dns::dns())
        };
        let dir = tempfile::tempdir().unwrap();
        let templates = concat!(env!("CARGO_MANIFEST_DIR"), "/templates");
        let text = config_text
            .replace(
                "DATABASE",
                &database.replace("DIR", &dir.path().display().to_string()),
            )
            .replace("TEMPLATES", templates);
        let path = dir.path().join("lists.toml");
        std::fs::write(&path, &text).unwrap();
        let config = config::load(&path).unwrap_or_else(|e| panic!("{e:?}"));
        let store = Store::open(&config.database_url()).await.unwrap();
        let templates = Templates::new(Path::new(templates));
        let dns = Resolver::new(&config.dns).expect("a resolver from [dns]");
        Site {
            rt: Runtime {
                config,
                store,
                templates: templates.into(),
                dns,
            },
            _dir: dir,
            next: AtomicUsize::new(0),
        }
    }

    /// Both backends.
    pub async fn both(name: &str, config_text: &str) -> [Site; 2] {
        [
            Site::new("sqlite://DIR/nhomthu.db".into(), config_text).await,
            Site::new(postgres_url(name).await, config_text).await,
        ]
    }

    /// Process one raw message as read from the first mailbox (LF line ends become CRLF).
    pub async fn receive(&self, raw: &str) -> Ack {
        self.receive_bytes(raw.replace('\n', "\r\n").as_bytes())
            .await
    }

    /// Process these exact bytes as read from the first mailbox.
    pub async fn receive_bytes(&self, raw: &[u8]) -> Ack {
        let n = self.next.fetch_add(1, Ordering::SeqCst);
        let msg = Fetched {
            key: format!("test:{n}"),
            locator: n.to_string(),
            raw: raw.to_vec(),
        };
        process(&self.rt, &self.rt.config.mailboxes[0], &msg)
            .await
            .unwrap()
    }

    /// Queued answers as (recipient, raw text).
    pub async fn answers(&self) -> Vec<(String, String)> {
        outbound::due(self.rt.store.pool(), 10_000)
            .await
            .unwrap()
            .into_iter()
            .map(|d| (d.rcpt, String::from_utf8(d.raw).unwrap()))
            .collect()
    }

    /// Deliver every due copy of accepted posts into the file outbox; returns the copies
    /// written so far, in file-name order.
    pub async fn deliver_posts(&self) -> Vec<String> {
        let config = &self.rt.config;
        let sink = nhomthu::delivery::Sink::from_config(config).unwrap();
        let secret = {
            let mut conn = self.rt.store.pool().acquire().await.unwrap();
            nhomthu::store::settings::secret(&mut conn).await.unwrap()
        };
        let (_trigger, never) = nhomthu::shutdown::channel();
        nhomthu::delivery::deliver_posts(
            config,
            &self.rt.templates,
            &self.rt.store,
            &sink,
            &secret,
            &self.rt.dns,
            &never,
        )
        .await
        .unwrap();
        let dir = config.path(&config.delivery.outbox);
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "eml"))
            .collect();
        files.sort();
        files
            .iter()
            .map(|p| String::from_utf8(std::fs::read(p).unwrap()).unwrap())
            .collect()
    }

    /// A member's status.
    pub async fn status(&self, list: &str, address: &str) -> Option<Status> {
        let mut conn = self.rt.store.pool().acquire().await.unwrap();
        members::get(&mut conn, list, address)
            .await
            .unwrap()
            .map(|m| m.status)
    }

    /// Add a confirmed member, as an operator would.
    pub async fn add(&self, list: &str, address: &str) {
        let mut conn = self.rt.store.pool().acquire().await.unwrap();
        members::apply(
            &mut conn,
            &members::Change {
                list_id: list,
                address,
                display_name: None,
                status: Status::Confirmed,
                source: "operator",
                action: "add",
                actor: "test",
                inbound_id: None,
                reason: "test",
            },
        )
        .await
        .unwrap();
    }
}
