//! SigV4 as botocore (the Python SDK's signer, from the SAM CLI's
//! virtualenv in `.tools/venv`) computes it: an implementation independent
//! of the `aws-sigv4` crate our code signs with, to check signatures
//! against.

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::workspace_root;

/// Reads a JSON list of requests on stdin, prints a JSON list of the
/// `Authorization` headers botocore computes for them.
const SIGNER: &str = r#"
import base64, datetime, json, sys
import botocore.auth
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

answers = []
for case in json.load(sys.stdin):
    if "amz_date" in case:
        when = datetime.datetime.strptime(case["amz_date"], "%Y%m%dT%H%M%SZ")
        when = when.replace(tzinfo=datetime.timezone.utc)
    else:
        when = datetime.datetime.fromtimestamp(case["time"], datetime.timezone.utc)
    # add_auth reads the clock through this name only.
    botocore.auth.get_current_datetime = lambda when=when: when.replace(tzinfo=None)
    request = AWSRequest(
        method=case["method"],
        url=case["url"],
        headers=dict(case["headers"]),
        data=base64.b64decode(case["body"]),
    )
    credentials = Credentials(case["access_key_id"], case["secret"], case.get("token"))
    SigV4Auth(credentials, case["service"], case["region"]).add_auth(request)
    answers.append({
        "authorization": request.headers["Authorization"],
        "x-amz-date": request.headers["X-Amz-Date"],
        "x-amz-security-token": request.headers.get("X-Amz-Security-Token"),
        "time": int(when.timestamp()),
    })
json.dump(answers, sys.stdout)
"#;

/// The signatures botocore computes for `cases`, one JSON object each:
/// `method`, `url`, `headers` (pairs, `Host` left out: it comes from the
/// URL), `body` (base64), `service`, `region`, `access_key_id`, `secret`,
/// `token` (or null), and the time, as `amz_date` (`20260301T123456Z`) or
/// `time` (Unix seconds). Each answer has `authorization`, `x-amz-date`,
/// `x-amz-security-token` and `time`.
pub fn sign(cases: &[Value]) -> Vec<Value> {
    let python = workspace_root().join(".tools/venv/bin/python");
    assert!(python.is_file(), "{} is missing: run ./scripts/install-tools.sh", python.display());
    let mut child = Command::new(python)
        .args(["-c", SIGNER])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python runs");
    child.stdin.take().unwrap().write_all(&serde_json::to_vec(cases).unwrap()).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "botocore: {}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).expect("botocore's answers")
}

/// The names in an `Authorization` header's `SignedHeaders`.
pub fn signed_headers(authorization: &str) -> Vec<String> {
    authorization
        .split(", ")
        .find_map(|part| part.strip_prefix("SignedHeaders="))
        .unwrap_or_else(|| panic!("no SignedHeaders in {authorization}"))
        .split(';')
        .map(str::to_owned)
        .collect()
}
