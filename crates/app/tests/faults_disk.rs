//! A full disk under SQLite: a real `iota-scripts serve` process whose database lives on a
//! small file system (a size-limited tmpfs, when this machine lets the test mount one) or,
//! failing that, under a file size limit (`RLIMIT_FSIZE`, with SIGXFSZ ignored, so a write
//! past it fails with `EFBIG`). Scripts and runs are written until writes fail: the answers are
//! 507 with a JSON error naming the storage, never a 500 or a dead process; `PRAGMA
//! integrity_check` finds the database intact, and every script the API accepted is there.
//! When space returns (a filler file removed; for the limit, a restart without it), writes
//! succeed again.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use support::process::{Api, ServerProcess, admin_token};
use support::sql::rows;

/// A tmpfs of `size` mounted on a new directory, unmounted when dropped.
struct SmallFs {
    mount_point: PathBuf,
}

impl SmallFs {
    /// `None` when mounting is not permitted here.
    fn mount(size: &str) -> Option<Self> {
        let mount_point =
            std::env::temp_dir().join(format!("iota-fs-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&mount_point).expect("mount point");
        let mounted = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(&mount_point)
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        if mounted {
            Some(Self { mount_point })
        } else {
            let _ = std::fs::remove_dir(&mount_point);
            None
        }
    }
}

impl Drop for SmallFs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.mount_point).status();
        let _ = std::fs::remove_dir(&self.mount_point);
    }
}

fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}?mode=rwc", path.display())
}

/// A script body of about 60 KB (its source padded by a comment).
fn bulky(n: usize) -> Value {
    let padding = "x".repeat(60_000);
    json!({ "name": format!("Bulky {n}"), "type": "oneoff", "status": "active",
        "source": format!("// {padding}\nexport default () => {n}") })
}

/// Creates scripts until the database refuses to write (at most `limit` tries); the names
/// accepted, and the answers of the refused tries.
async fn fill(api: &Api, server: &ServerProcess, limit: usize) -> (Vec<String>, Vec<(u16, Value)>) {
    let mut accepted = Vec::new();
    let mut refused = Vec::new();
    for n in 0..limit {
        let body = bulky(n);
        let (status, answer) = api.post(server, "/api/v1/scripts", &body).await;
        if status == 201 {
            accepted.push(body["name"].as_str().unwrap().to_owned());
        } else {
            refused.push((status, answer));
            if refused.len() >= 5 {
                break;
            }
        }
    }
    (accepted, refused)
}

fn check_refusals(refused: &[(u16, Value)]) {
    assert!(!refused.is_empty(), "the database never filled up");
    let kinds: BTreeMap<String, usize> = refused.iter().fold(BTreeMap::new(), |mut m, (s, b)| {
        *m.entry(format!("{s} {}", b["error"]["code"])).or_insert(0) += 1;
        m
    });
    eprintln!("refused writes: {kinds:?}");
    for (status, body) in refused {
        assert_eq!(*status, 507, "{body}");
        assert_eq!(body["error"]["code"], "STORAGE_FULL", "{body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains("storage"), "{message}");
    }
}

async fn integrity(url: &str) {
    let check = rows(url, "PRAGMA integrity_check", &["integrity_check"]).await;
    assert_eq!(
        check,
        vec![vec!["ok".to_owned()]],
        "the database is damaged"
    );
}

async fn names(api: &Api, server: &ServerProcess) -> Vec<String> {
    let (status, page) = api.get(server, "/api/v1/scripts?limit=100").await;
    assert_eq!(status, 200, "{page}");
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_owned())
        .collect()
}

/// Whether a new script is accepted and runs.
async fn writes_again(api: &Api, server: &ServerProcess) -> bool {
    let body = json!({ "name": format!("After {}", uuid::Uuid::new_v4().simple()), "type": "oneoff",
        "status": "active", "source": "export default () => 'written'" });
    let (status, created) = api.post(server, "/api/v1/scripts", &body).await;
    if status != 201 {
        return false;
    }
    let path = format!(
        "/api/v1/scripts/{}/execute",
        created["id"].as_str().unwrap()
    );
    let (status, run) = api.post(server, &path, &json!({})).await;
    status == 200 && run["output"] == "written"
}

async fn api_for(url: &str) -> Api {
    Api {
        client: reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap(),
        token: admin_token(url).await,
    }
}

#[tokio::test]
async fn a_full_disk_refuses_writes_cleanly_and_recovers_when_space_returns() {
    // `IOTA_SCRIPTS_TEST_NO_MOUNT=1` takes the file size limit even where mounting works.
    let mounted = match std::env::var("IOTA_SCRIPTS_TEST_NO_MOUNT") {
        Ok(value) if value == "1" => None,
        _ => SmallFs::mount("16m"),
    };
    match mounted {
        Some(fs) => on_a_small_file_system(&fs).await,
        None => {
            eprintln!(
                "mounting a tmpfs is not permitted here: a file size limit stands in for a full disk"
            );
            under_a_file_size_limit().await;
        }
    }
}

async fn on_a_small_file_system(fs: &SmallFs) {
    let url = sqlite_url(&fs.mount_point.join("iota.db"));
    let api = api_for(&url).await;
    // Space held back, given back later: more than the write-ahead log can hold, so that
    // the checkpoint that moves it into the database fits once it is back.
    let filler = fs.mount_point.join("filler");
    std::fs::write(&filler, vec![1_u8; 8 << 20]).expect("filler");
    let mut server = ServerProcess::start(&url, &[]);
    let (accepted, refused) = fill(&api, &server, 400).await;
    assert!(server.running(), "the server died with a full disk");
    check_refusals(&refused);
    // Reads still work, and nothing the API accepted is lost.
    let stored = names(&api, &server).await;
    for name in &accepted {
        assert!(
            stored.contains(name),
            "{name} was accepted but is not stored"
        );
    }
    integrity(&url).await;

    std::fs::remove_file(&filler).expect("free space");
    let mut recovered = false;
    for _ in 0..40 {
        if writes_again(&api, &server).await {
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(recovered, "writes still fail once space returned");
    assert!(server.running());
    server.terminate();
    let _ = server.wait_exit(Duration::from_secs(30)).await;
    integrity(&url).await;
}

async fn under_a_file_size_limit() {
    let dir = std::env::temp_dir().join(format!("iota-fsize-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("iota.db");
    let url = sqlite_url(&path);
    let api = api_for(&url).await;
    // Room for a few more bulky scripts than the database holds now.
    let size = std::fs::metadata(&path).unwrap().len() + 2_000_000;
    let limit = format!("trap '' XFSZ; exec prlimit --fsize={size} -- \"$@\"");
    let mut server = ServerProcess::start_under(&["sh", "-c", &limit, "sh"], &url, &[]);
    let (accepted, refused) = fill(&api, &server, 200).await;
    assert!(server.running(), "the server died at the file size limit");
    check_refusals(&refused);
    server.kill();
    integrity(&url).await;

    let mut server = ServerProcess::start(&url, &[]);
    let stored = names(&api, &server).await;
    for name in &accepted {
        assert!(
            stored.contains(name),
            "{name} was accepted but is not stored"
        );
    }
    assert!(
        writes_again(&api, &server).await,
        "writes fail after the restart"
    );
    server.terminate();
    let _ = server.wait_exit(Duration::from_secs(30)).await;
    integrity(&url).await;
    let _ = std::fs::remove_dir_all(&dir);
}
