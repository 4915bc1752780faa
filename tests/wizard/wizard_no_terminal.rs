//! The wizard (and `demo` without `--headless`) started without a terminal — from cron or a
//! pipe — says it needs one, names the headless commands and exits 2, before touching the
//! terminal: no escape codes, no backtrace. (`setsid … </dev/null` on a terminal, with no
//! controlling terminal, is in demo_tui.rs, which drives a real one.)

use crate::common;

use std::process::Stdio;

use common::{TestEnv, assert_exit};

fn assert_refused_plainly(what: &str, out: &std::process::Output) {
    assert_exit(out, 2);
    let stderr = String::from_utf8_lossy(&out.stderr);
    for needle in [
        "needs a terminal",
        "entra-extract run",
        "entra-extract check",
        "entra-extract demo --headless",
    ] {
        assert!(stderr.contains(needle), "{what}: no {needle:?} in {stderr}");
    }
    for stream in [&out.stdout, &out.stderr] {
        assert!(
            !stream.contains(&0x1b),
            "{what}: escape codes in a plain stream: {:?}",
            String::from_utf8_lossy(stream)
        );
    }
    assert!(
        !stderr.contains("os error") && !stderr.contains("Location:"),
        "{what}: a plain message, no error report: {stderr}"
    );
}

/// Standard input from /dev/null, output into a pipe: a cron line or `| tee log`.
#[test]
fn without_a_terminal_the_wizard_and_the_demo_say_so_and_exit_2() {
    let env = TestEnv::new();
    for args in [&[][..], &["demo"][..]] {
        let out = env
            .std_command()
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("the binary runs");
        assert_refused_plainly(&format!("{args:?}"), &out);
    }
}
