//! Real SPARQL servers on loopback for the endpoint tests: Oxigraph's
//! (`oxigraph serve`, from the PyPI package `make venv` installs) and
//! Virtuoso 7 (`virtuoso-t`, Debian's `virtuoso-opensource-7-bin`, which
//! `make system-deps` installs). A server that does not start fails the
//! test that asked for it, naming what to install; none is ever skipped.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use super::repo;

pub struct Server {
    child: Child,
    pub dir: tempfile::TempDir,
    /// The SPARQL query URL (Virtuoso: the Digest-protected one is [`Server::auth_url`]).
    pub query_url: String,
    /// Virtuoso's isql port.
    pub isql_port: Option<u16>,
    log: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

impl Server {
    /// Waits until the server answers `ASK {}`, failing with its log when it exits or takes over 90 s.
    fn wait_ready(mut self, what: &str) -> Self {
        let started = Instant::now();
        let url = format!("{}?query=ASK%7B%7D", self.query_url);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("{what} exited ({status}) before answering:\n{}", log_tail(&self.log));
            }
            if ureq::get(&url).call().is_ok_and(|r| r.status().is_success()) {
                return self;
            }
            assert!(started.elapsed() < Duration::from_secs(90), "{what} did not answer in 90 s:\n{}", log_tail(&self.log));
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Virtuoso's Digest-protected endpoint (user dba, password dba).
    pub fn auth_url(&self) -> String {
        self.query_url.replace("/sparql", "/sparql-auth")
    }

    /// Runs SQL through Virtuoso's isql as dba.
    pub fn isql(&self, sql: &str) -> Output {
        let port = self.isql_port.expect("a Virtuoso server");
        Command::new("isql-vt").args([&format!("127.0.0.1:{port}"), "dba", "dba", &format!("exec={sql}")]).output().unwrap()
    }
}

/// `oxigraph serve` on a fresh directory, its default graph the union of its graphs.
pub fn oxigraph() -> Server {
    let bin = std::env::var_os("OXIGRAPH_BIN").map(PathBuf::from).unwrap_or_else(|| repo().join(".venv/bin/oxigraph"));
    assert!(bin.is_file(), "no Oxigraph server at {} (run `make venv`, which installs the oxigraph package)", bin.display());
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let log = dir.path().join("server.log");
    let child = Command::new(&bin)
        .args(["serve", "--location", dir.path().join("data").to_str().unwrap(), "--union-default-graph"])
        .args(["--bind", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
    Server { child, dir, query_url: format!("http://127.0.0.1:{port}/query"), isql_port: None, log }.wait_ready("oxigraph serve")
}

/// Virtuoso 7 on a fresh database; the server's directory is in `DirsAllowed` (bulk loads).
pub fn virtuoso() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let (http, isql) = (free_port(), free_port());
    let d = dir.path().to_str().unwrap();
    let ini = format!(
        "[Database]\nDatabaseFile = {d}/virtuoso.db\nErrorLogFile = {d}/virtuoso.log\nLockFile = {d}/virtuoso.lck\n\
         TransactionFile = {d}/virtuoso.trx\nxa_persistent_file = {d}/virtuoso.pxa\nStriping = 0\nTempStorage = TempDatabase\n\
         [TempDatabase]\nDatabaseFile = {d}/virtuoso-temp.db\nTransactionFile = {d}/virtuoso-temp.trx\n\
         [Parameters]\nServerPort = 127.0.0.1:{isql}\nDisableUnixSocket = 1\nNumberOfBuffers = 50000\nMaxDirtyBuffers = 37000\n\
         DirsAllowed = ., {d}\nThreadsPerQuery = 2\n\
         [HTTPServer]\nServerPort = 127.0.0.1:{http}\nServerRoot = {d}\nServerThreads = 8\nMaxClientConnections = 8\n\
         [SPARQL]\nResultSetMaxRows = 10000000\nMaxQueryExecutionTime = 600\n"
    );
    let ini_path = dir.path().join("virtuoso.ini");
    std::fs::write(&ini_path, ini).unwrap();
    let log = dir.path().join("virtuoso.log");
    let child = Command::new("virtuoso-t")
        .args(["+foreground", "+configfile", ini_path.to_str().unwrap()])
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start virtuoso-t ({e}): run `make system-deps` (Debian's virtuoso-opensource-7-bin)"));
    let server = Server { child, dir, query_url: format!("http://127.0.0.1:{http}/sparql"), isql_port: Some(isql), log };
    server.wait_ready("virtuoso-t")
}
