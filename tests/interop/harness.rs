//! The interop tests' own harness (`harness = false` in Cargo.toml, on libtest-mimic): the same
//! command line and output as `cargo test`'s, but a test whose tracker is not installed is
//! reported as ignored, with the reason, instead of passing without having run:
//!
//! ```text
//! test udp_announce_scrape_and_stopped_match_the_swarm ... ignored (opentracker is not installed: apt-get install opentracker)
//! test result: ok. 1 passed; 0 failed; 6 ignored; 0 measured; 0 filtered out; finished in 0.01s
//! ```
//!
//! Under `CI=true` a missing tracker fails the test instead (`.ci/run` installs every tracker).

use std::process::{Command, ExitCode, Stdio};

use libtest_mimic::{Arguments, Completion, Failed, Trial};

/// What a test needs installed: `None` when it is there, else what is missing and how to install
/// it.
pub type Requirement = fn() -> Option<String>;

/// A test that runs `body` when `needs` is met (or needs nothing). A missing requirement makes it
/// ignored with the reason, or failed under `CI=true`; a panic in `body` fails it.
pub fn test(name: &str, needs: Option<Requirement>, body: fn()) -> Trial {
    Trial::ignorable_test(name, move || {
        if let Some(missing) = needs.and_then(|needs| needs()) {
            return if ci() {
                Err(Failed::from(format!(
                    "{missing}; CI=true requires every interop tracker"
                )))
            } else {
                Ok(Completion::ignored_with(missing))
            };
        }
        body();
        Ok(Completion::Completed)
    })
}

/// The trials of test functions grouped by what they need, each named after its function:
/// `trials![Some(opentracker_missing) => [test_a, test_b], None => [test_c]]`.
#[macro_export]
macro_rules! trials {
    ($($needs:expr => [$($body:path),* $(,)?]),* $(,)?) => {
        vec![$($($crate::interop::harness::test(stringify!($body), $needs, $body)),*),*]
    };
}

/// Runs `trials` with the command line `cargo test` passed (filters, `--list`, `--exact`,
/// `--test-threads`, ...), prints libtest's report and summary, and gives the exit code: 101 when a
/// test failed.
pub fn run(trials: Vec<Trial>) -> ExitCode {
    libtest_mimic::run(&Arguments::from_args(), trials).exit_code()
}

/// Whether this is CI (`CI=true`), where every tracker must be installed.
fn ci() -> bool {
    std::env::var("CI").as_deref() == Ok("true")
}

/// `None` when `program` can be started from `PATH`, else that it is not installed and `how` to
/// install it.
pub fn missing_program(program: &str, how: &str) -> Option<String> {
    let started = Command::new(program)
        .arg("--version")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    (!started).then(|| format!("{program} is not installed: {how}"))
}
