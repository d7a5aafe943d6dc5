//! A small HTTP/1.1 server on 127.0.0.1 for the feed loaders' tests: serves bodies the test
//! puts at paths, with `Last-Modified`, error statuses, redirects and bodies cut short, and
//! records every request. One thread per connection, `Connection: close`; no TLS.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

/// What the server answers for one path.
#[derive(Debug, Clone, Default)]
pub struct Resource {
    /// Status code (200 unless set).
    pub status: u16,
    /// Body (sent for GET).
    pub body: Vec<u8>,
    /// `Last-Modified`, seconds since the epoch.
    pub last_modified: Option<i64>,
    /// `Location` of a redirect.
    pub location: Option<String>,
    /// Send only this many body bytes, then close (the `Content-Length` promises all).
    pub cut_at: Option<usize>,
}

#[derive(Default)]
struct State {
    resources: HashMap<String, Resource>,
    log: Vec<(String, String)>,
}

/// The running server (stops accepting when dropped: the listener thread is detached and
/// its port is released at process exit).
pub struct FeedServer {
    port: u16,
    state: Arc<Mutex<State>>,
}

impl FeedServer {
    /// Binds 127.0.0.1 on a free port and serves in background threads.
    pub fn start() -> std::io::Result<FeedServer> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        let state = Arc::new(Mutex::new(State::default()));
        let st = state.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let st = st.clone();
                std::thread::spawn(move || {
                    let _ = serve(conn, &st);
                });
            }
        });
        Ok(FeedServer { port, state })
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Serves `body` at `path` with status 200 and the given `Last-Modified`.
    pub fn put(&self, path: &str, body: impl Into<Vec<u8>>, last_modified: Option<i64>) {
        self.set(
            path,
            Resource {
                status: 200,
                body: body.into(),
                last_modified,
                ..Resource::default()
            },
        );
    }

    /// Serves `r` at `path`.
    pub fn set(&self, path: &str, r: Resource) {
        self.state
            .lock()
            .unwrap()
            .resources
            .insert(path.to_owned(), r);
    }

    /// Forgets `path` (it answers 404).
    pub fn remove(&self, path: &str) {
        self.state.lock().unwrap().resources.remove(path);
    }

    /// Every request so far as (method, path).
    pub fn requests(&self) -> Vec<(String, String)> {
        self.state.lock().unwrap().log.clone()
    }

    /// How many `method` requests reached `path`.
    pub fn count(&self, method: &str, path: &str) -> usize {
        self.requests()
            .iter()
            .filter(|(m, p)| m == method && p == path)
            .count()
    }
}

fn serve(conn: TcpStream, state: &Mutex<State>) -> std::io::Result<()> {
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_owned();
    let path = parts.next().unwrap_or("").to_owned();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 || h.trim().is_empty() {
            break;
        }
    }
    let r = {
        let mut st = state.lock().unwrap();
        st.log.push((method.clone(), path.clone()));
        st.resources.get(&path).cloned()
    };
    let r = r.unwrap_or(Resource {
        status: 404,
        body: b"not found\n".to_vec(),
        ..Resource::default()
    });
    let mut out = conn;
    let reason = match r.status {
        200 => "OK",
        301 => "Moved Permanently",
        302 => "Found",
        404 => "Not Found",
        500 => "Internal Server Error",
        _ => "Status",
    };
    let mut head = format!(
        "HTTP/1.1 {} {reason}\r\nContent-Length: {}\r\nConnection: close\r\n",
        r.status,
        r.body.len()
    );
    if let Some(t) = r.last_modified {
        head.push_str(&format!("Last-Modified: {}\r\n", http_date(t)));
    }
    if let Some(l) = &r.location {
        head.push_str(&format!("Location: {l}\r\n"));
    }
    head.push_str("\r\n");
    out.write_all(head.as_bytes())?;
    if method != "HEAD" {
        let n = r.cut_at.unwrap_or(r.body.len()).min(r.body.len());
        out.write_all(&r.body[..n])?;
    }
    out.flush()?;
    Ok(())
}

/// `Sun, 06 Nov 1994 08:49:37 GMT` of seconds since the epoch.
pub fn http_date(t: i64) -> String {
    let days = t.div_euclid(86_400);
    let secs = t.rem_euclid(86_400);
    let (y, m, d) = civil(days);
    const WD: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MON: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{}, {d:02} {} {y} {:02}:{:02}:{:02} GMT",
        WD[days.rem_euclid(7) as usize],
        MON[(m - 1) as usize],
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// (year, month, day) of days since 1970-01-01 (Howard Hinnant's civil-from-days).
pub fn civil(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_dates() {
        assert_eq!(http_date(784_111_777), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
    }
}
