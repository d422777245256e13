//! Real mail servers for tests, each in its own temporary folder on a free loopback port, stopped
//! (the whole process group killed) when dropped:
//!
//! - [`ImapServer`]: Debian's Dovecot (`/usr/sbin/dovecot`), plain-text IMAP with IDLE, users from
//!   a passwd-file, maildir mail. Mail is put in with a real IMAP `APPEND` by a small blocking
//!   client in this module.
//! - [`SmtpSink`]: an aiosmtpd server (`fixtures/smtp_sink.py`) that stores each accepted message
//!   as a file and refuses recipients whose local part starts with `refuse`.
//!
//! Both are plain blocking code: call them from a `#[test]`, or from `spawn_blocking` in an async
//! test.

use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a server may take to accept connections before the test fails.
const START_TIMEOUT: Duration = Duration::from_secs(15);
/// Read/write timeout of the harness's own IMAP connections.
const IO_TIMEOUT: Duration = Duration::from_secs(30);
/// Messages per `APPEND` command of [`ImapServer::append_many`].
const APPEND_BATCH: usize = 500;
/// … or fewer when they weigh this much.
const APPEND_BATCH_BYTES: usize = 8 * 1024 * 1024;

/// A free loopback port: bound to 127.0.0.1:0 and released.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind 127.0.0.1:0")
        .port()
}

/// A started process, its own process group; killed with the group.
#[derive(Debug)]
struct Group(Child);

impl Group {
    fn spawn(command: &mut Command) -> std::io::Result<Group> {
        command.process_group(0).spawn().map(Group)
    }

    fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.0.try_wait().ok().flatten()
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        // The child leads its own group (process_group(0)), so its pid is the group id.
        let group = format!("-{}", self.0.id());
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stderr(Stdio::null())
            .status();
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The system user Dovecot's processes run as, and whether we are root.
#[derive(Debug, Clone)]
struct Accounts {
    login_user: String,
    internal_user: String,
    mail_user: String,
    mail_uid: u32,
    mail_gid: u32,
}

impl Accounts {
    fn find() -> Accounts {
        let me = fs::metadata("/proc/self").expect("/proc/self");
        let passwd = fs::read_to_string("/etc/passwd").unwrap_or_default();
        let entry = |pred: &dyn Fn(&[&str]) -> bool| {
            passwd
                .lines()
                .map(|l| l.split(':').collect::<Vec<_>>())
                .find(|f| f.len() >= 4 && pred(f))
                .map(|f| {
                    (
                        f[0].to_owned(),
                        f[2].parse::<u32>().unwrap_or(0),
                        f[3].parse::<u32>().unwrap_or(0),
                    )
                })
        };
        if me.uid() == 0 {
            // Dovecot's login processes refuse to run as root: the Debian package's users.
            let (name, uid, gid) = entry(&|f| f[0] == "dovecot")
                .expect("the `dovecot` system user exists (apt-get install dovecot-imapd)");
            Accounts {
                login_user: "dovenull".into(),
                internal_user: "dovecot".into(),
                mail_user: name,
                mail_uid: uid,
                mail_gid: gid,
            }
        } else {
            let (name, uid, gid) = entry(&|f| f[2] == me.uid().to_string()).unwrap_or_else(|| {
                (
                    std::env::var("USER").unwrap_or_default(),
                    me.uid(),
                    me.gid(),
                )
            });
            Accounts {
                login_user: name.clone(),
                internal_user: name.clone(),
                mail_user: name,
                mail_uid: uid,
                mail_gid: gid,
            }
        }
    }
}

/// A running Dovecot IMAP server (plain text, IDLE) on `127.0.0.1:port()`.
#[derive(Debug)]
pub struct ImapServer {
    // Fields drop in order: the processes die before their folder is removed.
    process: Option<Group>,
    port: u16,
    dir: tempfile::TempDir,
    users: Mutex<Vec<(String, String)>>,
    idle: bool,
}

impl ImapServer {
    /// Dovecot with the one user `support` / `secret`.
    pub fn start() -> ImapServer {
        ImapServer::start_with_users(&[("support", "secret")])
    }

    /// Dovecot with these users (name, password); more can be added later with
    /// [`ImapServer::add_user`].
    pub fn start_with_users(users: &[(&str, &str)]) -> ImapServer {
        ImapServer::launch_with(users, true)
    }

    /// Dovecot that does not offer IDLE after login (clients must poll).
    pub fn start_without_idle(users: &[(&str, &str)]) -> ImapServer {
        ImapServer::launch_with(users, false)
    }

    fn launch_with(users: &[(&str, &str)], idle: bool) -> ImapServer {
        let dir = tempfile::Builder::new()
            .prefix("ferrule-imap-")
            .tempdir()
            .expect("temp dir");
        let accounts = Accounts::find();
        // Dovecot's processes run as other users: they must reach the folder, and the mail user
        // must write the mail folder.
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).expect("chmod");
        let mail = dir.path().join("mail");
        fs::create_dir(&mail).expect("mail dir");
        std::os::unix::fs::chown(&mail, Some(accounts.mail_uid), Some(accounts.mail_gid))
            .expect("chown the mail dir to the mail user");
        let mut server = ImapServer {
            port: 0,
            dir,
            idle,
            process: None,
            users: Mutex::new(
                users
                    .iter()
                    .map(|(u, p)| ((*u).to_owned(), (*p).to_owned()))
                    .collect(),
            ),
        };
        server.write_users();
        // A free port can be taken by someone else before Dovecot binds it: try a few.
        let mut last_failure = String::new();
        for _ in 0..5 {
            server.port = free_port();
            fs::write(server.conf_path(), server.config(&accounts)).expect("write dovecot.conf");
            match server.launch() {
                Ok(group) => {
                    server.process = Some(group);
                    return server;
                }
                Err(failure) if failure.contains("Address already in use") => {
                    last_failure = failure;
                }
                Err(failure) => panic!("{failure}"),
            }
        }
        panic!("{last_failure}");
    }

    /// `127.0.0.1:port`.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// The port it listens on (also while stopped).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Dovecot's log so far.
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("dovecot.log")).unwrap_or_default()
    }

    /// Add a user (or change its password); Dovecot rereads its passwd-file on the next login.
    pub fn add_user(&self, name: &str, password: &str) {
        {
            let mut users = self.users.lock().unwrap();
            users.retain(|(u, _)| u != name);
            users.push((name.to_owned(), password.to_owned()));
        }
        self.write_users();
    }

    /// Append one message to `mailbox` of `user` (created when missing) with IMAP `APPEND`.
    pub fn append(&self, user: &str, mailbox: &str, raw: &[u8]) {
        self.append_many(user, mailbox, [raw]);
    }

    /// Append many messages over one connection, in order (UIDs ascending in iteration order).
    pub fn append_many<'a>(
        &self,
        user: &str,
        mailbox: &str,
        messages: impl IntoIterator<Item = &'a [u8]>,
    ) {
        let mut imap = self.login(user);
        imap.ensure_mailbox(mailbox);
        // Dovecot appends to the selected mailbox without reopening it for every message.
        imap.command(&format!("SELECT {}", quoted(mailbox)));
        // MULTIAPPEND (RFC 3502): many messages per command, in order.
        let mut batch: Vec<&[u8]> = Vec::new();
        let mut bytes = 0;
        for raw in messages {
            batch.push(raw);
            bytes += raw.len();
            if batch.len() == APPEND_BATCH || bytes >= APPEND_BATCH_BYTES {
                imap.append(mailbox, &batch);
                batch.clear();
                bytes = 0;
            }
        }
        if !batch.is_empty() {
            imap.append(mailbox, &batch);
        }
        imap.logout();
    }

    /// How many messages `mailbox` of `user` holds (IMAP `STATUS … (MESSAGES)`).
    pub fn message_count(&self, user: &str, mailbox: &str) -> u32 {
        let mut imap = self.login(user);
        let lines = imap.command(&format!("STATUS {} (MESSAGES)", quoted(mailbox)));
        imap.logout();
        lines
            .iter()
            .find_map(|l| {
                let rest = l.split_once("(MESSAGES ")?.1;
                rest.trim_end_matches([')', '\r', '\n']).trim().parse().ok()
            })
            .unwrap_or_else(|| panic!("no MESSAGES in the STATUS answer: {lines:?}"))
    }

    /// Stop Dovecot (the port refuses connections until [`ImapServer::start_again`]).
    pub fn stop(&mut self) {
        self.process = None;
        let deadline = Instant::now() + START_TIMEOUT;
        while TcpStream::connect(self.addr()).is_ok() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Start Dovecot again on the same port, with the same mail.
    pub fn start_again(&mut self) {
        assert!(self.process.is_none(), "the IMAP server is running");
        self.process = Some(self.launch().unwrap_or_else(|failure| panic!("{failure}")));
    }

    fn conf_path(&self) -> PathBuf {
        self.dir.path().join("dovecot.conf")
    }

    fn login(&self, user: &str) -> Imap {
        let password = self
            .users
            .lock()
            .unwrap()
            .iter()
            .find(|(u, _)| u == user)
            .map(|(_, p)| p.clone())
            .unwrap_or_else(|| panic!("no IMAP user `{user}` in the test server"));
        let mut imap = Imap::connect(self.addr()).unwrap_or_else(|e| {
            panic!(
                "cannot connect to the test IMAP server: {e}\n{}",
                self.log()
            )
        });
        imap.command(&format!("LOGIN {} {}", quoted(user), quoted(&password)));
        imap
    }

    fn write_users(&self) {
        let mut text = String::new();
        for (user, password) in self.users.lock().unwrap().iter() {
            assert!(
                !user.contains([':', '\n']) && !password.contains([':', '\n']),
                "test IMAP users and passwords cannot contain ':' or newlines"
            );
            text.push_str(&format!("{user}:{{PLAIN}}{password}::::::\n"));
        }
        let path = self.dir.path().join("users");
        let temporary = self.dir.path().join(".users.tmp");
        fs::write(&temporary, text).expect("write users");
        fs::rename(&temporary, &path).expect("rename users");
    }

    fn config(&self, accounts: &Accounts) -> String {
        let d = self.dir.path().display();
        let Accounts {
            login_user,
            internal_user,
            mail_user,
            ..
        } = accounts;
        let port = self.port;
        let capability = if self.idle {
            String::new()
        } else {
            // Dovecot's own list after login, without IDLE.
            "imap_capability = IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE LITERAL+ UIDPLUS MULTIAPPEND".into()
        };
        format!(
            "# Written by ferrule's test harness (tests/src/mail_servers.rs).
base_dir = {d}/run
state_dir = {d}/state
instance_name = ferrule-test-{port}
log_path = {d}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
default_login_user = {login_user}
default_internal_user = {internal_user}
mail_uid = {mail_user}
mail_gid = {mail_user}
first_valid_uid = 1
first_valid_gid = 1
mail_location = maildir:{d}/mail/%u
mail_fsync = never
{capability}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {d}/users
}}
userdb {{
  driver = static
  args = home={d}/mail/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
"
        )
    }

    /// Start Dovecot and wait until it greets; on failure, why (with its log).
    fn launch(&self) -> Result<Group, String> {
        let _ = fs::remove_file(self.dir.path().join("run/master.pid"));
        let output = self.dir.path().join("dovecot.out");
        let out = fs::File::create(&output).expect("dovecot.out");
        let err = out.try_clone().expect("dovecot.out");
        let mut group = Group::spawn(
            Command::new("/usr/sbin/dovecot")
                .arg("-F")
                .arg("-c")
                .arg(self.conf_path())
                .stdin(Stdio::null())
                .stdout(out)
                .stderr(err),
        )
        .map_err(|e| {
            format!("cannot start /usr/sbin/dovecot (apt-get install dovecot-imapd): {e}")
        })?;
        let failure = |what: &str| {
            format!(
                "Dovecot on 127.0.0.1:{} {what}.\n--- output ---\n{}\n--- log ---\n{}",
                self.port,
                fs::read_to_string(&output).unwrap_or_default(),
                self.log()
            )
        };
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(status) = group.exited() {
                return Err(failure(&format!("exited at start ({status})")));
            }
            if greets(self.addr()) {
                return Ok(group);
            }
            if Instant::now() > deadline {
                return Err(failure(&format!(
                    "did not greet within {} s",
                    START_TIMEOUT.as_secs()
                )));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// Whether an IMAP server at `addr` sends its `* OK` greeting (Dovecot's login process greets
/// only once its auth service is ready).
fn greets(addr: SocketAddr) -> bool {
    let Ok(stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let mut line = String::new();
    let ok = BufReader::new(&stream).read_line(&mut line).is_ok() && line.starts_with("* OK");
    let _ = (&stream).write_all(b"z LOGOUT\r\n");
    ok
}

/// An IMAP string, quoted.
fn quoted(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The harness's blocking IMAP client: tagged commands, literals in answers read and ignored.
struct Imap {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    next_tag: u32,
}

impl Imap {
    fn connect(addr: SocketAddr) -> std::io::Result<Imap> {
        let stream = TcpStream::connect(addr)?;
        stream.set_read_timeout(Some(IO_TIMEOUT))?;
        stream.set_write_timeout(Some(IO_TIMEOUT))?;
        stream.set_nodelay(true)?;
        let mut imap = Imap {
            reader: BufReader::new(stream.try_clone()?),
            writer: stream,
            next_tag: 1,
        };
        let greeting = imap.read_line()?;
        if !greeting.starts_with("* OK") {
            return Err(std::io::Error::other(format!("greeting: {greeting}")));
        }
        Ok(imap)
    }

    /// One server line, with any literal it announces read and appended.
    fn read_line(&mut self) -> std::io::Result<String> {
        let mut line = Vec::new();
        loop {
            let start = line.len();
            if self.reader.read_until(b'\n', &mut line)? == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            let text = String::from_utf8_lossy(&line[start..]);
            let Some(size) = literal_size(&text) else {
                return Ok(String::from_utf8_lossy(&line).into_owned());
            };
            let mut literal = vec![0; size];
            self.reader.read_exact(&mut literal)?;
            line.extend_from_slice(&literal);
        }
    }

    fn tag(&mut self) -> String {
        self.next_tag += 1;
        format!("h{}", self.next_tag)
    }

    /// Send a command, return its untagged lines; panics unless it ends in OK.
    fn command(&mut self, command: &str) -> Vec<String> {
        let tag = self.tag();
        self.send(format!("{tag} {command}\r\n").as_bytes());
        self.finish(&tag, command)
    }

    fn send(&mut self, bytes: &[u8]) {
        self.writer
            .write_all(bytes)
            .unwrap_or_else(|e| panic!("test IMAP server: write failed: {e}"));
    }

    fn finish(&mut self, tag: &str, what: &str) -> Vec<String> {
        match self.answer(tag) {
            (Ok(()), lines) => lines,
            (Err(done), _) => panic!("test IMAP server refused `{}`: {done}", short(what)),
        }
    }

    /// Untagged lines until the tagged one; `Err(line)` when that is not OK.
    fn answer(&mut self, tag: &str) -> (Result<(), String>, Vec<String>) {
        let mut untagged = Vec::new();
        loop {
            let line = self
                .read_line()
                .unwrap_or_else(|e| panic!("test IMAP server: read failed: {e}"));
            if let Some(rest) = line.strip_prefix(tag).and_then(|r| r.strip_prefix(' ')) {
                let done = rest.trim_end().to_owned();
                return if done.starts_with("OK") {
                    (Ok(()), untagged)
                } else {
                    (Err(done), untagged)
                };
            }
            untagged.push(line);
        }
    }

    fn ensure_mailbox(&mut self, mailbox: &str) {
        if mailbox.eq_ignore_ascii_case("INBOX") {
            return;
        }
        let tag = self.tag();
        self.send(format!("{tag} CREATE {}\r\n", quoted(mailbox)).as_bytes());
        // NO [ALREADYEXISTS] is fine.
        let _ = self.answer(&tag);
    }

    /// One `APPEND` of all `messages` (non-synchronising literals: no waiting for `+`).
    fn append(&mut self, mailbox: &str, messages: &[&[u8]]) {
        let tag = self.tag();
        let mut command = format!("{tag} APPEND {}", quoted(mailbox)).into_bytes();
        for raw in messages {
            command.extend_from_slice(format!(" {{{}+}}\r\n", raw.len()).as_bytes());
            command.extend_from_slice(raw);
        }
        command.extend_from_slice(b"\r\n");
        self.send(&command);
        self.finish(&tag, "APPEND");
    }

    fn logout(mut self) {
        let tag = self.tag();
        self.send(format!("{tag} LOGOUT\r\n").as_bytes());
        let _ = self.answer(&tag);
    }
}

/// `{123}` (or `{123+}`) at the end of a server line: a literal of that many bytes follows.
fn literal_size(line: &str) -> Option<usize> {
    let line = line.trim_end_matches(['\r', '\n']);
    let open = line.strip_suffix('}')?.rfind('{')?;
    line[open + 1..line.len() - 1]
        .trim_end_matches('+')
        .parse()
        .ok()
}

fn short(command: &str) -> &str {
    // Never echo a LOGIN's password into a panic message.
    if command.starts_with("LOGIN") {
        "LOGIN"
    } else {
        command
    }
}

/// How an [`SmtpSink`] behaves.
#[derive(Debug, Clone, Default)]
pub struct SinkOptions {
    /// Listen on this port (default: a free one).
    pub port: Option<u16>,
    /// Require AUTH PLAIN/LOGIN with exactly these (user, password); wrong ones get 535.
    /// Without: any client may send, unauthenticated.
    pub credentials: Option<(String, String)>,
    /// Answer `451` to the first N DATA commands.
    pub fail_first: u32,
}

/// One message the sink accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedMail {
    /// The envelope sender (`MAIL FROM`).
    pub envelope_from: String,
    /// The accepted envelope recipients (`RCPT TO`), in order.
    pub envelope_to: Vec<String>,
    /// The user name the client authenticated with, if it did.
    pub auth_user: Option<String>,
    /// The message exactly as received (after the SMTP dot-unstuffing).
    pub raw: Vec<u8>,
}

impl ReceivedMail {
    /// The message as text (lossy UTF-8).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.raw).into_owned()
    }

    fn parse(bytes: &[u8]) -> ReceivedMail {
        let mut mail = ReceivedMail {
            envelope_from: String::new(),
            envelope_to: Vec::new(),
            auth_user: None,
            raw: Vec::new(),
        };
        let mut rest = bytes;
        while let Some(end) = rest.windows(2).position(|w| w == b"\r\n") {
            let line = String::from_utf8_lossy(&rest[..end]).into_owned();
            if let Some(v) = line.strip_prefix("X-Envelope-From: ") {
                mail.envelope_from = v.to_owned();
            } else if let Some(v) = line.strip_prefix("X-Envelope-To: ") {
                mail.envelope_to.push(v.to_owned());
            } else if let Some(v) = line.strip_prefix("X-Auth-User: ") {
                mail.auth_user = Some(v.to_owned());
            } else {
                break;
            }
            rest = &rest[end + 2..];
        }
        mail.raw = rest.to_vec();
        mail
    }
}

/// A running aiosmtpd SMTP server on `127.0.0.1:port()` that keeps what it accepts.
#[derive(Debug)]
pub struct SmtpSink {
    // Fields drop in order: the process dies before its folder is removed.
    process: Option<Group>,
    port: u16,
    dir: tempfile::TempDir,
}

impl SmtpSink {
    /// A sink on a free port, without authentication.
    pub fn start() -> SmtpSink {
        SmtpSink::start_with(SinkOptions::default())
    }

    /// A sink on this port (for a test where the server is first unreachable).
    pub fn start_on(port: u16) -> SmtpSink {
        SmtpSink::start_with(SinkOptions {
            port: Some(port),
            ..SinkOptions::default()
        })
    }

    /// A sink configured by `options`.
    pub fn start_with(options: SinkOptions) -> SmtpSink {
        let dir = tempfile::Builder::new()
            .prefix("ferrule-smtp-")
            .tempdir()
            .expect("temp dir");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/smtp_sink.py");
        let python = std::env::var("FERRULE_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
        let log = dir.path().join("sink.log");
        let mut command = Command::new(&python);
        command
            .arg(&script)
            .arg("--port")
            .arg(options.port.unwrap_or(0).to_string())
            .arg("--dir")
            .arg(dir.path())
            .arg("--fail-first")
            .arg(options.fail_first.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(fs::File::create(&log).expect("sink.log"));
        if let Some((user, password)) = &options.credentials {
            command
                .arg("--user")
                .arg(user)
                .arg("--password")
                .arg(password);
        }
        let mut group = Group::spawn(&mut command)
            .unwrap_or_else(|e| panic!("cannot start {python} {}: {e}", script.display()));
        // The script prints `ready <port>` once it listens (the port it chose when given 0).
        let stdout = group.0.stdout.take().expect("piped stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let port = rx
            .recv_timeout(START_TIMEOUT)
            .ok()
            .and_then(|line| line.strip_prefix("ready ")?.trim().parse::<u16>().ok());
        let Some(port) = port else {
            drop(group);
            panic!(
                "the SMTP sink (aiosmtpd: python3 -m pip install aiosmtpd==1.4.6) did not start \
                 on port {:?}:\n{}",
                options.port,
                fs::read_to_string(&log).unwrap_or_default()
            );
        };
        SmtpSink {
            port,
            dir,
            process: Some(group),
        }
    }

    /// `127.0.0.1:port`.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// How many messages were accepted so far.
    pub fn count(&self) -> usize {
        fs::read_dir(self.dir.path())
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .filter(|e| {
                        let n = e.file_name();
                        let n = n.to_string_lossy();
                        n.ends_with(".eml") && !n.starts_with('.')
                    })
                    .count()
            })
            .unwrap_or(0)
    }

    /// Every message accepted so far, in order of arrival.
    pub fn messages(&self) -> Vec<ReceivedMail> {
        let mut names: Vec<_> = fs::read_dir(self.dir.path())
            .expect("sink dir")
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".eml") && !n.starts_with('.'))
            .collect();
        names.sort();
        names
            .iter()
            .filter_map(|n| fs::read(self.dir.path().join(n)).ok())
            .map(|bytes| ReceivedMail::parse(&bytes))
            .collect()
    }

    /// Wait until at least `n` messages arrived; panics (listing what came) after `timeout`.
    pub fn wait_for(&self, n: usize, timeout: Duration) -> Vec<ReceivedMail> {
        let deadline = Instant::now() + timeout;
        loop {
            let messages = self.messages();
            if messages.len() >= n {
                return messages;
            }
            if Instant::now() > deadline {
                panic!(
                    "the SMTP sink got {} message(s) in {:?}, expected {n}: {:#?}",
                    messages.len(),
                    timeout,
                    messages
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stop the server (connections are refused afterwards); what it accepted stays readable.
    pub fn stop(&mut self) {
        self.process = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_literal_announced_at_the_end_of_a_line_is_found() {
        assert_eq!(literal_size("* 1 FETCH (BODY[] {21}\r\n"), Some(21));
        assert_eq!(literal_size("a APPEND x {5+}\r\n"), Some(5));
        assert_eq!(literal_size("* OK {not a number}\r\n"), None);
        assert_eq!(literal_size("* OK done\r\n"), None);
    }

    #[test]
    fn a_stored_message_separates_envelope_and_raw_text() {
        let mail = ReceivedMail::parse(
            b"X-Envelope-From: a@x\r\nX-Envelope-To: b@y\r\nX-Envelope-To: c@y\r\nSubject: s\r\n\r\nhi\r\n",
        );
        assert_eq!(mail.envelope_from, "a@x");
        assert_eq!(mail.envelope_to, ["b@y", "c@y"]);
        assert_eq!(mail.auth_user, None);
        assert_eq!(mail.raw, b"Subject: s\r\n\r\nhi\r\n");
    }
}
