//! The docs check: README.md and docs/ say only what is true of the
//! repository. Every relative link and anchor resolves; every script, path,
//! environment variable and template parameter they name exists; the README
//! stays a short guide (≤ 300 lines). Rust only: part of the fast tier.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use employee_api_tests::workspace_root;

const README_MAX_LINES: usize = 300;

/// Variables the docs name that belong to other software, not to ours.
const FOREIGN_VARIABLES: &[&str] = &[
    // aws-lc-sys's build switch, in a lever docs/performance.md reports.
    "AWS_LC_SYS_NO_JITTER_ENTROPY",
];

/// README.md and every Markdown file of docs/, with their text.
fn documents() -> Vec<(PathBuf, String)> {
    let root = workspace_root();
    let mut paths = vec![root.join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .expect("docs/")
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    paths.extend(docs);
    paths
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
            (path, text)
        })
        .collect()
}

fn relative(path: &Path) -> String {
    path.strip_prefix(workspace_root()).unwrap_or(path).display().to_string()
}

/// The lines outside fenced code blocks, with their numbers.
fn prose(text: &str) -> Vec<(usize, &str)> {
    let mut fenced = false;
    let mut lines = Vec::new();
    for (number, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if !fenced {
            lines.push((number + 1, line));
        }
    }
    lines
}

/// The inline code spans of a line (`like this`).
fn code_spans(line: &str) -> Vec<&str> {
    line.split('`').skip(1).step_by(2).collect()
}

/// A heading's anchor as GitHub renders it: lower case, punctuation
/// dropped, spaces to hyphens; repeated headings get `-1`, `-2`, ….
fn anchors(text: &str) -> BTreeSet<String> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut anchors = BTreeSet::new();
    for (_, line) in prose(text) {
        let Some(title) = line.strip_prefix('#').map(|t| t.trim_start_matches('#')) else {
            continue;
        };
        if !title.starts_with(' ') {
            continue;
        }
        let title = strip_links(title.trim());
        let slug: String = title
            .to_lowercase()
            .chars()
            .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_')
            .map(|c| if c == ' ' { '-' } else { c })
            .collect();
        let count = seen.entry(slug.clone()).or_insert(0);
        anchors.insert(if *count == 0 { slug.clone() } else { format!("{slug}-{count}") });
        *count += 1;
    }
    anchors
}

/// `[text](target)` → `text`.
fn strip_links(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("](") {
        let Some(end) = rest[start..].find(')') else { break };
        out.push_str(&rest[..start].replacen('[', "", 1));
        rest = &rest[start + end + 1..];
    }
    out.push_str(rest);
    out
}

/// The targets of `[text](target)` and `![alt](target)` in a line.
fn link_targets(line: &str) -> Vec<&str> {
    let mut targets = Vec::new();
    let mut rest = line;
    while let Some(start) = rest.find("](") {
        let after = &rest[start + 2..];
        let Some(end) = after.find(')') else { break };
        targets.push(after[..end].split_whitespace().next().unwrap_or(""));
        rest = &after[end..];
    }
    targets
}

/// Every problem with the relative links of the documents.
fn broken_links(documents: &[(PathBuf, String)]) -> Vec<String> {
    let mut problems = Vec::new();
    for (path, text) in documents {
        for (number, line) in prose(text) {
            for target in link_targets(line) {
                if target.contains("://") || target.starts_with("mailto:") {
                    continue;
                }
                let (file, anchor) = match target.split_once('#') {
                    Some((file, anchor)) => (file, Some(anchor)),
                    None => (target, None),
                };
                let linked =
                    if file.is_empty() { path.clone() } else { path.parent().unwrap().join(file) };
                let at = format!("{}:{number}: {target}", relative(path));
                if !linked.exists() {
                    problems.push(format!("{at}: no such file"));
                    continue;
                }
                if let Some(anchor) = anchor {
                    let text = std::fs::read_to_string(&linked).unwrap_or_default();
                    if !anchors(&text).contains(anchor) {
                        problems.push(format!("{at}: no heading has this anchor"));
                    }
                }
            }
        }
    }
    problems
}

#[test]
fn the_readme_is_a_short_guide() {
    let readme = std::fs::read_to_string(workspace_root().join("README.md")).unwrap();
    let lines = readme.lines().count();
    assert!(
        lines <= README_MAX_LINES,
        "README.md has {lines} lines; keep it to {README_MAX_LINES} and move reference material to docs/"
    );
}

#[test]
fn every_relative_link_and_anchor_resolves() {
    let problems = broken_links(&documents());
    assert!(problems.is_empty(), "broken links:\n{}", problems.join("\n"));
}

#[test]
fn the_link_check_finds_a_broken_link_and_anchor() {
    let dir = std::env::temp_dir().join(format!("docs-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let page = dir.join("page.md");
    std::fs::write(
        &page,
        "# A page\n\n## Safe writes, and `If-Match`\n\n[ok](#safe-writes-and-if-match) \
         [gone](missing.md) [wrong](#safe-writes) [self](page.md#a-page)\n\
         ```\n[in code](not-checked.md)\n```\n",
    )
    .unwrap();
    let text = std::fs::read_to_string(&page).unwrap();
    let problems = broken_links(&[(page, text)]);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(problems[0].ends_with("missing.md: no such file"), "{problems:?}");
    assert!(problems[1].ends_with("#safe-writes: no heading has this anchor"), "{problems:?}");
}

/// The text every name the docs use must occur in: the scripts, the code
/// that reads the environment, the templates.
fn corpus() -> String {
    let root = workspace_root();
    let mut text = String::new();
    let mut stack: Vec<PathBuf> =
        ["scripts", "shared/src", "functions", "client/src", "bench/src", "tests/src", ".ci"]
            .iter()
            .map(|dir| root.join(dir))
            .collect();
    while let Some(path) = stack.pop() {
        if path.is_dir() {
            stack.extend(std::fs::read_dir(&path).unwrap().map(|entry| entry.unwrap().path()));
        } else if let Ok(content) = std::fs::read_to_string(&path) {
            text.push_str(&content);
            text.push('\n');
        }
    }
    for file in ["template.yaml", "template-managed-instances.yaml", "Cargo.toml"] {
        text.push_str(&std::fs::read_to_string(root.join(file)).unwrap());
    }
    text
}

fn contains_word(text: &str, word: &str) -> bool {
    text.match_indices(word).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + word.len()..].chars().next();
        let part = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
        !part(before) && !part(after)
    })
}

/// `TABLE_NAME`, `REQUIRE_IF_MATCH=true`, `$AWS_REGION`: the names of
/// environment variables, in upper case with an underscore.
fn environment_variable(span: &str) -> Option<&str> {
    let name = span.trim_start_matches('$').split('=').next()?;
    let shaped = name.len() > 2
        && name.contains('_')
        && name.starts_with(|c: char| c.is_ascii_uppercase())
        && name.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
    shaped.then_some(name)
}

#[test]
fn every_environment_variable_and_script_named_exists() {
    let root = workspace_root();
    let corpus = corpus();
    let mut problems = Vec::new();
    for (path, text) in documents() {
        for (number, line) in prose(&text) {
            let at = format!("{}:{number}", relative(&path));
            for span in code_spans(line) {
                for word in span.split_whitespace() {
                    if let Some(name) = environment_variable(word)
                        && !FOREIGN_VARIABLES.contains(&name)
                        && !contains_word(&corpus, name)
                    {
                        problems.push(format!("{at}: `{name}` is read by no script or code"));
                    }
                }
            }
            for (at_index, _) in line.match_indices("scripts/") {
                let rest = &line[at_index..];
                let end = rest
                    .find(|c: char| !(c.is_ascii_alphanumeric() || "/._-".contains(c)))
                    .unwrap_or(rest.len());
                let named = rest[..end].trim_end_matches('.');
                let in_repository = at_index == 0
                    || !line[..at_index].ends_with(|c: char| c.is_ascii_alphanumeric() || c == '/');
                if in_repository && named.len() > "scripts/".len() && !root.join(named).exists() {
                    problems.push(format!("{at}: {named} does not exist"));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Backticked paths into the repository (`tests/tests/load.rs`,
/// `shared/src/telemetry/`) exist.
#[test]
fn every_repository_path_named_exists() {
    let root = workspace_root();
    let tops =
        ["shared/", "functions/", "tests/", "bench/", "client/", "events/", "reference/", "docs/"];
    let mut problems = Vec::new();
    for (path, text) in documents() {
        for (number, line) in prose(&text) {
            for span in code_spans(line) {
                let named = span.trim_end_matches([',', '.', ':']);
                let plain = !named.contains(|c: char| c.is_whitespace() || "*<>{}|…".contains(c));
                if plain
                    && tops.iter().any(|top| named.starts_with(top))
                    && !root.join(named).exists()
                {
                    problems.push(format!("{}:{number}: {named} does not exist", relative(&path)));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The `Parameters` of a template.
fn template_parameters(file: &str) -> BTreeSet<String> {
    let text = std::fs::read_to_string(workspace_root().join(file)).unwrap();
    let template = employee_api_tests::template::yaml(&text);
    template["Parameters"]
        .as_mapping()
        .expect("Parameters")
        .keys()
        .map(|k| k.as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn every_template_parameter_is_documented_and_every_one_named_exists() {
    let plain = template_parameters("template.yaml");
    let managed = template_parameters("template-managed-instances.yaml");
    let all: BTreeSet<&String> = plain.iter().chain(&managed).collect();
    let documents = documents();
    let mut problems = Vec::new();

    // `Name=value` (as --parameter-overrides take them) names a parameter.
    for (path, text) in &documents {
        for (number, line) in text.lines().enumerate() {
            for word in line.split(|c: char| c.is_whitespace() || c == '`') {
                let Some((name, _)) = word.split_once('=') else { continue };
                let camel = name.len() > 3
                    && name.starts_with(|c: char| c.is_ascii_uppercase())
                    && name.chars().any(|c| c.is_ascii_lowercase())
                    && name.chars().all(|c| c.is_ascii_alphanumeric());
                if camel && !all.contains(&name.to_owned()) {
                    problems.push(format!(
                        "{}:{}: {name} is not a template parameter",
                        relative(path),
                        number + 1
                    ));
                }
            }
        }
    }

    let text_of = |name: &str| {
        documents
            .iter()
            .find(|(path, _)| path.ends_with(name))
            .map(|(_, text)| text.clone())
            .unwrap_or_else(|| panic!("docs/{name} is missing"))
    };
    let deploy = text_of("deploy.md");
    for parameter in &plain {
        if !deploy.contains(&format!("| `{parameter}` |")) {
            problems.push(format!("template.yaml's {parameter} has no row in docs/deploy.md"));
        }
    }
    let managed_doc = text_of("managed-instances.md");
    for parameter in managed.difference(&plain) {
        if !managed_doc.contains(&format!("`{parameter}`")) {
            problems.push(format!(
                "template-managed-instances.yaml's {parameter} is not named in docs/managed-instances.md"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn no_command_in_the_docs_passes_beta_features() {
    // The pinned SAM CLI builds rust-cargolambda without the flag (docs/deploy.md).
    for (path, text) in documents() {
        let mut fenced = false;
        for (number, line) in text.lines().enumerate() {
            if line.trim_start().starts_with("```") {
                fenced = !fenced;
            }
            let command = fenced || code_spans(line).iter().any(|s| s.starts_with("sam "));
            assert!(
                !(command && line.contains("--beta-features")),
                "{}:{}: sam needs no --beta-features",
                relative(&path),
                number + 1
            );
        }
    }
}
