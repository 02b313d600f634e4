//! A real PostgreSQL server for one test, from the system's binaries (`initdb`, `postgres`,
//! `psql`; Debian keeps them in `/usr/lib/postgresql/<version>/bin`).
//!
//! nextest runs every test in its own process, so each test starts its own server: `initdb`
//! runs once per machine into a cached template directory (built in a staging directory and
//! renamed into place, so concurrent first runs never see half a template), and each server
//! starts on a copy of it, on a free loopback port, with its socket and data in a temporary
//! directory. Dropping [`PgServer`] stops the server (immediate shutdown) and removes the
//! directory, also when the test panics; if the test process itself is killed, nextest kills
//! its process group, which includes the server, and a later start sweeps the directory away.
//!
//! PostgreSQL refuses to run as root: when the tests run as root, `initdb` and `postgres` run
//! as the `postgres` user (created by the Debian package).
//!
//! Missing binaries are a test failure with instructions, never a skip.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Superuser created by `initdb`; loopback connections are trusted.
pub const USER: &str = "lienthong";
/// Bumped when the template's `initdb` options change.
const TEMPLATE_REVISION: u32 = 1;
/// Overrides where the binaries are looked for.
pub const BIN_ENV: &str = "LIENTHONG_TEST_PG_BIN";

const INSTALL: &str = "install the PostgreSQL server binaries (Debian/Ubuntu: `sudo apt-get install postgresql`, \
     which .ci/run does), or point LIENTHONG_TEST_PG_BIN at a directory holding initdb, postgres and psql";

pub struct PgServer {
    /// Holds `data/` and the server's socket; owned by the user the server runs as.
    dir: tempfile::TempDir,
    bin: PathBuf,
    /// Extra `-c name=value` settings.
    settings: Vec<String>,
    child: Option<Child>,
    pub port: u16,
    databases: AtomicUsize,
}

/// The user the server runs as, when the tests run as root.
#[derive(Clone, Copy)]
struct RunAs {
    uid: u32,
    gid: u32,
}

fn output(cmd: &mut Command) -> Option<String> {
    let out = cmd.stderr(Stdio::null()).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// `Some(postgres)` when we are root, `None` when we can run PostgreSQL ourselves.
fn run_as() -> Option<RunAs> {
    let me: u32 = output(Command::new("id").arg("-u"))
        .and_then(|s| s.parse().ok())
        .expect("`id -u` failed");
    if me != 0 {
        return None;
    }
    let id = |flag: &str| {
        output(Command::new("id").args([flag, "postgres"])).and_then(|s| s.parse().ok())
    };
    match (id("-u"), id("-g")) {
        (Some(uid), Some(gid)) => Some(RunAs { uid, gid }),
        _ => panic!(
            "the tests run as root, and PostgreSQL refuses to: they run it as the `postgres` user, which does not exist; {INSTALL}"
        ),
    }
}

fn has_server(dir: &Path) -> bool {
    ["initdb", "postgres", "psql"]
        .iter()
        .all(|b| dir.join(b).is_file())
}

/// The directory holding `initdb`, `postgres` and `psql`.
pub fn bin_dir() -> PathBuf {
    if let Ok(dir) = std::env::var(BIN_ENV) {
        let dir = PathBuf::from(dir);
        assert!(
            has_server(&dir),
            "{BIN_ENV}={} lacks initdb, postgres or psql; {INSTALL}",
            dir.display()
        );
        return dir;
    }
    // Debian's layout, newest version first.
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v = e.file_name().to_str()?.parse::<u32>().ok()?;
            Some((v, e.path().join("bin")))
        })
        .filter(|(_, d)| has_server(d))
        .collect();
    versions.sort();
    if let Some((_, dir)) = versions.pop() {
        return dir;
    }
    // Other layouts: pg_config, or initdb on PATH.
    let from_pg_config = output(Command::new("pg_config").arg("--bindir")).map(PathBuf::from);
    let on_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default();
    from_pg_config
        .into_iter()
        .chain(on_path)
        .find(|d| has_server(d))
        .unwrap_or_else(|| panic!("PostgreSQL server binaries not found (looked in {BIN_ENV}, /usr/lib/postgresql/*/bin, pg_config --bindir, PATH): {INSTALL}"))
}

fn command(program: PathBuf, who: Option<RunAs>) -> Command {
    let mut c = Command::new(program);
    if let Some(u) = who {
        c.uid(u.uid).gid(u.gid);
    }
    c.stdin(Stdio::null());
    c
}

/// Make `path` belong to the server's user (when we are root).
fn give(path: &Path, who: Option<RunAs>) {
    if let Some(u) = who {
        std::os::unix::fs::chown(path, Some(u.uid), Some(u.gid))
            .unwrap_or_else(|e| panic!("chown {}: {e}", path.display()));
    }
}

/// Remove what servers of killed test processes left behind (nextest kills a timed-out test's
/// whole process group, so the server dies, but its directory stays): directories of ours
/// older than ten minutes whose server is not running.
fn sweep_stale() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if !name.starts_with("lienthong-pg-") || name.starts_with("lienthong-pg-template-") {
            continue;
        }
        let old = e
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|t| t.elapsed().is_ok_and(|age| age > Duration::from_secs(600)));
        let running = std::fs::read_to_string(e.path().join("data/postmaster.pid"))
            .ok()
            .and_then(|s| s.lines().next().map(|l| l.trim().to_owned()))
            .is_some_and(|pid| Path::new("/proc").join(pid).exists());
        if old && !running {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

/// A new temporary directory belonging to the server's user.
fn tempdir(prefix: &str, who: Option<RunAs>) -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix(prefix)
        .tempdir()
        .expect("temporary directory");
    give(dir.path(), who);
    dir
}

/// The cached `initdb` result for this PostgreSQL version and user; made if missing.
fn template(bin: &Path, who: Option<RunAs>) -> PathBuf {
    let version = output(Command::new(bin.join("postgres")).arg("--version"))
        .unwrap_or_else(|| panic!("{}/postgres --version failed; {INSTALL}", bin.display()));
    let tag: String = format!("{version}-{}", bin.display())
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let owner = who
        .map(|u| u.uid.to_string())
        .unwrap_or_else(|| "self".into());
    let cache = std::env::temp_dir().join(format!(
        "lienthong-pg-template-r{TEMPLATE_REVISION}-{owner}-{tag}"
    ));
    if cache.join("PG_VERSION").is_file() {
        return cache;
    }
    // Build it beside, then rename: the first rename wins, later ones find it there.
    let staging = tempdir("lienthong-pg-initdb-", who);
    let data = staging.path().join("data");
    let out = command(bin.join("initdb"), who)
        .current_dir(staging.path())
        .arg("-D")
        .arg(&data)
        .args([
            "-U",
            USER,
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
            "--no-instructions",
        ])
        .output()
        .expect("run initdb");
    assert!(
        out.status.success(),
        "initdb failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if std::fs::rename(&data, &cache).is_err() {
        assert!(
            cache.join("PG_VERSION").is_file(),
            "cannot move the PostgreSQL template to {}",
            cache.display()
        );
    }
    cache
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

impl PgServer {
    /// Start a server on a copy of the template. Panics (the test fails) with the reason.
    pub fn start() -> PgServer {
        Self::start_with(None)
    }

    /// A server that takes TLS connections only (`hostssl` in its `pg_hba.conf`, nothing else),
    /// presenting the certificate chain `cert` with `key`.
    pub fn start_tls_only(cert: &Path, key: &Path) -> PgServer {
        Self::start_with(Some((cert, key)))
    }

    fn start_with(tls: Option<(&Path, &Path)>) -> PgServer {
        let started = Instant::now();
        let bin = bin_dir();
        let who = run_as();
        sweep_stale();
        let template = template(&bin, who);
        let dir = tempdir("lienthong-pg-", who);
        let data = dir.path().join("data");
        let cp = Command::new("cp")
            .arg("-a")
            .arg(&template)
            .arg(&data)
            .status()
            .expect("run cp");
        assert!(
            cp.success(),
            "cp -a {} {}",
            template.display(),
            data.display()
        );
        give(&data, who);
        let mut settings = Vec::new();
        if let Some((cert, key)) = tls {
            // The server reads these as its own user and wants its key private.
            let put = |name: &str, from: &Path, mode: u32| {
                let to = dir.path().join(name);
                std::fs::copy(from, &to).unwrap_or_else(|e| panic!("{}: {e}", from.display()));
                let mode = std::os::unix::fs::PermissionsExt::from_mode(mode);
                std::fs::set_permissions(&to, mode).unwrap();
                give(&to, who);
                to.display().to_string()
            };
            let hba = dir.path().join("pg_hba.conf");
            std::fs::write(
                &hba,
                "local all all trust\nhostssl all all 127.0.0.1/32 trust\n",
            )
            .unwrap();
            give(&hba, who);
            settings = vec![
                "ssl=on".into(),
                format!("ssl_cert_file={}", put("server.pem", cert, 0o644)),
                format!("ssl_key_file={}", put("server.key", key, 0o600)),
                format!("hba_file={}", hba.display()),
            ];
        }
        let mut server = PgServer {
            dir,
            bin,
            settings,
            child: None,
            port: 0,
            databases: AtomicUsize::new(0),
        };
        // A port found free may be taken before the server binds it: try a few.
        for _ in 0..5 {
            server.port = free_port();
            server.spawn(who);
            match server.wait_ready() {
                Ok(()) => {
                    eprintln!(
                        "PostgreSQL on 127.0.0.1:{} ready in {} ms",
                        server.port,
                        started.elapsed().as_millis()
                    );
                    return server;
                }
                Err(log) if log.contains("could not bind") || log.contains("in use") => {
                    server.stop();
                }
                Err(log) => panic!("PostgreSQL did not start; its log:\n{log}"),
            }
        }
        panic!("PostgreSQL could not bind a loopback port in 5 tries");
    }

    fn spawn(&mut self, who: Option<RunAs>) {
        let log = std::fs::File::create(self.dir.path().join("postgres.log")).expect("server log");
        let child = command(self.bin.join("postgres"), who)
            .current_dir(self.dir.path())
            .arg("-D")
            .arg(self.dir.path().join("data"))
            .arg("-p")
            .arg(self.port.to_string())
            .arg("-k")
            .arg(self.dir.path())
            .args([
                "-c",
                "listen_addresses=127.0.0.1",
                // The tests crash gateways, never the database server: its own durability
                // is not under test, and skipping fsync keeps them fast.
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
                "-c",
                "max_connections=200",
                "-c",
                "shared_buffers=32MB",
            ])
            .args(self.settings.iter().flat_map(|s| ["-c", s.as_str()]))
            .stdout(log.try_clone().expect("server log"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("start {}/postgres: {e}", self.bin.display()));
        self.child = Some(child);
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("postgres.log")).unwrap_or_default()
    }

    fn wait_ready(&mut self) -> Result<(), String> {
        let start = Instant::now();
        loop {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    self.child = None;
                    return Err(format!("(exited: {status})\n{}", self.log()));
                }
            }
            let ready = Command::new(self.bin.join("psql"))
                .args(self.psql_args("postgres"))
                .args(["-c", "SELECT 1"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if ready {
                return Ok(());
            }
            if start.elapsed() > Duration::from_secs(30) {
                return Err(format!("(not ready after 30 s)\n{}", self.log()));
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    fn psql_args(&self, db: &str) -> Vec<String> {
        [
            "-X",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            "127.0.0.1",
            "-p",
            &self.port.to_string(),
            "-U",
            USER,
            "-d",
            db,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    }

    /// Run SQL in database `db` with `psql`; its output (unaligned, tuples only) or its error.
    pub fn try_psql(&self, db: &str, sql: &str) -> Result<String, String> {
        let out = Command::new(self.bin.join("psql"))
            .args(self.psql_args(db))
            .args(["-A", "-t", "-c", sql])
            .output()
            .expect("run psql");
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }

    pub fn psql(&self, db: &str, sql: &str) -> String {
        self.try_psql(db, sql)
            .unwrap_or_else(|e| panic!("psql {sql:?}: {e}"))
    }

    /// A new, empty database; returns its name.
    pub fn create_database(&self) -> String {
        let n = self.databases.fetch_add(1, Ordering::SeqCst);
        let name = format!("lienthong_{n}");
        self.psql("postgres", &format!("CREATE DATABASE {name}"));
        name
    }

    /// The postmaster's process id.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    /// The databases made so far.
    pub fn databases(&self) -> Vec<String> {
        (0..self.databases.load(Ordering::SeqCst))
            .map(|n| format!("lienthong_{n}"))
            .collect()
    }

    pub fn url(&self, db: &str) -> String {
        format!("postgres://{USER}@127.0.0.1:{}/{db}", self.port)
    }

    fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        // SIGQUIT: immediate shutdown; the data directory is thrown away anyway.
        let _ = Command::new("kill")
            .arg("-QUIT")
            .arg(child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        self.stop();
    }
}
