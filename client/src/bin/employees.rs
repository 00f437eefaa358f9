//! `employees`: the employee API from a terminal.
//!
//! Exit codes: 0 done; 1 the API refused (its error code on stderr); 2 a
//! usage or set-up error; 3 the API was unavailable after retries.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use employee_api_client::{Auth, Client, Condition, Employee, Error, ListOptions, Page, Revision};
use futures_util::TryStreamExt;
use serde_json::json;

#[derive(Parser)]
#[command(
    name = "employees",
    version,
    about = "Read and write the employee API: signed, retried and safe under concurrent writers",
    after_help = "Examples:\n  employees --stack employee-api list --all\n  employees --url http://127.0.0.1:9000 get 42\n\nExit codes: 0 done, 1 the API refused (its error code on stderr), 2 usage or set-up, 3 unavailable after retries."
)]
struct Cli {
    #[command(flatten)]
    target: Target,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args)]
struct Target {
    /// The API's URL, with its stage where it has one.
    #[arg(long, env = "EMPLOYEES_URL", global = true, conflicts_with = "stack")]
    url: Option<String>,
    /// The CloudFormation stack whose `ApiUrl` output is the API.
    #[arg(long, env = "EMPLOYEES_STACK", global = true)]
    stack: Option<String>,
    /// AWS region (to sign for, and to find the stack in).
    #[arg(long, global = true)]
    region: Option<String>,
    /// AWS profile of ~/.aws/config.
    #[arg(long, global = true)]
    profile: Option<String>,
    /// How to authorize: SigV4, a JWT bearer token, or nothing. Default: none
    /// for a loopback URL, iam otherwise.
    #[arg(long, value_enum, global = true)]
    auth: Option<AuthKind>,
    /// The JWT for --auth jwt.
    #[arg(long, env = "EMPLOYEES_TOKEN", global = true, hide_env_values = true)]
    token: Option<String>,
    /// Output format. Default: table on a terminal, JSON otherwise.
    #[arg(long, value_enum, global = true)]
    output: Option<Output>,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum AuthKind {
    Iam,
    Jwt,
    None,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Output {
    Json,
    Table,
}

#[derive(Subcommand)]
enum Command {
    /// Show one employee and its ETag.
    #[command(after_help = "Example:\n  employees --stack employee-api get 42")]
    Get { id: String },
    /// List employees: one page, or every page with --all.
    #[command(
        after_help = "Example:\n  employees --stack employee-api list --job-title Engineer --all"
    )]
    List {
        /// Only employees with exactly this job title.
        #[arg(long)]
        job_title: Option<String>,
        /// Employees per page (1–100).
        #[arg(long)]
        limit: Option<u32>,
        /// Follow every page.
        #[arg(long, conflicts_with = "cursor")]
        all: bool,
        /// The page after this `nextCursor`.
        #[arg(long)]
        cursor: Option<String>,
    },
    /// Create an employee (refused if the id exists).
    #[command(after_help = "Example:\n  employees --stack employee-api add 42 Engineer")]
    Add { id: String, job_title: String },
    /// Create or replace an employee.
    #[command(
        after_help = "Example:\n  employees --stack employee-api put 42 'Senior Engineer' --if-match '\"v123\"'"
    )]
    Put {
        id: String,
        job_title: String,
        /// Only replace this revision (an ETag, or `*` for "exists").
        #[arg(long, conflicts_with = "if_absent")]
        if_match: Option<String>,
        /// Only create (If-None-Match: *).
        #[arg(long)]
        if_absent: bool,
    },
    /// Change an employee's job title, again on a concurrent write: nothing is lost.
    #[command(
        after_help = "Example:\n  employees --stack employee-api update 42 --job-title Director"
    )]
    Update {
        id: String,
        #[arg(long)]
        job_title: String,
    },
    /// Remove an employee.
    #[command(
        after_help = "Example:\n  employees --stack employee-api remove 42 --if-match '\"v123\"'"
    )]
    Remove {
        id: String,
        /// Only remove this revision.
        #[arg(long)]
        if_match: Option<String>,
    },
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let output = cli.target.output.unwrap_or(if std::io::stdout().is_terminal() {
        Output::Table
    } else {
        Output::Json
    });
    match run(cli).await {
        Ok(shown) => {
            print!("{}", render(&shown, output));
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("employees: {error}");
            ExitCode::from(exit_code(&error))
        }
    }
}

fn exit_code(error: &Error) -> u8 {
    match error {
        Error::Api { .. } | Error::UnexpectedAnswer { .. } | Error::UpdateConflict { .. } => 1,
        Error::Unavailable { .. } | Error::Transport(_) | Error::Tls(_) => 3,
        _ => 2,
    }
}

/// What a command shows.
enum Shown {
    Revision(Revision),
    Employee(Employee),
    Page(Page),
}

async fn run(cli: Cli) -> Result<Shown, Error> {
    let client = client(&cli.target).await?;
    Ok(match cli.command {
        Command::Get { id } => Shown::Revision(client.get(&id).await?),
        Command::List { job_title, limit, all, cursor } => {
            let options = ListOptions { job_title, page_size: limit };
            if all {
                let employees = client.list(options).try_collect().await?;
                Shown::Page(Page { employees, next_cursor: None })
            } else {
                Shown::Page(client.list_page(&options, cursor.as_deref()).await?)
            }
        }
        Command::Add { id, job_title } => Shown::Revision(client.create(&id, &job_title).await?),
        Command::Put { id, job_title, if_match, if_absent } => {
            let condition = match (if_match, if_absent) {
                (Some(tags), _) => Condition::IfMatch(tags),
                (None, true) => Condition::IfAbsent,
                (None, false) => Condition::None,
            };
            Shown::Revision(client.put(&id, &job_title, &condition).await?)
        }
        Command::Update { id, job_title } => {
            Shown::Revision(client.update(&id, |_| job_title.clone()).await?)
        }
        Command::Remove { id, if_match } => {
            let condition = if_match.map_or(Condition::None, Condition::IfMatch);
            Shown::Employee(client.remove(&id, &condition).await?)
        }
    })
}

async fn client(target: &Target) -> Result<Client, Error> {
    let mut builder = Client::builder();
    let loopback = match (&target.url, &target.stack) {
        (Some(url), _) => {
            builder = builder.base_url(url);
            is_loopback(url)
        }
        (None, Some(stack)) => {
            builder = builder.stack(stack);
            false
        }
        (None, None) => {
            return Err(Error::Config(
                "no API given: pass --url URL or --stack NAME (or set EMPLOYEES_URL)".into(),
            ));
        }
    };
    let auth = match target.auth.unwrap_or(if loopback { AuthKind::None } else { AuthKind::Iam }) {
        AuthKind::Iam => Auth::Iam,
        AuthKind::None => Auth::None,
        AuthKind::Jwt => Auth::Bearer(target.token.clone().ok_or_else(|| {
            Error::Config("--auth jwt needs a token: pass --token or set EMPLOYEES_TOKEN".into())
        })?),
    };
    builder = builder.auth(auth);
    if let Some(region) = &target.region {
        builder = builder.region(region);
    }
    if let Some(profile) = &target.profile {
        builder = builder.profile(profile);
    }
    builder.build().await
}

fn is_loopback(url: &str) -> bool {
    reqwest::Url::parse(url).ok().is_some_and(|u| match u.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    })
}

fn render(shown: &Shown, output: Output) -> String {
    match (shown, output) {
        (Shown::Revision(r), Output::Json) => format!("{}\n", json!(r)),
        (Shown::Employee(e), Output::Json) => format!("{}\n", json!(e)),
        (Shown::Page(p), Output::Json) => format!("{}\n", json!(p)),
        (Shown::Revision(r), Output::Table) => table(
            &["EMPLOYEE", "JOB TITLE", "ETAG"],
            &[[&r.employee.employee, &r.employee.job_title, &r.etag]],
        ),
        (Shown::Employee(e), Output::Table) => {
            table(&["EMPLOYEE", "JOB TITLE"], &[[&e.employee, &e.job_title]])
        }
        (Shown::Page(p), Output::Table) => {
            let rows: Vec<[&String; 2]> =
                p.employees.iter().map(|e| [&e.employee, &e.job_title]).collect();
            let mut text = table(&["EMPLOYEE", "JOB TITLE"], &rows);
            if let Some(cursor) = &p.next_cursor {
                text.push_str(&format!("(more: --cursor {cursor})\n"));
            }
            text
        }
    }
}

/// Columns padded to their widest cell (in characters).
fn table<const N: usize>(header: &[&str; N], rows: &[[&String; N]]) -> String {
    let mut widths = header.map(|h| h.chars().count());
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> =
            cells.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        format!("{}\n", padded.join("  ").trim_end())
    };
    let mut text = line(header.to_vec());
    for row in rows {
        text.push_str(&line(row.iter().map(|c| c.as_str()).collect()));
    }
    text
}
