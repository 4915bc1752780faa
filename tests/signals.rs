//! The signal listener the headless commands share (`cli::connect::on_signals`), in a test
//! binary of its own: the signals raised here reach only this process. (`run_atomic` and
//! `demo_tui` send signals to the real binary.)

#![cfg(unix)]

use std::time::Duration;

/// A signal that arrives while the previous one is still being handled (its message is
/// being written to a slow terminal) is handled next, not lost: listening never pauses.
///
/// Deterministic: the handler blocks until the test lets it go on, and the second signal is
/// raised meanwhile; a task spawned from outside the runtime then wakes the other worker,
/// which takes in the signal (it turns the runtime's driver) before the handler returns.
#[test]
fn a_signal_arriving_while_the_previous_one_is_handled_is_not_lost() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let (called_tx, mut called) = tokio::sync::mpsc::unbounded_channel();
        let (go_on_tx, go_on) = std::sync::mpsc::channel::<()>();
        entra_extract::cli::connect::on_signals(move || {
            let _ = called_tx.send(());
            let _ = go_on.recv_timeout(Duration::from_secs(30));
            "handled"
        });
        let mut handled = async |what: &str| {
            tokio::time::timeout(Duration::from_secs(10), called.recv())
                .await
                .unwrap_or_else(|_| panic!("{what} was never handled"))
        };
        raise(libc::SIGINT);
        handled("the first SIGINT").await;
        raise(libc::SIGINT);
        tokio::spawn(async {}).await.unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        go_on_tx.send(()).unwrap();
        handled("the SIGINT that came while the first was handled").await;
        go_on_tx.send(()).unwrap();
    });
}

fn raise(signal: libc::c_int) {
    // SAFETY: raise(3) only sends a signal to this process, which listens for it.
    assert_eq!(unsafe { libc::raise(signal) }, 0);
}
