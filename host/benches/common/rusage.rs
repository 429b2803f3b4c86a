//! Resource usage of a bench process and of its ended children, read with
//! `getrusage(2)`: one place for the benches' CPU time and peak RSS.

/// The usage of this process (`libc::RUSAGE_SELF`) or of its ended,
/// waited-for children and theirs (`libc::RUSAGE_CHILDREN`).
pub fn of(who: libc::c_int) -> libc::rusage {
    // SAFETY: getrusage fills the struct it is given.
    unsafe {
        let mut usage = std::mem::zeroed::<libc::rusage>();
        libc::getrusage(who, &mut usage);
        usage
    }
}

/// User plus system CPU seconds of `usage`.
pub fn cpu_seconds(usage: &libc::rusage) -> f64 {
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    seconds(usage.ru_utime) + seconds(usage.ru_stime)
}
