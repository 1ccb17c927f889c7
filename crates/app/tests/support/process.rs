//! `ServerProcess`: a real `iota-scripts serve` process on a free port of 127.0.0.1, with its
//! settings given as `IOTA_SCRIPTS__…` variables; killed (SIGKILL) when dropped, however the
//! test ends.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

pub struct ServerProcess {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
}

/// How long a process may take to listen.
const START: Duration = Duration::from_secs(60);

impl ServerProcess {
    /// Starts `iota-scripts serve` on `database_url` with the settings `env` (pairs of
    /// `SECTION__KEY` and value, without the `IOTA_SCRIPTS__` prefix) and waits until it
    /// listens.
    pub fn start(database_url: &str, env: &[(&str, &str)]) -> Self {
        Self::start_under(&[], database_url, env)
    }

    /// As `start`, with the binary run by the command `wrapper` (its program and first
    /// arguments; the binary and `serve` follow), for example to set a resource limit.
    pub fn start_under(wrapper: &[&str], database_url: &str, env: &[(&str, &str)]) -> Self {
        let binary = env!("CARGO_BIN_EXE_iota-scripts");
        let mut command = match wrapper.split_first() {
            Some((program, arguments)) => {
                let mut command = Command::new(program);
                command.args(arguments).arg(binary);
                command
            }
            None => Command::new(binary),
        };
        command
            .arg("serve")
            .env("IOTA_SCRIPTS__DATABASE__URL", database_url)
            .env("IOTA_SCRIPTS__SERVER__BIND", "127.0.0.1:0")
            .env("IOTA_SCRIPTS__SERVER__WORKERS", "1")
            .env("IOTA_SCRIPTS__LOG__LEVEL", "warn")
            .env_remove("DATABASE_URL")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (key, value) in env {
            command.env(format!("IOTA_SCRIPTS__{key}"), value);
        }
        let mut child = command.spawn().expect("start iota-scripts serve");
        let stdout = child.stdout.take().expect("stdout");
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(base) = line.strip_prefix("IOTA Scripts listening on ") {
                    let _ = sender.send(base.trim().to_owned());
                }
            }
        });
        let mut process = Self {
            child,
            base: String::new(),
        };
        match receiver.recv_timeout(START) {
            Ok(base) => process.base = base,
            Err(_) => panic!(
                "the server did not listen within {START:?} (exit: {:?})",
                process.child.try_wait()
            ),
        }
        process
    }

    /// Whether the process is still running.
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    pub fn pid(&self) -> i32 {
        i32::try_from(self.child.id()).expect("pid")
    }

    fn signal(&self, signal: rustix::process::Signal) {
        let pid = rustix::process::Pid::from_raw(self.pid()).expect("a pid");
        rustix::process::kill_process(pid, signal).expect("signal the server");
    }

    /// SIGTERM: the server drains and exits by itself.
    pub fn terminate(&self) {
        self.signal(rustix::process::Signal::TERM);
    }

    /// SIGKILL, and waits for the process to be gone.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Waits up to `within` for the process to exit by itself.
    pub async fn wait_exit(&mut self, within: Duration) -> Option<ExitStatus> {
        let polls = within.as_millis() / 50;
        for _ in 0..polls.max(1) {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        None
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// A client of the processes' API with one token.
pub struct Api {
    pub client: reqwest::Client,
    pub token: String,
}

impl Api {
    pub async fn send(
        &self,
        method: reqwest::Method,
        url: String,
        body: Option<&serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        let mut request = self.client.request(method, url).bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        (
            status,
            serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
        )
    }

    pub async fn post(
        &self,
        server: &ServerProcess,
        path: &str,
        body: &serde_json::Value,
    ) -> (u16, serde_json::Value) {
        self.send(reqwest::Method::POST, server.url(path), Some(body))
            .await
    }

    pub async fn get(&self, server: &ServerProcess, path: &str) -> (u16, serde_json::Value) {
        self.send(reqwest::Method::GET, server.url(path), None)
            .await
    }

    pub async fn executions(&self, server: &ServerProcess, script: &str) -> Vec<serde_json::Value> {
        let (status, page) = self
            .get(
                server,
                &format!("/api/v1/scripts/{script}/executions?limit=100"),
            )
            .await;
        assert_eq!(status, 200, "{page}");
        page["items"].as_array().unwrap().clone()
    }

    /// Every execution of `script`, page after page.
    pub async fn all_executions(
        &self,
        server: &ServerProcess,
        script: &str,
    ) -> Vec<serde_json::Value> {
        let mut all = Vec::new();
        for page in 1.. {
            let path = format!("/api/v1/scripts/{script}/executions?limit=100&page={page}");
            let (status, body) = self.get(server, &path).await;
            assert_eq!(status, 200, "{body}");
            let items = body["items"].as_array().unwrap().clone();
            let done = items.len() < 100;
            all.extend(items);
            if done {
                break;
            }
        }
        all
    }
}

/// Creates tenant A with an admin on the database the processes will share, through the
/// components in this process; the admin's API token.
pub async fn admin_token(database_url: &str) -> String {
    let mut settings = iota_scripts::Settings::default();
    settings.database.url = database_url.to_owned();
    settings.sandbox.program = env!("CARGO_BIN_EXE_iota-scripts").into();
    let components = iota_scripts::Components::build(&settings)
        .await
        .expect("components");
    components
        .accounts
        .create_tenant("Tenant A", Some("tenant-a"))
        .await
        .expect("tenant");
    let token =
        super::user_token(&components, "tenant-a", "admin@a.test", domain::Role::Admin).await;
    components.lease.leave().await;
    token
}

/// Counts of the stored executions of `script` by status and node: `(status, node, count)`.
pub async fn execution_counts(database_url: &str, script: &str) -> Vec<(String, String, i64)> {
    use sea_orm::ConnectionTrait;
    let connection = sea_orm::Database::connect(database_url)
        .await
        .expect("connect");
    let backend = connection.get_database_backend();
    let sql = format!(
        "SELECT status, COALESCE(node, '') AS node, COUNT(*) AS n FROM script_executions \
         WHERE script_id = '{script}' GROUP BY status, node ORDER BY status, node"
    );
    let rows = connection
        .query_all_raw(sea_orm::Statement::from_string(backend, sql))
        .await
        .expect("count executions");
    let counts = rows
        .iter()
        .map(|row| {
            (
                row.try_get::<String>("", "status").expect("status"),
                row.try_get::<String>("", "node").expect("node"),
                row.try_get::<i64>("", "n").expect("n"),
            )
        })
        .collect();
    let _ = connection.close().await;
    counts
}
