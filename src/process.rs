//! Portable process control and measurement: child processes in a group of
//! their own, asked to stop (Ctrl-C's interrupt) or terminated; whether a
//! process id is alive; this process's resident memory. Unix (Linux, macOS)
//! and Windows each have their own path; nothing here runs a shell command.

use std::process::{Child, Command};

/// How a child is asked to stop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// As Ctrl-C in its terminal: SIGINT on Unix, CTRL_BREAK_EVENT to its
    /// process group on Windows. wgzero's commands finish their step cleanly.
    Interrupt,
    /// SIGTERM on Unix; on Windows, `TerminateProcess` (there is no polite
    /// termination request for a console process there).
    Terminate,
}

/// Makes `cmd` start its child in a process group of its own, so that a
/// terminal's Ctrl-C reaches only this process, which then stops each child
/// once ([`stop`]). Unix: `setpgid(0, 0)`; Windows: `CREATE_NEW_PROCESS_GROUP`.
pub fn own_process_group(cmd: &mut Command) -> &mut Command {
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        cmd.process_group(0)
    }
    #[cfg(windows)]
    {
        use std::os::windows::process::CommandExt;
        const CREATE_NEW_PROCESS_GROUP: u32 = 0x0000_0200;
        cmd.creation_flags(CREATE_NEW_PROCESS_GROUP)
    }
    #[cfg(not(any(unix, windows)))]
    {
        cmd
    }
}

/// Makes the child receive `how` when this process dies, even by SIGKILL
/// (Linux: `PR_SET_PDEATHSIG`). Elsewhere this does nothing: macOS and
/// Windows children outlive a killed parent (a clean stop still stops them).
/// The signal is tied to the thread that spawns the child: spawn from a
/// thread that lives as long as the child should (the main thread).
pub fn die_with_parent(cmd: &mut Command, how: Stop) -> &mut Command {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::process::CommandExt;
        let sig = unix_signal(how);
        let parent = std::process::id() as libc::pid_t;
        // SAFETY: between fork and exec only async-signal-safe calls are
        // made (prctl, getppid, raise).
        unsafe {
            cmd.pre_exec(move || {
                if libc::prctl(libc::PR_SET_PDEATHSIG, sig as libc::c_ulong) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                // The parent may have died before prctl took effect.
                if libc::getppid() != parent {
                    libc::raise(sig);
                }
                Ok(())
            })
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = how;
        cmd
    }
}

#[cfg(unix)]
fn unix_signal(how: Stop) -> libc::c_int {
    match how {
        Stop::Interrupt => libc::SIGINT,
        Stop::Terminate => libc::SIGTERM,
    }
}

/// Asks `child` to stop as `how` says; an error if the request could not
/// be sent (the child has already exited, say).
pub fn stop(child: &mut Child, how: Stop) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        let _ = &child;
        // SAFETY: kill(2) with a pid of our own child and a valid signal.
        let r = unsafe { libc::kill(child.id() as libc::pid_t, unix_signal(how)) };
        if r == 0 {
            Ok(())
        } else {
            Err(std::io::Error::last_os_error())
        }
    }
    #[cfg(windows)]
    {
        match how {
            Stop::Interrupt => {
                use windows_sys::Win32::System::Console::{
                    GenerateConsoleCtrlEvent, CTRL_BREAK_EVENT,
                };
                // SAFETY: a plain Win32 call; the child leads its own group
                // (own_process_group), whose id is its process id.
                if unsafe { GenerateConsoleCtrlEvent(CTRL_BREAK_EVENT, child.id()) } != 0 {
                    Ok(())
                } else {
                    Err(std::io::Error::last_os_error())
                }
            }
            Stop::Terminate => child.kill(),
        }
    }
    #[cfg(not(any(unix, windows)))]
    {
        let _ = how;
        child.kill()
    }
}

/// Whether a process with id `pid` exists on this machine now.
pub fn is_alive(pid: u32) -> bool {
    #[cfg(unix)]
    {
        // SAFETY: signal 0 only checks that the process exists.
        let r = unsafe { libc::kill(pid as libc::pid_t, 0) };
        r == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
    }
    #[cfg(windows)]
    {
        use windows_sys::Win32::Foundation::{CloseHandle, STILL_ACTIVE};
        use windows_sys::Win32::System::Threading::{
            GetExitCodeProcess, OpenProcess, PROCESS_QUERY_LIMITED_INFORMATION,
        };
        // SAFETY: plain Win32 calls on a handle we open and close here.
        unsafe {
            let h = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, 0, pid);
            if h.is_null() {
                return false;
            }
            let mut code = 0u32;
            let ok = GetExitCodeProcess(h, &mut code) != 0;
            CloseHandle(h);
            ok && code == STILL_ACTIVE as u32
        }
    }
    #[cfg(not(any(unix, windows)))]
    {
        let _ = pid;
        true
    }
}

/// This machine's name, for messages (best effort).
pub fn host_name() -> String {
    std::env::var("HOSTNAME")
        .or_else(|_| std::env::var("COMPUTERNAME"))
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "this machine".into())
}

/// This process's peak and current resident memory in MB (working set on
/// Windows), measured on Linux, macOS and Windows; 0 where the OS does not
/// say.
pub fn memory_mb() -> (f64, f64) {
    let current = memory_stats::memory_stats().map_or(0.0, |m| m.physical_mem as f64 / 1048576.0);
    (peak_rss_mb().max(current), current)
}

/// CPU seconds (user + system) this process has used, all threads; 0
/// where the OS does not say. Over a wall-clock interval, the cores busy.
pub fn cpu_seconds() -> f64 {
    cpu_seconds_os()
}

#[cfg(unix)]
fn cpu_seconds_os() -> f64 {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage fills the struct we pass.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()) } != 0 {
        return 0.0;
    }
    // SAFETY: initialised by the successful call above.
    let u = unsafe { usage.assume_init() };
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 * 1e-6;
    secs(u.ru_utime) + secs(u.ru_stime)
}

#[cfg(windows)]
fn cpu_seconds_os() -> f64 {
    use windows_sys::Win32::Foundation::FILETIME;
    use windows_sys::Win32::System::Threading::{GetCurrentProcess, GetProcessTimes};
    let zero = FILETIME {
        dwLowDateTime: 0,
        dwHighDateTime: 0,
    };
    let (mut created, mut exited, mut kernel, mut user) = (zero, zero, zero, zero);
    // SAFETY: plain Win32 call filling the four structs we pass.
    let ok = unsafe {
        GetProcessTimes(
            GetCurrentProcess(),
            &mut created,
            &mut exited,
            &mut kernel,
            &mut user,
        )
    };
    if ok == 0 {
        return 0.0;
    }
    // 100-nanosecond units.
    let secs =
        |t: FILETIME| (((t.dwHighDateTime as u64) << 32) | t.dwLowDateTime as u64) as f64 * 1e-7;
    secs(kernel) + secs(user)
}

#[cfg(not(any(unix, windows)))]
fn cpu_seconds_os() -> f64 {
    0.0
}

#[cfg(unix)]
pub fn peak_rss_mb() -> f64 {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage fills the struct we pass.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()) } != 0 {
        return 0.0;
    }
    // SAFETY: initialised by the successful call above.
    let max = unsafe { usage.assume_init() }.ru_maxrss as f64;
    // Linux and the BSDs count kilobytes, macOS bytes.
    if cfg!(target_vendor = "apple") {
        max / 1048576.0
    } else {
        max / 1024.0
    }
}

#[cfg(windows)]
pub fn peak_rss_mb() -> f64 {
    use windows_sys::Win32::System::ProcessStatus::{
        GetProcessMemoryInfo, PROCESS_MEMORY_COUNTERS,
    };
    use windows_sys::Win32::System::Threading::GetCurrentProcess;
    // SAFETY: plain Win32 calls; the struct is sized as the call requires.
    unsafe {
        let mut c: PROCESS_MEMORY_COUNTERS = std::mem::zeroed();
        c.cb = std::mem::size_of::<PROCESS_MEMORY_COUNTERS>() as u32;
        if GetProcessMemoryInfo(GetCurrentProcess(), &mut c, c.cb) == 0 {
            return 0.0;
        }
        c.PeakWorkingSetSize as f64 / 1048576.0
    }
}

#[cfg(not(any(unix, windows)))]
pub fn peak_rss_mb() -> f64 {
    0.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_is_measured_here() {
        // Allocate and touch 64 MB: both figures must see it.
        let block = vec![1u8; 64 << 20];
        let (peak, now) = memory_mb();
        assert!(block.iter().step_by(4096).all(|&b| b == 1));
        assert!(now >= 64.0, "current RSS {now} MB");
        assert!(peak >= now, "peak {peak} MB < current {now} MB");
    }

    #[test]
    fn this_process_is_alive_and_a_finished_child_is_not() {
        assert!(is_alive(std::process::id()));
        let exe = std::env::current_exe().unwrap();
        let mut child = Command::new(exe).arg("--list").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        // Reaped: the pid is free (reuse within this test is not expected).
        assert!(!is_alive(pid));
    }
}
