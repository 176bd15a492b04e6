//! The README is an index, and an index is only worth its links. A reader starts at README.md and
//! must reach every detail in one click: every relative link in README.md and docs/*.md leads to a
//! file that exists, every `#anchor` into a markdown file names one of its headings (GitHub's
//! slugs), the README's layout lists exactly the top-level folders the repository tracks, and the
//! README stays short enough to read (at most 300 lines; the detail lives in docs/). Each IdP page
//! carries the set-up steps the Admin Portal shows, generated from `src/provider/guides.rs`, so a
//! person reading the docs and one following the portal follow the same list.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use scim_lambda::provider::guides::{guide, markdown};
use scim_lambda::provider::Provider;

/// Past this the README stops being an index and becomes the manual again (issue 17: it had grown
/// to ~1,000 lines, with "Deploy" after 230 lines of benchmark tables).
const README_MAX_LINES: usize = 300;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// The files the repository holds, as `git ls-files` names them: build output and local state
/// (`target/`, `.local/`, `.venv*/`, `fuzz/target/`) are ignored by git, so they never count.
/// Without git (an exported tarball) the files on disk stand in, skipping hidden folders and
/// `target/`, which is what .gitignore leaves out at the top level.
fn tracked_files() -> Vec<String> {
    let git = Command::new("git")
        .arg("-C")
        .arg(root())
        .args(["ls-files", "-z"])
        .output();
    match git {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout)
            .split('\0')
            .filter(|f| !f.is_empty())
            .map(str::to_string)
            .collect(),
        _ => files_on_disk(root(), ""),
    }
}

fn files_on_disk(dir: &Path, prefix: &str) -> Vec<String> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("reading the repository") {
        let entry = entry.expect("reading the repository");
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || name == "target" {
            continue;
        }
        let path = format!("{prefix}{name}");
        if entry.path().is_dir() {
            files.extend(files_on_disk(&entry.path(), &format!("{path}/")));
        } else {
            files.push(path);
        }
    }
    files
}

/// README.md and every page under docs/.
fn markdown_files() -> Vec<PathBuf> {
    let mut files = vec![root().join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root().join("docs"))
        .expect("reading docs/")
        .map(|e| e.expect("reading docs/").path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    docs.sort();
    files.extend(docs);
    files
}

/// The lines of a markdown text outside fenced code blocks, with their line numbers: a `# comment`
/// in a shell block is not a heading, and `a[i](x)` in a Python block is not a link.
fn prose(text: &str) -> Vec<(usize, &str)> {
    let mut fence: Option<&str> = None;
    let mut lines = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        let marker = ["```", "~~~"].into_iter().find(|m| trimmed.starts_with(m));
        match (fence, marker) {
            (None, Some(m)) => fence = Some(m),
            (Some(open), Some(m)) if open == m => fence = None,
            (None, None) => lines.push((i + 1, line)),
            _ => {}
        }
    }
    lines
}

/// GitHub's anchor for a heading: lower-cased; letters, digits, `-` and `_` kept; spaces become
/// `-`; everything else (punctuation, backticks) dropped.
fn github_slug(heading: &str) -> String {
    heading
        .trim()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .flat_map(char::to_lowercase)
        .collect()
}

/// Every anchor a markdown text offers: one per ATX heading (`#` to `######`), a repeated heading
/// getting `-1`, `-2`, … as GitHub numbers them.
fn anchors(text: &str) -> BTreeSet<String> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut anchors = BTreeSet::new();
    for (_, line) in prose(text) {
        let hashes = line.chars().take_while(|&c| c == '#').count();
        if !(1..=6).contains(&hashes) || !line[hashes..].starts_with(' ') {
            continue;
        }
        let slug = github_slug(line[hashes..].trim().trim_end_matches('#'));
        let n = seen.entry(slug.clone()).or_insert(0);
        anchors.insert(if *n == 0 { slug } else { format!("{slug}-{n}") });
        *n += 1;
    }
    anchors
}

/// A line with its inline code spans blanked out: `` `[a](b)` `` shows a link, it is not one.
fn without_code_spans(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut in_code = false;
    for c in line.chars() {
        if c == '`' {
            in_code = !in_code;
            out.push(' ');
        } else {
            out.push(if in_code { ' ' } else { c });
        }
    }
    out
}

/// The targets of the inline links and images (`[text](target "title")`) and reference
/// definitions (`[label]: target`) of a markdown text, with their line numbers.
fn links(text: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (number, line) in prose(text) {
        let line = without_code_spans(line);
        let trimmed = line.trim_start();
        if trimmed.starts_with('[') {
            if let Some((_, target)) = trimmed.split_once("]: ") {
                found.push((
                    number,
                    target.split_whitespace().next().unwrap_or("").into(),
                ));
                continue;
            }
        }
        let mut rest = line.as_str();
        while let Some(at) = rest.find("](") {
            let after = &rest[at + 2..];
            let mut depth = 1;
            let end = after
                .char_indices()
                .find(|&(_, c)| {
                    depth += match c {
                        '(' => 1,
                        ')' => -1,
                        _ => 0,
                    };
                    depth == 0
                })
                .map_or(after.len(), |(i, _)| i);
            let target = after[..end].split_whitespace().next().unwrap_or("");
            found.push((number, target.trim_matches(['<', '>']).to_string()));
            rest = &after[end..];
        }
    }
    found
}

fn is_relative(target: &str) -> bool {
    !(target.contains("://") || target.starts_with("mailto:"))
}

/// What is wrong with the relative links of `text`, read as the file `file`: a target that does
/// not exist, or an anchor that no heading of the markdown file it points into has.
fn broken_links(file: &Path, text: &str) -> Vec<String> {
    let shown = file
        .strip_prefix(root())
        .unwrap_or(file)
        .display()
        .to_string();
    let mut broken = Vec::new();
    for (line, target) in links(text) {
        if target.is_empty() {
            broken.push(format!("{shown}:{line}: an empty link"));
            continue;
        }
        if !is_relative(&target) {
            continue;
        }
        let (path, anchor) = match target.split_once('#') {
            Some((path, anchor)) => (path, Some(anchor)),
            None => (target.as_str(), None),
        };
        let resolved = if path.is_empty() {
            file.to_path_buf()
        } else {
            file.parent().unwrap_or(root()).join(path)
        };
        if !path.is_empty() && !resolved.exists() {
            broken.push(format!("{shown}:{line}: {target}: no such file"));
            continue;
        }
        let Some(anchor) = anchor else { continue };
        // Anchors into code (GitHub's `#L10` line links) are not headings; only markdown has them.
        if resolved.extension().is_some_and(|x| x == "md") {
            let offered = if path.is_empty() {
                anchors(text)
            } else {
                anchors(&read(&resolved))
            };
            if !offered.contains(anchor) {
                broken.push(format!(
                    "{shown}:{line}: {target}: no heading has the anchor #{anchor}"
                ));
            }
        }
    }
    broken
}

/// The entries of the README's layout: the first word of each unindented line of the first code
/// block under "## Layout" (`src/scim/`, `tests/replays`, `.cargo/`).
fn layout_entries(readme: &str) -> Vec<String> {
    let mut lines = readme.lines().skip_while(|l| l.trim() != "## Layout");
    assert!(
        lines.next().is_some(),
        "README.md has no \"## Layout\" section"
    );
    let mut lines = lines.skip_while(|l| !l.trim_start().starts_with("```"));
    assert!(
        lines.next().is_some(),
        "the README's layout has no code block"
    );
    lines
        .take_while(|l| !l.trim_start().starts_with("```"))
        .filter(|l| !l.starts_with(char::is_whitespace))
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

fn top_level(path: &str) -> Option<&str> {
    let (first, _) = path.split_once('/')?;
    (!first.starts_with('.')).then_some(first)
}

#[test]
fn the_readme_is_an_index_of_at_most_300_lines() {
    let lines = read(&root().join("README.md")).lines().count();
    assert!(
        lines <= README_MAX_LINES,
        "README.md has {lines} lines (at most {README_MAX_LINES}): move the detail into docs/ and link it"
    );
}

#[test]
fn every_relative_link_in_the_readme_and_docs_resolves() {
    let files = markdown_files();
    assert!(files.len() > 1, "docs/ holds no markdown pages");
    let broken: Vec<String> = files
        .iter()
        .flat_map(|file| broken_links(file, &read(file)))
        .collect();
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

#[test]
fn every_docs_page_is_one_click_from_the_readme() {
    let readme = root().join("README.md");
    let linked: BTreeSet<PathBuf> = links(&read(&readme))
        .into_iter()
        .filter(|(_, target)| is_relative(target))
        .map(|(_, target)| root().join(target.split('#').next().unwrap_or("")))
        .collect();
    let unreachable: Vec<String> = markdown_files()
        .into_iter()
        .skip(1)
        .filter(|page| !linked.contains(page))
        .map(|page| {
            page.strip_prefix(root())
                .unwrap_or(&page)
                .display()
                .to_string()
        })
        .collect();
    assert!(
        unreachable.is_empty(),
        "docs pages no README link leads to: {unreachable:?}"
    );
}

#[test]
fn the_readme_layout_lists_exactly_the_folders_the_repository_has() {
    let entries = layout_entries(&read(&root().join("README.md")));
    let listed: BTreeSet<&str> = entries.iter().filter_map(|e| top_level(e)).collect();
    let files = tracked_files();
    let present: BTreeSet<&str> = files.iter().filter_map(|f| top_level(f)).collect();
    assert_eq!(
        listed, present,
        "the README's layout must name every top-level folder of the repository, and only those"
    );
    let missing: Vec<&String> = entries
        .iter()
        .filter(|e| !root().join(e.trim_end_matches('/')).exists())
        .collect();
    assert!(
        missing.is_empty(),
        "the README's layout names paths that do not exist: {missing:?}"
    );
}

/// The checker itself, on a page made to fail: it must see a missing file and a missing anchor,
/// and must not read links or headings inside code.
#[test]
fn the_link_checker_finds_what_is_broken_and_ignores_code() {
    let page = root().join("docs").join("example.md");
    let text = "# Example page\n\
        ## Refused events: parking, 410, resuming\n\
        [ok](#refused-events-parking-410-resuming) [ok](../README.md) [ok](https://example.com/x)\n\
        [gone](missing.md) [no anchor](#nowhere) [README](../README.md#no-such-heading)\n\
        `[code](not-a-link.md)`\n\
        ```sh\n\
        # a shell comment, not a heading\n\
        python -c 'a[0](b)'\n\
        ```\n";
    let broken = broken_links(&page, text);
    assert_eq!(broken.len(), 3, "{broken:#?}");
    assert!(broken[0].contains("missing.md: no such file"));
    assert!(broken[1].contains("#nowhere"));
    assert!(broken[2].contains("#no-such-heading"));
    assert!(!anchors(text).contains("a-shell-comment-not-a-heading"));
}

#[test]
fn anchors_are_github_slugs() {
    assert_eq!(
        github_slug("Data model (single table, no GSIs)"),
        "data-model-single-table-no-gsis"
    );
    assert_eq!(github_slug("`scimctl`"), "scimctl");
    assert_eq!(
        github_slug("Client credentials (OAuth 2.0)"),
        "client-credentials-oauth-20"
    );
    assert_eq!(github_slug("What a URL may reach"), "what-a-url-may-reach");
    let twice = anchors("## Notes\n## Notes\n## Notes\n");
    assert_eq!(
        twice,
        BTreeSet::from(["notes".into(), "notes-1".into(), "notes-2".into()])
    );
}

/// Where an IdP page's generated steps start and end. The begin marker names the command that
/// rewrites the block, for whoever changes a guide and sees this test fail.
const STEPS_BEGIN: &str = "<!-- portal-steps:begin (generated from src/provider/guides.rs; SCIM_WRITE_DOCS=1 cargo nextest run --features local docs rewrites it) -->";
const STEPS_END: &str = "<!-- portal-steps:end -->";

/// The IdP pages with the providers whose steps they carry, in `Provider::ALL` order. `Other`
/// has no IdP page: its guide points to the protocol behaviour page, which has no steps block.
fn idp_pages() -> BTreeMap<&'static str, Vec<Provider>> {
    let mut pages: BTreeMap<&'static str, Vec<Provider>> = BTreeMap::new();
    for p in Provider::ALL.into_iter().filter(|&p| p != Provider::Other) {
        pages.entry(guide(p).docs_page).or_default().push(p);
    }
    pages
}

/// What a page holds between the markers: the steps of its one provider, or, on a page two
/// providers share (Okta's app integration and its SCIM 1.1 catalog app), each provider's steps
/// under its product name and the guide's intro.
fn steps_block(providers: &[Provider]) -> String {
    match providers {
        [one] => markdown(guide(*one)),
        several => several
            .iter()
            .map(|&p| {
                let g = guide(p);
                format!("### {}\n\n{}\n\n{}", p.product_name(), g.intro, markdown(g))
            })
            .collect::<Vec<_>>()
            .join("\n"),
    }
}

/// `text` with its steps block replaced by `block`, or why it cannot be: the markers must be there
/// once each, in order.
fn with_steps(text: &str, block: &str) -> Result<String, String> {
    let (head, rest) = match text.split_once(STEPS_BEGIN) {
        Some(split) if !split.1.contains(STEPS_BEGIN) => split,
        _ => return Err("needs exactly one portal-steps:begin marker".into()),
    };
    let (_, tail) = match rest.split_once(STEPS_END) {
        Some(split) if !split.1.contains(STEPS_END) => split,
        _ => return Err("needs exactly one portal-steps:end marker after the begin marker".into()),
    };
    Ok(format!("{head}{STEPS_BEGIN}\n\n{block}\n{STEPS_END}{tail}"))
}

#[test]
fn every_idp_page_carries_the_steps_the_portal_shows() {
    let rewrite = std::env::var_os("SCIM_WRITE_DOCS").is_some_and(|v| v == "1");
    let mut stale = Vec::new();
    for (page, providers) in idp_pages() {
        let path = root().join(page);
        let text = read(&path);
        let expected = with_steps(&text, &steps_block(&providers))
            .unwrap_or_else(|why| panic!("{page} {why}"));
        if expected == text {
            continue;
        }
        if rewrite {
            std::fs::write(&path, expected).unwrap_or_else(|e| panic!("writing {page}: {e}"));
        } else {
            stale.push(page);
        }
    }
    assert!(
        stale.is_empty(),
        "the steps in {stale:?} differ from src/provider/guides.rs: run \
         SCIM_WRITE_DOCS=1 cargo nextest run --features local docs"
    );
}

#[test]
fn every_provider_but_other_has_an_idp_page_that_exists() {
    for p in Provider::ALL.into_iter().filter(|&p| p != Provider::Other) {
        let page = guide(p).docs_page;
        assert!(
            page.starts_with("docs/idp-") && page.ends_with(".md"),
            "{p:?}: {page}"
        );
        assert!(root().join(page).is_file(), "{p:?}: {page} does not exist");
    }
    assert!(root().join(guide(Provider::Other).docs_page).is_file());
}

#[test]
fn the_steps_block_is_replaced_between_its_markers_only() {
    let page = format!("# Page\n\n{STEPS_BEGIN}\n\nold\n{STEPS_END}\n\n## Detail\n");
    assert_eq!(
        with_steps(&page, "1. new\n").as_deref(),
        Ok(format!("# Page\n\n{STEPS_BEGIN}\n\n1. new\n\n{STEPS_END}\n\n## Detail\n").as_str())
    );
    assert!(with_steps("# Page\n", "1. new\n").is_err());
    assert!(with_steps(&format!("{STEPS_END}{STEPS_BEGIN}"), "x").is_err());
}
