//! The report as a person sees it: headless Chromium opens the sample's page
//! (the team against the previous period, one rep, a comparison period
//! without calls), the DOM it built shows the expected figures, a screenshot
//! is taken, and the console stays silent (the page runs no script; a
//! blocked load would log).
//!
//! Needs Debian's `chromium` (`.ci/run` installs it); without it the test
//! says so on stderr and passes.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::harness::temporary_folder;
use crate::report::{report_from_flags, sample_report};

/// Where Debian installs Chromium.
const CHROMIUM: &str = "/usr/bin/chromium";
/// How long one Chromium run may take, a slow first start included.
const TIMEOUT: Duration = Duration::from_secs(60);

/// What one Chromium run left: its exit status, stdout and stderr.
struct Run {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

/// Runs headless Chromium with a fresh profile in `folder` and `args`, with
/// its streams in files (a DOM dump overflows a pipe); killed after [`TIMEOUT`].
fn chromium(folder: &Path, name: &str, args: &[String]) -> Run {
    let profile = folder.join(format!("profile-{name}"));
    let stdout_path = folder.join(format!("{name}.stdout"));
    let stderr_path = folder.join(format!("{name}.stderr"));
    let mut child = Command::new(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .stdin(Stdio::null())
        .stdout(File::create(&stdout_path).expect("a stdout file"))
        .stderr(File::create(&stderr_path).expect("a stderr file"))
        .spawn()
        .expect("starting chromium");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for chromium") {
            break status;
        }
        if started.elapsed() > TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "chromium {name} took over {TIMEOUT:?}; stderr:\n{}",
                std::fs::read_to_string(&stderr_path).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let read = |path: &PathBuf| {
        String::from_utf8_lossy(&std::fs::read(path).unwrap_or_default()).into_owned()
    };
    Run {
        status,
        stdout: read(&stdout_path),
        stderr: read(&stderr_path),
    }
}

/// The console messages of a run that are errors: Chromium logs console
/// output as `CONSOLE` lines; a script error says `Uncaught`, a load the
/// content security policy blocked says `Refused to`.
fn console_errors(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|line| {
            line.contains("CONSOLE") || line.contains("Uncaught") || line.contains("Refused to")
        })
        .collect()
}

/// The text a person reads in an HTML document: the style sheet and tags
/// dropped, entities of the escaped characters decoded, spaces collapsed.
fn visible_text(html: &str) -> String {
    let html = match (html.find("<style"), html.find("</style>")) {
        (Some(start), Some(end)) if start < end => format!("{}{}", &html[..start], &html[end..]),
        _ => html.to_string(),
    };
    let mut text = String::with_capacity(html.len());
    let mut in_tag = false;
    for character in html.chars() {
        match character {
            '<' => {
                in_tag = true;
                text.push(' ');
            }
            '>' if in_tag => in_tag = false,
            _ if !in_tag => text.push(character),
            _ => {}
        }
    }
    let text = text
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Whether Chromium is installed; says on stderr that `test` is skipped when not.
fn chromium_installed(test: &str) -> bool {
    let installed = Path::new(CHROMIUM).exists();
    if !installed {
        eprintln!("skipping {test}: {CHROMIUM} is not installed (apt-get install chromium)");
    }
    installed
}

/// The text a person reads on `page` once Chromium has built it; no
/// console error on the way.
fn rendered_text(folder: &Path, name: &str, page: &Path) -> String {
    let url = format!("file://{}", page.display());
    let dom = chromium(folder, name, &["--dump-dom".into(), url]);
    assert!(
        dom.status.success(),
        "chromium --dump-dom failed:\n{}",
        dom.stderr
    );
    assert_eq!(
        console_errors(&dom.stderr),
        Vec::<&str>::new(),
        "console errors"
    );
    visible_text(&dom.stdout)
}

/// Asserts that `text` shows each of `figures`.
fn assert_shows(text: &str, figures: &[&str]) {
    for figures in figures {
        assert!(
            text.contains(figures),
            "the page shows `{figures}`:\n{text}"
        );
    }
}

#[test]
fn report_renders_in_chromium_with_the_expected_figures() {
    if !chromium_installed("report_renders_in_chromium") {
        return;
    }
    let folder = temporary_folder();
    let (_, page) = sample_report(folder.path());
    let text = rendered_text(folder.path(), "dom", &page);
    assert_shows(
        &text,
        &[
            "Outbound calls 2024-03-04 – 2024-03-17",
            // Stage, current, previous, change (whole percents: the API's
            // 2 decimals of a fraction), rate, previous rate, difference.
            "Dials 930 858 ▲ +8% 100.0% 100.0% 0.0 pp",
            "Connected 350 350 = 0% 37.6% 40.8% -3.2 pp",
            "Conversations 193 200 ▼ -4% 20.8% 23.3% -2.5 pp",
            "Conversions 58 58 = 0% 6.2% 6.8% -0.6 pp",
            "930 (100.0%) · was 858, +8%",
            "1 Zoë Müller zoe.mueller@example.com 75",
            "Average conversation time 204.0 s 176.5 s ▲ +16%",
            "Total conversation time 19h 50m 08s 17h 09m 39s",
            "Duplicate ids collapsed 3",
            // 3,060 calls kept − 2,033 outside the period − 97 inbound or
            // SMS = 930 dials (checked with a separate Python reading of
            // the sample).
            "Calls kept 3,060",
            "Outside the period − 2,033",
            "Inbound or SMS − 97",
            "Dials = 930 the funnel's dials",
            "How to read these figures",
            "A call counts as connected when the person called picked up",
            "Friday 16:00–16:59: 36 dials, 20 connected (55.6%)",
            "Monday 07:00–07:59: 1 dial, 1 connected (100.0%)",
        ],
    );
    // Every heatmap cell has its hover text in the rendered DOM ("… 20
    // connected (55.6%)").
    let hover_texts = text
        .match_indices(" connected (")
        .filter(|(at, found)| {
            text[at + found.len()..]
                .chars()
                .next()
                .is_some_and(|next| next.is_ascii_digit())
        })
        .count();
    assert_eq!(hover_texts, 168);

    let url = format!("file://{}", page.display());
    let screenshot = folder.path().join("report.png");
    let shot = chromium(
        folder.path(),
        "screenshot",
        &[
            format!("--screenshot={}", screenshot.display()),
            "--window-size=1280,2000".into(),
            "--hide-scrollbars".into(),
            url,
        ],
    );
    assert!(
        shot.status.success(),
        "chromium --screenshot failed:\n{}",
        shot.stderr
    );
    assert_eq!(
        console_errors(&shot.stderr),
        Vec::<&str>::new(),
        "console errors"
    );
    let png = std::fs::read(&screenshot).expect("the screenshot");
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "a PNG");
    let width = u32::from_be_bytes(png[16..20].try_into().expect("4 bytes"));
    let height = u32::from_be_bytes(png[20..24].try_into().expect("4 bytes"));
    assert_eq!((width, height), (1280, 2000));
    // A blank page compresses to a few kilobytes; charts and tables do not.
    assert!(
        png.len() > 60_000,
        "a screenshot with content: {} bytes",
        png.len()
    );
}

#[test]
fn the_reports_analysis_renders_in_chromium_with_its_figures() {
    if !chromium_installed("the_reports_analysis_renders_in_chromium") {
        return;
    }
    let folder = temporary_folder();
    let (_, page) = sample_report(folder.path());
    let text = rendered_text(folder.path(), "analysis", &page);
    assert_shows(
        &text,
        &[
            // The breakdown per rep: n, connected, connect rate with its
            // 95 % interval, voicemails, the rate without them, conversions,
            // conversion rate, and the change of the connect rate.
            "By rep",
            "Priya Shah (usr-6h3j8p) 132 59 44.7% (36.5–53.2) 20 52.7% (43.5–61.7) 8 6.1% (3.1–11.5) +1.3 pp",
            // 14 dials without a rep: a small sample, marked.
            "(none) 14 4 28.6% (11.7–54.6) *",
            "Connect rate, three ways",
            "Voicemails 145 125",
            "Connect rate (voicemail not connected) 37.6% (34.6–40.8)",
            "Connect rate, voicemail left out of the dials 44.6%",
            "Contact reach",
            "Contacts dialled 930",
            "Reach rate 37.6% (34.6–40.8)",
            "When to call",
            "Friday 16:00–16:59: 55.6% (",
            " connected of 36 dials",
        ],
    );
}

/// The sample's period and tags as flags, with `extra`.
fn sample_flags<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut flags = vec![
        "--from",
        "2024-03-04",
        "--to",
        "2024-03-17",
        "--tags",
        "demo_booked",
        "--timezone",
        "Europe/Paris",
    ];
    flags.extend_from_slice(extra);
    flags
}

#[test]
fn a_report_of_one_rep_names_them_and_shows_their_figures() {
    if !chromium_installed("a_report_of_one_rep_names_them_and_shows_their_figures") {
        return;
    }
    let folder = temporary_folder();
    let page = report_from_flags(folder.path(), &sample_flags(&["--user-ids", "usr-7b1x3d"]));
    let text = rendered_text(folder.path(), "rep", &page);
    // Zoë Müller's calls (checked with a separate Python reading of the
    // sample): 176 dials against 172, 75 connected against 78 (the 75 of
    // the team's leaderboard), 44 conversations against 48, 16 conversions
    // against 9 (+77.8 %: +78 % at the API's precision).
    assert_shows(
        &text,
        &[
            "Outbound calls of Zoë Müller (usr-7b1x3d), 2024-03-04 – 2024-03-17",
            "Rep: Zoë Müller (usr-7b1x3d)",
            "Dials 176 172 ▲ +2% 100.0% 100.0% 0.0 pp",
            "Connected 75 78 ▼ -4% 42.6% 45.3% -2.7 pp",
            "Conversations 44 48 ▼ -8% 25.0% 27.9% -2.9 pp",
            "Conversions 16 9 ▲ +78% 9.1% 5.2% +3.9 pp",
            "1 Zoë Müller zoe.mueller@example.com 75",
            "Other reps or numbers − 754",
            "Dials = 176",
            "Every outbound call placed in the period by the rep usr-7b1x3d.",
        ],
    );
    assert!(!text.contains("Mathéo Girard"), "no other rep: {text}");
}

#[test]
fn a_report_against_an_empty_comparison_period_shows_no_change() {
    if !chromium_installed("a_report_against_an_empty_comparison_period_shows_no_change") {
        return;
    }
    let folder = temporary_folder();
    let page = report_from_flags(
        folder.path(),
        &sample_flags(&[
            "--compare-from",
            "2023-01-02",
            "--compare-to",
            "2023-01-15",
            "--title",
            "Sales calls, first half of March",
        ]),
    );
    let text = rendered_text(folder.path(), "empty", &page);
    assert_shows(
        &text,
        &[
            "Sales calls, first half of March",
            "2024-03-04 – 2024-03-17, compared with 2023-01-02 – 2023-01-15",
            "Dials 930 0 n/a 100.0% n/a n/a",
            "Connected 350 0 n/a 37.6% n/a n/a",
            "930 (100.0%) · was 0, n/a",
            "Average conversation time 204.0 s n/a n/a",
        ],
    );
}

#[test]
fn a_report_without_a_comparison_shows_no_previous_figure() {
    if !chromium_installed("a_report_without_a_comparison_shows_no_previous_figure") {
        return;
    }
    let folder = temporary_folder();
    let page = report_from_flags(folder.path(), &sample_flags(&["--compare", "none"]));
    let text = rendered_text(folder.path(), "none", &page);
    // The current figures of the sample's first half of March, as the
    // report with a comparison shows them, and nothing of a previous period.
    assert_shows(
        &text,
        &[
            "2024-03-04 – 2024-03-17, no comparison",
            "Stage Current Rate of dials",
            "Dials 930 100.0%",
            "Connected 350 37.6%",
            "Conversations 193 20.8%",
            "Conversions 58 6.2%",
        ],
    );
    for previous in ["· was", "n/a", " pp", "Previous", "▲", "▼"] {
        assert!(!text.contains(previous), "no `{previous}`: {text}");
    }
}
