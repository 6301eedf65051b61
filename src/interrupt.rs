//! Signals as a run sees them. SIGINT, SIGTERM and SIGHUP (a closed terminal or SSH session)
//! stop a run at once — unless the command is in a
//! part that can end early with what it already has (svc while its probe runs: the API checks'
//! results are printed, the rest skipped as interrupted). Such a part runs its work through
//! [`unless_interrupted`]; the signal handler ([`raise`]) then lets the command finish.

use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};

use tokio::sync::Notify;

use crate::error::exit;

/// A signal that ends a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Signal {
    Int,
    Term,
    Hup,
}

impl Signal {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Signal::Int => "SIGINT",
            Signal::Term => "SIGTERM",
            Signal::Hup => "SIGHUP",
        }
    }

    /// The shell's convention, 128 + the signal's number.
    pub(crate) fn exit_code(self) -> u8 {
        match self {
            Signal::Int => exit::SIGINT,
            Signal::Term => exit::SIGTERM,
            Signal::Hup => exit::SIGHUP,
        }
    }
}

/// The signal received, by exit code (0: none yet).
static RECEIVED: AtomicU8 = AtomicU8::new(0);
/// How many parts are running through [`unless_interrupted`] now.
static WATCHING: AtomicUsize = AtomicUsize::new(0);
static NOTIFY: Notify = Notify::const_new();

/// The signal received, if any: what a long computation polls to stop between steps.
pub(crate) fn received() -> Option<Signal> {
    match RECEIVED.load(Ordering::SeqCst) {
        exit::SIGINT => Some(Signal::Int),
        exit::SIGTERM => Some(Signal::Term),
        exit::SIGHUP => Some(Signal::Hup),
        _ => None,
    }
}

/// Set by the run's own handler ([`raise`]): the async runtime is responsive and has the signal.
static ANSWERED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether a signal reached the run's own handler (the async runtime is responsive).
fn seen() -> bool {
    ANSWERED.load(Ordering::SeqCst)
}

/// Whether the run is inside [`crate::interruptible`]: its handler deletes the probe's Job
/// and prints what the run has; outside it there is nothing to clean up.
static HANDLED: AtomicUsize = AtomicUsize::new(0);

/// Marks the run as handling signals itself while the guard lives.
pub(crate) fn handling() -> impl Drop {
    struct Guard;
    impl Drop for Guard {
        fn drop(&mut self) {
            HANDLED.fetch_sub(1, Ordering::SeqCst);
        }
    }
    HANDLED.fetch_add(1, Ordering::SeqCst);
    Guard
}

/// Commands streaming their document hold stdout while they compute (`reach`): the last
/// resort cannot print for them, and they close their own document at the next row instead.
static STREAMING: AtomicUsize = AtomicUsize::new(0);

/// Marks the run as streaming its document while the guard lives: on a signal the watchdog
/// records it ([`received`]) and gives the command a moment to close its document.
pub(crate) fn streaming() -> impl Drop {
    struct Guard;
    impl Drop for Guard {
        fn drop(&mut self) {
            STREAMING.fetch_sub(1, Ordering::SeqCst);
        }
    }
    STREAMING.fetch_add(1, Ordering::SeqCst);
    Guard
}

/// A signal's last resort: a thread that, when the run's own handler cannot answer (a blocking
/// read of stdin or a FIFO, a long computation hold its thread), ends the process within 1 s
/// after `last_words` (the machine format's document). Where no handler of the run's is
/// installed, it ends the process at once.
pub(crate) fn watchdog(last_words: impl Fn(Signal) + Send + 'static) {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]) else {
        return;
    };
    std::thread::spawn(move || {
        for number in signals.forever() {
            let signal = match number {
                SIGINT => Signal::Int,
                SIGTERM => Signal::Term,
                _ => Signal::Hup,
            };
            // Recorded first, whatever happens next: a computation that polls [`received`]
            // between its steps stops at the next one, even when its thread holds the async
            // runtime that would otherwise record it.
            let _ = RECEIVED.compare_exchange(
                0,
                signal.exit_code(),
                Ordering::SeqCst,
                Ordering::SeqCst,
            );
            if HANDLED.load(Ordering::SeqCst) > 0 || STREAMING.load(Ordering::SeqCst) > 0 {
                // Give the command its moment: the run's handler deletes the probe's Job, a
                // streaming command closes its document at the next row and exits (which ends
                // this thread too).
                std::thread::sleep(std::time::Duration::from_millis(900));
                if seen() {
                    continue; // the run's handler has it: the probe's Job is being deleted
                }
            }
            // Read now, not when the signal came: a command may have begun streaming since (a
            // signal during its input's parse). Its stdout is taken: no last words then.
            if STREAMING.load(Ordering::SeqCst) == 0 {
                last_words(signal);
            }
            std::process::exit(i32::from(signal.exit_code()));
        }
    });
}

/// Records a signal and wakes the parts watching for one; true when one was watching (the
/// command will finish on its own, soon).
pub(crate) fn raise(signal: Signal) -> bool {
    RECEIVED.store(signal.exit_code(), Ordering::SeqCst);
    ANSWERED.store(true, Ordering::SeqCst);
    let watched = WATCHING.load(Ordering::SeqCst) > 0;
    NOTIFY.notify_waiters();
    watched
}

/// Decrements [`WATCHING`] however the watching part ends (done, interrupted, dropped).
struct Watching;

impl Drop for Watching {
    fn drop(&mut self) {
        WATCHING.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Runs `work` to its end, or until a signal arrives: then `Err(signal)` at once (`work` is
/// dropped), and the command goes on with what it has.
pub(crate) async fn unless_interrupted<T>(
    work: impl std::future::Future<Output = T>,
) -> Result<T, Signal> {
    WATCHING.fetch_add(1, Ordering::SeqCst);
    let _watching = Watching;
    // Registered before the flag is read: a signal between the two still wakes it.
    let notified = NOTIFY.notified();
    if let Some(signal) = received() {
        return Err(signal);
    }
    tokio::select! {
        done = work => Ok(done),
        () = notified => Err(received().unwrap_or(Signal::Int)),
    }
}
