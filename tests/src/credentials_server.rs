//! A stand-in for a container credentials endpoint, as the AWS SDKs read
//! one and as Lambda serves one for SnapStart: `GET <path>` with
//! `Authorization: <token>` answers the role's current credentials,
//! `{"AccessKeyId","SecretAccessKey","Token","Expiration"}` (RFC 3339), and
//! any other token 401. The test rotates what it serves.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

pub const PATH: &str = "/2021-04-23/credentials";

struct Served {
    access_key_id: String,
    expires_in: Duration,
    fetches: usize,
    refused: usize,
}

/// A running endpoint; it stops with the test's runtime.
pub struct CredentialsServer {
    /// `http://127.0.0.1:<port>/2021-04-23/credentials`.
    pub uri: String,
    pub token: String,
    served: Arc<Mutex<Served>>,
}

impl CredentialsServer {
    /// Serves `access_key_id`, each answer expiring `expires_in` after it
    /// is given.
    pub async fn start(access_key_id: &str, expires_in: Duration) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let uri = format!("http://{}{PATH}", listener.local_addr().unwrap());
        let token = "stand-in-token".to_owned();
        let served = Arc::new(Mutex::new(Served {
            access_key_id: access_key_id.to_owned(),
            expires_in,
            fetches: 0,
            refused: 0,
        }));
        let (task_served, task_token) = (Arc::clone(&served), token.clone());
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let (served, token) = (Arc::clone(&task_served), task_token.clone());
                tokio::spawn(async move {
                    let mut buffer = Vec::new();
                    let mut chunk = [0u8; 4096];
                    while !buffer.windows(4).any(|w| w == b"\r\n\r\n") {
                        match stream.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
                        }
                    }
                    let head = String::from_utf8_lossy(&buffer).to_ascii_lowercase();
                    let authorized = head.starts_with(&format!("get {PATH} "))
                        && head.lines().any(|l| l.trim() == format!("authorization: {token}"));
                    let (status, body) = {
                        let mut served = served.lock().unwrap();
                        if authorized {
                            served.fetches += 1;
                            (200, answer(&served.access_key_id, served.expires_in))
                        } else {
                            served.refused += 1;
                            (401, r#"{"message":"unauthorized"}"#.to_owned())
                        }
                    };
                    let reply = format!(
                        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = stream.write_all(reply.as_bytes()).await;
                });
            }
        });
        Self { uri, token, served }
    }

    /// From now on, serves `access_key_id`.
    pub fn rotate(&self, access_key_id: &str, expires_in: Duration) {
        let mut served = self.served.lock().unwrap();
        served.access_key_id = access_key_id.to_owned();
        served.expires_in = expires_in;
    }

    /// Credentials handed out so far, and requests refused for a wrong token.
    pub fn fetches(&self) -> (usize, usize) {
        let served = self.served.lock().unwrap();
        (served.fetches, served.refused)
    }
}

fn answer(access_key_id: &str, expires_in: Duration) -> String {
    let expiry = (SystemTime::now() + expires_in).duration_since(UNIX_EPOCH).unwrap().as_secs();
    let expiration = aws_smithy_types::DateTime::from_secs(expiry as i64)
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap();
    serde_json::json!({
        "AccessKeyId": access_key_id,
        "SecretAccessKey": format!("secret-of-{access_key_id}"),
        "Token": format!("session-of-{access_key_id}"),
        "Expiration": expiration,
    })
    .to_string()
}
