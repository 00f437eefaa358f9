"""The functions under AWS SAM's local emulator, on DynamoDB Local.

Run by scripts/sam-local-test.sh, through `scripts/sam-local.sh run`, which
sets up the container engine, DynamoDB Local with the table and the
`--env-vars` file, and exports SAM_LOCAL_* (see that script). Checks:

  1. SAM's own route discovery (the code `sam local start-api` runs) finds
     the five routes with each AuthorizationType: AWS_IAM, JWT and NONE.
  2. `sam local invoke` on every file in events/, in an order that makes each
     answer certain, each answer checked (status and body, or the direct
     invocation's output or errorType), then what the table holds; then
     every file in events/doors/ (one request as each door delivers it),
     each of which must reach a%41 and never the decoy aA.
  3. `sam local start-api`: every route over HTTP, error cases included; ids
     a second percent-decoding would turn into others (a%41, 100%, x%2541,
     a+b, ü ñ) created, read and deleted through their Location; and what
     SAM itself answers for a path or method no route serves.
  4. `sam local start-lambda`: the Lambda Invoke API with boto3, with the
     state machine's input ({"employee": "42"}), errors included.

`sam local invoke` exits 0 even when the function crashes: answers are read
from its output, never from its exit status. All checks run, then every
failure is listed; the exit status is 1 if there was any.

Runs on the SAM CLI's virtualenv (.tools/venv: boto3, samcli).
"""

import base64
import json
import os
import pathlib
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import boto3
from botocore.config import Config

import sam_local_table as table

ROOT = pathlib.Path(__file__).resolve().parent.parent
SAM = str(pathlib.Path(sys.executable).parent / "sam")
TEMPLATE = os.environ["SAM_LOCAL_TEMPLATE"]
ARCHITECTURE = os.environ["SAM_LOCAL_ARCHITECTURE"]
ENV_VARS = os.environ["SAM_LOCAL_ENV_VARS"]
SKIP_PULL = os.environ["SAM_LOCAL_SKIP_PULL_IMAGE"] == "1"
DYNAMODB = os.environ["SAM_LOCAL_DYNAMODB_ENDPOINT"]
TABLE = os.environ["TABLE_NAME"]
LOG_DIR = pathlib.Path(os.environ.get("SAM_LOCAL_LOG_DIR") or ENV_VARS).resolve().parent

GET, ADD, REMOVE = "GetEmployeeFunction", "AddEmployeeFunction", "RemoveEmployeeFunction"
ENGINEER_42 = {"employee": "42", "jobTitle": "Engineer"}

failures = []


def fail(what, detail):
    failures.append(f"{what}: {detail}")
    print(f"  FAIL {what}: {detail}", flush=True)


def ok(what, seconds=None):
    timing = f"  ({seconds:.1f} s)" if seconds is not None else ""
    print(f"  ok   {what}{timing}", flush=True)


def sam_local_args():
    args = [
        "--template", TEMPLATE,
        "--parameter-overrides", f"Architecture={ARCHITECTURE}",
        "--env-vars", ENV_VARS,
    ]
    return args + (["--skip-pull-image"] if SKIP_PULL else [])


# --- what an answer must be ------------------------------------------------------


class Http:
    """An API Gateway (payload 2.0) response: status, and either the exact
    JSON body or the error code of an error body."""

    def __init__(self, status, body=None, error=None, location=None):
        self.status, self.body, self.error, self.location = status, body, error, location

    def check(self, status, headers, text):
        """Problems with a response, as a list of strings."""
        problems = []
        if status != self.status:
            problems.append(f"status {status}, expected {self.status}")
        try:
            body = json.loads(text)
        except ValueError:
            return problems + [f"body is not JSON: {text[:200]!r}"]
        content_type = {k.lower(): v for k, v in headers.items()}.get("content-type", "")
        if not content_type.startswith("application/json"):
            problems.append(f"content-type {content_type!r}")
        if self.error is not None:
            if not isinstance(body, dict) or body.get("error") != self.error:
                problems.append(f"error {body!r}, expected {self.error}")
            elif not isinstance(body.get("message"), str) or not body["message"]:
                problems.append(f"error without a message: {body!r}")
        elif self.body is not None and body != self.body:
            problems.append(f"body {body!r}, expected {self.body!r}")
        if self.location is not None:
            location = {k.lower(): v for k, v in headers.items()}.get("location")
            if location != self.location:
                problems.append(f"location {location!r}, expected {self.location!r}")
        return problems


class Output:
    """A direct invocation's result (the state machine's output)."""

    def __init__(self, value):
        self.value = value


class FunctionError:
    """A direct invocation's function error, by errorType."""

    def __init__(self, error_type):
        self.error_type = error_type


# --- 1. route discovery for every AuthorizationType ------------------------------

ROUTES = {
    ("GET", "/employees/{employeeId}", GET),
    ("GET", "/employees", GET),
    ("POST", "/employees", ADD),
    ("PUT", "/employees/{employeeId}", ADD),
    ("DELETE", "/employees/{employeeId}", REMOVE),
}

AUTHORIZATION = {
    "AWS_IAM": {},
    "JWT": {
        "AuthorizationType": "JWT",
        "JwtIssuer": "https://issuer.example.com",
        "JwtAudience": "employee-api",
    },
    "NONE": {"AuthorizationType": "NONE"},
}


def check_route_discovery():
    """What `sam local start-api` reads from the template, in-process: its
    ApiProvider, for each authorization choice (start-api itself runs with
    the default below)."""
    from samcli.lib.providers.api_provider import ApiProvider
    from samcli.lib.providers.sam_stack_provider import SamLocalStackProvider

    print("==> SAM route discovery (sam local start-api's ApiProvider), per AuthorizationType")
    for name, overrides in AUTHORIZATION.items():
        what = f"AuthorizationType={name}"
        try:
            stacks, _ = SamLocalStackProvider.get_stacks(
                TEMPLATE, parameter_overrides={"Architecture": ARCHITECTURE, **overrides}
            )
            routes = {
                (method, route.path, route.function_name)
                for route in ApiProvider(stacks).routes
                for method in route.methods
            }
        except Exception as err:  # SAM's own crash is the failure this guards
            fail(what, f"{type(err).__name__}: {err}")
            continue
        if routes != ROUTES:
            fail(what, f"routes {sorted(routes)}, expected {sorted(ROUTES)}")
        else:
            ok(f"{what}: {len(routes)} routes")


# --- 2. sam local invoke on every event file -------------------------------------

# Every file in events/, its function, and what it must get, in order (the
# table holds only 42, Engineer, at the start).
EVENTS = [
    ("get-employee.json", GET, Http(200, ENGINEER_42)),
    ("get-employee-missing.json", GET, Http(404, error="EmployeeDoesNotExist")),
    ("sam-generated-get-employee.json", GET, Http(200, ENGINEER_42)),
    ("list-employees.json", GET, Http(200, {"employees": [ENGINEER_42], "nextCursor": None})),
    (
        "list-employees-by-job-title.json",
        GET,
        Http(200, {"employees": [ENGINEER_42], "nextCursor": None}),
    ),
    ("list-employees-bad-limit.json", GET, Http(400, error="ValidationError")),
    ("direct-get-employee.json", GET, Output(ENGINEER_42)),
    ("direct-get-employee-missing.json", GET, FunctionError("EmployeeDoesNotExist")),
    (
        "add-employee.json",
        ADD,
        Http(201, {"employee": "43", "jobTitle": "Product Manager"}, location="/employees/43"),
    ),
    ("add-employee-duplicate.json", ADD, Http(409, error="EmployeeAlreadyExists")),
    ("add-employee-bad-body.json", ADD, Http(400, error="ValidationError")),
    ("add-employee-base64.json", ADD, Http(201, {"employee": "45", "jobTitle": "Data Scientist"})),
    ("sam-generated-add-employee.json", ADD, Http(201, {"employee": "48", "jobTitle": "Engineer"})),
    (
        "put-employee.json",
        ADD,
        Http(201, {"employee": "46", "jobTitle": "Site Reliability Engineer"}),
    ),
    ("sam-generated-put-employee.json", ADD, Http(201, {"employee": "47", "jobTitle": "Engineer"})),
    ("direct-add-employee.json", ADD, Output({"employee": "49", "jobTitle": "Engineer"})),
    ("direct-add-employee-duplicate.json", ADD, FunctionError("EmployeeAlreadyExists")),
    ("remove-employee.json", REMOVE, Http(200, ENGINEER_42)),
    ("remove-employee-missing.json", REMOVE, Http(404, error="EmployeeDoesNotExist")),
    (
        "sam-generated-remove-employee.json",
        REMOVE,
        Http(200, {"employee": "43", "jobTitle": "Product Manager"}),
    ),
    ("direct-remove-employee.json", REMOVE, Output({"employee": "49", "jobTitle": "Engineer"})),
    ("direct-remove-employee-missing.json", REMOVE, FunctionError("EmployeeDoesNotExist")),
]

# What the table holds after the events above.
AFTER_EVENTS = {
    "45": "Data Scientist",
    "46": "Site Reliability Engineer",
    "47": "Engineer",
    "48": "Engineer",
}


def check_answer(what, expected, answer):
    if isinstance(expected, Http):
        if not isinstance(answer, dict) or "statusCode" not in answer:
            return fail(what, f"not an HTTP response: {answer!r}")
        body = answer.get("body") or ""
        if answer.get("isBase64Encoded"):
            body = base64.b64decode(body).decode()
        problems = expected.check(answer["statusCode"], answer.get("headers") or {}, body)
    elif isinstance(expected, Output):
        problems = [] if answer == expected.value else [f"{answer!r}, expected {expected.value!r}"]
    else:
        error_type = answer.get("errorType") if isinstance(answer, dict) else None
        problems = (
            []
            if error_type == expected.error_type
            else [f"{answer!r}, expected errorType {expected.error_type}"]
        )
    for problem in problems:
        fail(what, problem)
    return not problems


def invoke_and_check(event, function, expected):
    """`sam local invoke` of events/<event> on `function`, its answer checked."""
    what = f"{event} -> {function}"
    started = time.monotonic()
    try:
        run = subprocess.run(
            [SAM, "local", "invoke", function, "--event", f"events/{event}", *sam_local_args()],
            cwd=ROOT, capture_output=True, text=True, timeout=180,
        )
    except subprocess.TimeoutExpired:
        return fail(what, "sam local invoke did not finish in 180 s")
    seconds = time.monotonic() - started
    # The answer is the last line on stdout; the function's logs go to stderr.
    lines = [line for line in run.stdout.splitlines() if line.strip()]
    try:
        answer = json.loads(lines[-1])
    except (IndexError, ValueError):
        tail = "\n".join(run.stderr.splitlines()[-15:])
        return fail(what, f"no answer (exit {run.returncode}); stdout {run.stdout[-300:]!r}\n{tail}")
    if check_answer(what, expected, answer):
        status = answer.get("statusCode") if isinstance(answer, dict) else None
        ok(f"{what}: {status or answer}", seconds)


def check_invoke_every_event():
    print("==> sam local invoke, every file in events/")
    files = sorted(p.name for p in (ROOT / "events").glob("*.json"))
    listed = sorted(event for event, _, _ in EVENTS)
    if files != listed:
        fail(
            "events/",
            f"every event file needs an expectation in {pathlib.Path(__file__).name}: "
            f"not listed {sorted(set(files) - set(listed))}, missing {sorted(set(listed) - set(files))}",
        )
    table.reset(DYNAMODB, TABLE, {"42": "Engineer"})
    for event, function, expected in EVENTS:
        invoke_and_check(event, function, expected)
    held = table.items(DYNAMODB, TABLE)
    if held != AFTER_EVENTS:
        fail("the table after the events", f"{held!r}, expected {AFTER_EVENTS!r}")
    else:
        ok(f"the table after the events holds {sorted(held)}")
    # The same request as every door delivers it (events/doors/): each
    # reaches a%41, never the decoy aA.
    table.reset(DYNAMODB, TABLE, {"a%41": "Real", "aA": "Decoy"})
    for event in sorted(p.name for p in (ROOT / "events" / "doors").glob("*.json")):
        invoke_and_check(f"doors/{event}", GET, Http(200, {"employee": "a%41", "jobTitle": "Real"}))


# --- helpers for the servers --------------------------------------------------------


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`sam local start-api` or `start-lambda`, in this process group: if
    scripts/sam-local.sh is stopped, it ends the whole group."""

    def __init__(self, command, port):
        self.port = port
        self.log_path = LOG_DIR / f"sam-local-{command}.log"
        self.log = open(self.log_path, "w")
        self.process = subprocess.Popen(
            [SAM, "local", command, "--port", str(port), *sam_local_args()],
            cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT,
        )

    def wait_until_listening(self, timeout=180):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return True
            except OSError:
                time.sleep(0.3)
        return False

    def tail(self, lines=30):
        self.log.flush()
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self):
        """SIGTERM (SAM then removes its containers), SIGKILL if it lingers."""
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


# --- 3. sam local start-api ----------------------------------------------------------


def request(base, method, path, body=None, content_type="application/json"):
    data = None
    headers = {}
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers["content-type"] = content_type
    req = urllib.request.Request(base + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=120) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read().decode()


def http_check(base, method, path, expected, body=None, **kwargs):
    what = f"{method} {path}"
    started = time.monotonic()
    try:
        status, headers, text = request(base, method, path, body, **kwargs)
    except OSError as err:
        fail(what, f"no answer: {err}")
        return None
    problems = expected.check(status, headers, text)
    for problem in problems:
        fail(what, problem)
    if not problems:
        ok(f"{what}: {status}", time.monotonic() - started)
    return json.loads(text) if not problems else None


def check_start_api():
    print("==> sam local start-api, every route over HTTP")
    table.reset(DYNAMODB, TABLE, {"42": "Engineer"})
    server = Server("start-api", free_port())
    try:
        started = time.monotonic()
        if not server.wait_until_listening():
            return fail("sam local start-api", f"did not listen on {server.port}:\n{server.tail()}")
        ok(f"sam local start-api listening on {server.port}", time.monotonic() - started)
        base = f"http://127.0.0.1:{server.port}"
        http_check(base, "GET", "/employees/42", Http(200, ENGINEER_42))
        http_check(base, "GET", "/employees/does-not-exist", Http(404, error="EmployeeDoesNotExist"))
        http_check(base, "GET", "/employees?limit=0", Http(400, error="ValidationError"))
        http_check(
            base, "GET", "/employees?jobTitle=Engineer&limit=10",
            Http(200, {"employees": [ENGINEER_42], "nextCursor": None}),
        )
        pm = {"employee": "43", "jobTitle": "Product Manager"}
        http_check(base, "POST", "/employees", Http(201, pm, location="/employees/43"), body=pm)
        http_check(
            base, "POST", "/employees", Http(409, error="EmployeeAlreadyExists"),
            body={"employee": "42", "jobTitle": "Impostor"},
        )
        http_check(
            base, "POST", "/employees", Http(400, error="ValidationError"),
            body={"employee": "44", "jobTitle": "Engineer", "salary": 1},
        )
        http_check(
            base, "POST", "/employees", Http(415, error="UnsupportedMediaType"),
            body=b"employee=44", content_type="application/x-www-form-urlencoded",
        )
        http_check(
            base, "POST", "/employees", Http(413, error="PayloadTooLarge"),
            body={"employee": "44", "jobTitle": "x" * 20000},
        )
        director = {"employee": "43", "jobTitle": "Director"}
        http_check(base, "PUT", "/employees/43", Http(200, director), body={"jobTitle": "Director"})
        http_check(
            base, "PUT", "/employees/Ada%20Lovelace",
            Http(201, {"employee": "Ada Lovelace", "jobTitle": "Engineer"}),
            body={"jobTitle": "Engineer"},
        )
        http_check(base, "PUT", "/employees/44", Http(400, error="ValidationError"), body={})
        # Every page, following nextCursor, through SAM's query strings.
        seen, path = [], "/employees?limit=2"
        for _ in range(5):
            page = http_check(base, "GET", path, Http(200))
            if page is None:
                break
            seen += [e["employee"] for e in page["employees"]]
            if page["nextCursor"] is None:
                break
            path = "/employees?limit=2&cursor=" + urllib.request.quote(page["nextCursor"], safe="")
        if sorted(seen) != ["42", "43", "Ada Lovelace"]:
            fail("GET /employees, every page", f"{seen!r}")
        http_check(base, "DELETE", "/employees/43", Http(200, director))
        http_check(base, "DELETE", "/employees/43", Http(404, error="EmployeeDoesNotExist"))
        check_ids_through_start_api(base)
        # No route: SAM answers itself, as API Gateway would, and never calls a function.
        http_check(
            base, "GET", "/departments",
            Http(403, {"message": "Missing Authentication Token"}),
        )
        http_check(
            base, "PATCH", "/employees/42",
            Http(403, {"message": "Missing Authentication Token"}),
            body={"jobTitle": "Engineer"},
        )
    finally:
        server.stop()


def check_ids_through_start_api(base):
    """Ids a second percent-decoding would turn into others: SAM decodes the
    path as API Gateway does (events/doors/README.md), so each must reach its
    own record through the Location it was given, and never the decoy."""
    real = {"employee": "a%41", "jobTitle": "Real"}
    http_check(base, "POST", "/employees", Http(201, real, location="/employees/a%2541"), body=real)
    decoy = {"employee": "aA", "jobTitle": "Decoy"}
    http_check(base, "POST", "/employees", Http(201, decoy, location="/employees/aA"), body=decoy)
    http_check(base, "GET", "/employees/a%2541", Http(200, real))
    replaced = {"employee": "a%41", "jobTitle": "Replaced"}
    http_check(base, "PUT", "/employees/a%2541", Http(200, replaced), body={"jobTitle": "Replaced"})
    http_check(base, "DELETE", "/employees/a%2541", Http(200, replaced))
    http_check(base, "GET", "/employees/aA", Http(200, decoy))
    http_check(base, "DELETE", "/employees/aA", Http(200, decoy))
    for employee, location in [
        ("100%", "/employees/100%25"),
        ("x%2541", "/employees/x%252541"),
        ("a+b", "/employees/a+b"),
        ("ü ñ", "/employees/%C3%BC%20%C3%B1"),
    ]:
        created = {"employee": employee, "jobTitle": "Real"}
        http_check(base, "POST", "/employees", Http(201, created, location=location), body=created)
        http_check(base, "GET", location, Http(200, created))
        http_check(base, "DELETE", location, Http(200, created))
    # API Gateway cuts a path at a decoded `?`: such an id is never created over HTTP.
    http_check(
        base, "POST", "/employees", Http(400, error="ValidationError"),
        body={"employee": "a?b", "jobTitle": "x"},
    )


# --- 4. sam local start-lambda ---------------------------------------------------------


def check_start_lambda():
    print("==> sam local start-lambda, the Lambda Invoke API with boto3")
    table.reset(DYNAMODB, TABLE, {"42": "Engineer"})
    server = Server("start-lambda", free_port())
    try:
        started = time.monotonic()
        if not server.wait_until_listening():
            return fail("sam local start-lambda", f"did not listen on {server.port}:\n{server.tail()}")
        ok(f"sam local start-lambda listening on {server.port}", time.monotonic() - started)
        client = boto3.client(
            "lambda",
            endpoint_url=f"http://127.0.0.1:{server.port}",
            region_name="us-east-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",
            config=Config(retries={"max_attempts": 1}, read_timeout=120, connect_timeout=10),
        )
        new = {"employee": "50", "jobTitle": "Engineer"}
        cases = [
            (GET, {"employee": "42"}, Output(ENGINEER_42)),
            (GET, {"employee": "does-not-exist"}, FunctionError("EmployeeDoesNotExist")),
            (ADD, new, Output(new)),
            (ADD, {"employee": "42", "jobTitle": "Impostor"}, FunctionError("EmployeeAlreadyExists")),
            (REMOVE, {"employee": "50"}, Output(new)),
            (REMOVE, {"employee": "50"}, FunctionError("EmployeeDoesNotExist")),
        ]
        for function, payload, expected in cases:
            what = f"invoke {function} {json.dumps(payload)}"
            started = time.monotonic()
            try:
                response = client.invoke(FunctionName=function, Payload=json.dumps(payload))
            except Exception as err:
                fail(what, f"{type(err).__name__}: {err}")
                continue
            answer = json.loads(response["Payload"].read() or b"null")
            function_error = response.get("FunctionError")
            if isinstance(expected, FunctionError) and not function_error:
                fail(what, f"no FunctionError in the response: {answer!r}")
                continue
            if isinstance(expected, Output) and function_error:
                fail(what, f"FunctionError {function_error}: {answer!r}")
                continue
            if check_answer(what, expected, answer):
                shown = answer.get("errorType") if function_error else answer
                ok(f"{what}: {shown}", time.monotonic() - started)
    finally:
        server.stop()


def main():
    # Stopped from outside (scripts/sam-local.sh's clean-up): stop the servers too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started = time.monotonic()
    phases = [check_route_discovery, check_invoke_every_event, check_start_api, check_start_lambda]
    for phase in phases:
        phase_started = time.monotonic()
        try:
            phase()
        except Exception as err:  # the next phases still run
            fail(phase.__name__, f"{type(err).__name__}: {err}")
        print(f"     ({time.monotonic() - phase_started:.0f} s)", flush=True)
    print(f"==> SAM checks: {time.monotonic() - started:.0f} s, {len(failures)} failure(s)")
    if failures:
        print("\n".join(["Failed:"] + [f"  - {f}" for f in failures]), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
