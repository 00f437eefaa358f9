//! The smallest HTTP/1.1 server the Runtime API needs: requests arrive on a
//! channel in order, each answered through its own reply channel. Sockets
//! have `TCP_NODELAY`, so a response is not held back by Nagle's algorithm
//! (which, with delayed ACKs, adds ~40 ms to every round trip).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::time::Duration;

pub struct Incoming {
    pub method: String,
    pub url: String,
    pub body: String,
    reply: Sender<Vec<u8>>,
}

impl Incoming {
    pub fn respond(self, status: u16, headers: &[(&str, String)], body: &str) {
        let mut response = format!("HTTP/1.1 {status} OK\r\ncontent-length: {}\r\n", body.len());
        for (name, value) in headers {
            response.push_str(&format!("{name}: {value}\r\n"));
        }
        response.push_str("\r\n");
        response.push_str(body);
        let _ = self.reply.send(response.into_bytes());
    }
}

pub struct Server {
    requests: Receiver<Incoming>,
    pub port: u16,
}

impl Server {
    pub fn bind() -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        let (sender, requests) = channel();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let sender = sender.clone();
                std::thread::spawn(move || serve(stream, &sender));
            }
        });
        Ok(Self { requests, port })
    }

    pub fn recv_timeout(&self, timeout: Duration) -> Option<Incoming> {
        self.requests.recv_timeout(timeout).ok()
    }
}

fn serve(stream: TcpStream, sender: &Sender<Incoming>) {
    let _ = stream.set_nodelay(true);
    let Ok(mut writer) = stream.try_clone() else { return };
    let mut reader = BufReader::new(stream);
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = request_line.split_whitespace();
        let (Some(method), Some(url)) = (parts.next(), parts.next()) else { return };
        let (method, url) = (method.to_owned(), url.to_owned());
        let mut content_length = 0;
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 {
                return;
            }
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                content_length = value.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; content_length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let (reply, replies) = channel();
        let body = String::from_utf8_lossy(&body).into_owned();
        if sender.send(Incoming { method, url, body, reply }).is_err() {
            return;
        }
        let Ok(response) = replies.recv() else { return };
        if writer.write_all(&response).is_err() {
            return;
        }
    }
}
