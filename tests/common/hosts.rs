//! Runs a command with a hosts file of its own: the AWS tests and bench
//! resolve the accounts' S3 Control host names (`<account>.localhost`) to
//! the loopback without touching the machine's `/etc/hosts`.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;

/// Makes `command` run in a mount namespace of its own where `hosts` is
/// bind-mounted over `/etc/hosts` (needs root: spawning fails otherwise).
pub fn with_hosts(command: &mut Command, hosts: &Path) {
    let source = CString::new(hosts.as_os_str().as_bytes()).unwrap();
    let (target, root) = (c"/etc/hosts", c"/");
    // SAFETY: unshare and mount are async-signal-safe system calls on
    // memory allocated before the fork; they change only the child.
    unsafe {
        command.pre_exec(move || {
            let null = std::ptr::null();
            let private = libc::MS_REC | libc::MS_PRIVATE;
            if libc::unshare(libc::CLONE_NEWNS) != 0
                || libc::mount(null, root.as_ptr(), null, private, std::ptr::null()) != 0
                || libc::mount(
                    source.as_ptr(),
                    target.as_ptr(),
                    null,
                    libc::MS_BIND,
                    std::ptr::null(),
                ) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}
