//! Locking a worker process down before it runs anything: it dies with its server, its data
//! segment is capped, it can gain no privileges, and a seccomp filter allows only the system
//! calls an engine needs to compute, allocate, keep time and run threads. Opening files,
//! sockets, starting programs, forking and tracing are refused with `EPERM`.
//!
//! Each layer is applied on its own: where the kernel refuses one, the worker reports which,
//! and the supervisor logs it and carries on with the rest.

use crate::protocol::{Layers, ProbeAttempt, WorkerSettings};

/// Applies every layer it can and reports the ones that are missing.
pub(crate) fn apply(settings: &WorkerSettings) -> Layers {
    imp::apply(settings)
}

/// Tries what the filter must refuse, from inside the worker.
pub(crate) fn probe() -> Vec<ProbeAttempt> {
    let attempt = |action: &str, result: std::io::Result<()>| ProbeAttempt {
        action: action.to_owned(),
        result: result.map_err(|e| e.to_string()),
    };
    vec![
        attempt(
            "open a file",
            std::fs::File::open("/etc/hostname").map(drop),
        ),
        attempt(
            "create a file",
            std::fs::File::create("/tmp/iota-sandbox-probe").map(drop),
        ),
        attempt(
            "open a socket",
            std::net::UdpSocket::bind("127.0.0.1:0").map(drop),
        ),
        attempt(
            "connect to a server",
            std::net::TcpStream::connect("127.0.0.1:5432").map(drop),
        ),
        attempt(
            "start a program",
            std::process::Command::new("/bin/sh")
                .arg("-c")
                .arg("true")
                .status()
                .map(drop),
        ),
        attempt("take a real-time scheduling policy", real_time()),
        attempt(
            "raise its priority",
            rustix::process::setpriority_process(None, -5).map_err(std::io::Error::from),
        ),
    ]
}

/// Asks the real-time FIFO policy for the calling thread (a sandbox must refuse it).
fn real_time() -> std::io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        let param = libc::sched_param { sched_priority: 1 };
        // SAFETY: `param` is a valid sched_param that outlives the call.
        #[allow(unsafe_code)]
        let set = unsafe { libc::sched_setscheduler(0, libc::SCHED_FIFO, &param) };
        if set != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

#[cfg(target_os = "linux")]
mod imp {
    use crate::protocol::{Layers, WorkerSettings};
    use rustix::process::{Resource, Rlimit, Signal, setrlimit};
    use seccompiler::{
        BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
        SeccompRule, TargetArch,
    };
    use std::collections::BTreeMap;

    pub(super) fn apply(settings: &WorkerSettings) -> Layers {
        // A worker never outlives its server, even one killed without a chance to clean up.
        let _ = rustix::process::set_parent_process_death_signal(Some(Signal::KILL));
        let hard = |resource, value| {
            setrlimit(
                resource,
                Rlimit {
                    current: Some(value),
                    maximum: Some(value),
                },
            )
        };
        // No core files, and no file may grow: belt and braces under the seccomp filter.
        let _ = hard(Resource::Core, 0);
        let _ = hard(Resource::Fsize, 0);
        // Scripts come after the server when both want the CPU (raising one's own niceness
        // needs no privilege; a failure only loses that preference).
        let niceness = rustix::process::getpriority_process(None)
            .unwrap_or(0)
            .saturating_add(settings.nice)
            .min(19);
        if let Err(error) = rustix::process::setpriority_process(None, niceness) {
            tracing::warn!(%error, "the worker's niceness could not be set");
        }
        Layers {
            memory_cap: hard(Resource::Data, settings.memory_bytes)
                .err()
                .map(|e| format!("setrlimit(RLIMIT_DATA) failed: {e}")),
            no_new_privs: rustix::thread::set_no_new_privs(true)
                .err()
                .map(|e| format!("prctl(PR_SET_NO_NEW_PRIVS) failed: {e}")),
            seccomp: install_filter().err(),
        }
    }

    fn arch() -> Result<TargetArch, String> {
        TargetArch::try_from(std::env::consts::ARCH)
            .map_err(|_| format!("no seccomp filter for {}", std::env::consts::ARCH))
    }

    fn condition(arg: u8, op: SeccompCmpOp, value: u64) -> Result<SeccompCondition, String> {
        SeccompCondition::new(arg, SeccompCmpArgLen::Qword, op, value).map_err(|e| e.to_string())
    }

    /// System calls allowed whatever their arguments.
    fn plain_calls() -> Vec<i64> {
        let mut calls = vec![
            libc::SYS_read,
            libc::SYS_write,
            libc::SYS_readv,
            libc::SYS_writev,
            libc::SYS_close,
            libc::SYS_fstat,
            libc::SYS_mmap,
            libc::SYS_munmap,
            libc::SYS_mremap,
            libc::SYS_mprotect,
            libc::SYS_madvise,
            libc::SYS_brk,
            libc::SYS_futex,
            libc::SYS_set_robust_list,
            libc::SYS_get_robust_list,
            libc::SYS_rseq,
            libc::SYS_sched_yield,
            libc::SYS_sched_getaffinity,
            libc::SYS_getrandom,
            libc::SYS_clock_gettime,
            libc::SYS_clock_getres,
            libc::SYS_gettimeofday,
            libc::SYS_nanosleep,
            libc::SYS_clock_nanosleep,
            libc::SYS_gettid,
            libc::SYS_getpid,
            libc::SYS_exit,
            libc::SYS_exit_group,
            libc::SYS_rt_sigprocmask,
            libc::SYS_rt_sigaction,
            libc::SYS_rt_sigreturn,
            libc::SYS_sigaltstack,
            libc::SYS_restart_syscall,
            libc::SYS_getrusage,
            // Allowed here; the second filter turns it into ENOSYS so that threads are
            // created with `clone`, whose flags a filter can check.
            libc::SYS_clone3,
        ];
        #[cfg(target_arch = "x86_64")]
        calls.extend([libc::SYS_poll, libc::SYS_time]);
        calls
    }

    fn filters() -> Result<(BpfProgram, BpfProgram), String> {
        let arch = arch()?;
        let mut rules: BTreeMap<i64, Vec<SeccompRule>> = plain_calls()
            .into_iter()
            .map(|call| (call, vec![]))
            .collect();
        let rule = |conditions| SeccompRule::new(conditions).map_err(|e| e.to_string());
        // Threads only: a clone without CLONE_THREAD would be a new process.
        let thread = libc::CLONE_THREAD as u64;
        rules.insert(
            libc::SYS_clone,
            vec![rule(vec![condition(
                0,
                SeccompCmpOp::MaskedEq(thread),
                thread,
            )?])?],
        );
        // Signals to itself only (abort), never to another process.
        let own = u64::from(std::process::id());
        rules.insert(
            libc::SYS_tgkill,
            vec![rule(vec![condition(0, SeccompCmpOp::Eq, own)?])?],
        );
        // Demoting the calling thread (a long run's) to the lowest share of the CPU, nothing
        // else of setpriority: never a better share, never another thread's or process's.
        rules.insert(
            libc::SYS_setpriority,
            vec![rule(vec![
                condition(0, SeccompCmpOp::Eq, libc::PRIO_PROCESS as u64)?,
                condition(1, SeccompCmpOp::Eq, 0)?,
                SeccompCondition::new(
                    2,
                    SeccompCmpArgLen::Dword,
                    SeccompCmpOp::Eq,
                    crate::pool::DEMOTED_NICE as u64,
                )
                .map_err(|e| e.to_string())?,
            ])?],
        );
        // Putting the calling thread (a long run's) under the idle policy, nothing else of
        // sched_setscheduler: never a real-time or better policy, never another thread's.
        rules.insert(
            libc::SYS_sched_setscheduler,
            vec![rule(vec![
                condition(0, SeccompCmpOp::Eq, 0)?,
                SeccompCondition::new(
                    1,
                    SeccompCmpArgLen::Dword,
                    SeccompCmpOp::Eq,
                    libc::SCHED_IDLE as u64,
                )
                .map_err(|e| e.to_string())?,
            ])?],
        );
        // Naming its threads, nothing else of prctl.
        rules.insert(
            libc::SYS_prctl,
            vec![rule(vec![condition(
                0,
                SeccompCmpOp::Eq,
                libc::PR_SET_NAME as u64,
            )?])?],
        );
        let eperm = SeccompAction::Errno(libc::EPERM as u32);
        let main = SeccompFilter::new(rules, eperm, SeccompAction::Allow, arch)
            .map_err(|e| e.to_string())?;
        let clone3 = SeccompFilter::new(
            BTreeMap::from([(libc::SYS_clone3, vec![])]),
            SeccompAction::Allow,
            SeccompAction::Errno(libc::ENOSYS as u32),
            arch,
        )
        .map_err(|e| e.to_string())?;
        let compile =
            |filter: SeccompFilter| BpfProgram::try_from(filter).map_err(|e| e.to_string());
        Ok((compile(main)?, compile(clone3)?))
    }

    fn install_filter() -> Result<(), String> {
        let (main, clone3) = filters()?;
        // The clone3 filter first: once the main filter is in, prctl (which installing a
        // filter calls) is refused.
        seccompiler::apply_filter_all_threads(&clone3)
            .and_then(|()| seccompiler::apply_filter_all_threads(&main))
            .map_err(|e| format!("seccomp filter refused by the kernel: {e}"))
    }
}

#[cfg(not(target_os = "linux"))]
mod imp {
    use crate::protocol::{Layers, WorkerSettings};

    pub(super) fn apply(_: &WorkerSettings) -> Layers {
        let missing = || Some("not available on this operating system".to_owned());
        Layers {
            memory_cap: missing(),
            no_new_privs: missing(),
            seccomp: missing(),
        }
    }
}
