//! Private files and directories, for plugins and the host that write
//! cloud data (inventories, events, logs, the run history).
//!
//! Files are created `0600` and directories `0700` whatever the umask; an
//! existing directory must belong to the user running cloudmarker (or
//! root) and must not be writable by group or others, so that no other
//! local user can plant links or swap files in it.

use std::fs::{DirBuilder, File, OpenOptions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// The mode of files that hold cloud data, logs or history.
pub const PRIVATE_FILE_MODE: u32 = 0o600;

/// The mode of directories created for them.
pub const PRIVATE_DIR_MODE: u32 = 0o700;

/// Creates `dir` and its missing parents with mode `0700`.
pub fn create_private_dir_all(dir: &Path) -> io::Result<()> {
    DirBuilder::new()
        .recursive(true)
        .mode(PRIVATE_DIR_MODE)
        .create(dir)
}

/// Checks that `dir` is a directory owned by the effective user or root and
/// not writable by group or others; the error says what is wrong and how
/// to fix it. A symbolic link to a directory is followed, and the link
/// itself must also be owned by the user or root.
pub fn check_private_dir(dir: &Path) -> Result<(), String> {
    check_trusted(dir)?;
    if !dir.is_dir() {
        return Err(format!("{} is not a directory", dir.display()));
    }
    Ok(())
}

/// Checks that no other user can change `path` (a file or a directory):
/// it belongs to the effective user or root and is not writable by group
/// or others (OpenSSH's StrictModes rule). A symbolic link is followed, and
/// the link itself must also belong to the user or root.
pub fn check_trusted(path: &Path) -> Result<(), String> {
    let shown = path.display();
    let link = path
        .symlink_metadata()
        .map_err(|e| format!("cannot inspect {shown}: {e}"))?;
    let euid = effective_uid();
    if link.file_type().is_symlink() && !owned_by(link.uid(), euid) {
        return Err(format!(
            "{shown} is a symbolic link owned by another user (uid {}); refusing to use it",
            link.uid()
        ));
    }
    let meta = path
        .metadata()
        .map_err(|e| format!("cannot inspect {shown}: {e}"))?;
    if !owned_by(meta.uid(), euid) {
        return Err(format!(
            "{shown} belongs to another user (uid {}, not {euid}); use one of your own",
            meta.uid()
        ));
    }
    if meta.mode() & 0o022 != 0 {
        return Err(format!(
            "{shown} is writable by {} (mode {:o}); run `chmod go-w {shown}`",
            if meta.mode() & 0o002 != 0 {
                "others"
            } else {
                "its group"
            },
            meta.mode() & 0o7777
        ));
    }
    Ok(())
}

/// Opens `path` for appending, creating it `0600`; never follows a symbolic
/// link. An existing file of this user that is readable or writable by
/// others is made `0600`.
pub fn open_private_append(path: &Path) -> io::Result<File> {
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(PRIVATE_FILE_MODE)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)?;
    tighten(&file)?;
    Ok(file)
}

/// The largest PEM file (CA certificates, keys) a plugin reads.
pub const MAX_PEM_BYTES: u64 = 4 * 1024 * 1024;

/// Reads at most `max` bytes of `path`; a larger file (by its size, or while
/// reading one without a fixed size, such as a FIFO) is an `InvalidData`
/// error saying so, so that a wrong path (`/dev/zero`) cannot exhaust memory.
pub fn read_limited(path: &Path, max: u64) -> io::Result<Vec<u8>> {
    use std::io::Read;
    let file = File::open(path)?;
    let too_large = || {
        const MIB: u64 = 1024 * 1024;
        let size = if max >= MIB && max & (MIB - 1) == 0 {
            format!("{} MiB", max / MIB)
        } else {
            format!("{max} bytes")
        };
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("the file is larger than {size}, the most accepted here"),
        )
    };
    if file.metadata()?.len() > max {
        return Err(too_large());
    }
    let mut data = Vec::new();
    file.take(max.saturating_add(1)).read_to_end(&mut data)?;
    if data.len() as u64 > max {
        return Err(too_large());
    }
    Ok(data)
}

/// Opens `path` for reading and writing without truncating it, creating it
/// `0600`; never follows a symbolic link. For small state and lock files.
pub fn open_private_rw(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(PRIVATE_FILE_MODE)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
}

/// Replaces the whole content of `file` with `text`.
pub fn rewrite(file: &mut File, text: &str) -> io::Result<()> {
    use std::io::{Seek, Write};
    file.set_len(0)?;
    file.rewind()?;
    file.write_all(text.as_bytes())
}

/// Makes a file of this user `0600` if it is open to group or others.
pub fn tighten(file: &File) -> io::Result<()> {
    let meta = file.metadata()?;
    if meta.uid() == effective_uid() && meta.mode() & 0o077 != 0 {
        file.set_permissions(std::fs::Permissions::from_mode(PRIVATE_FILE_MODE))?;
    }
    Ok(())
}

/// An exclusive advisory lock (`flock`) on `file`, without waiting: `Ok(false)`
/// when another process holds it. Released when the file is closed.
pub fn try_lock_exclusive(file: &File) -> io::Result<bool> {
    flock(file, libc::LOCK_EX | libc::LOCK_NB)
}

/// An exclusive advisory lock on `file`, waiting for it.
pub fn lock_exclusive(file: &File) -> io::Result<()> {
    flock(file, libc::LOCK_EX).map(|_| ())
}

fn flock(file: &File, operation: libc::c_int) -> io::Result<bool> {
    use std::os::fd::AsRawFd;
    loop {
        // SAFETY: flock on a file descriptor that `file` keeps open.
        if unsafe { libc::flock(file.as_raw_fd(), operation) } == 0 {
            return Ok(true);
        }
        let error = io::Error::last_os_error();
        match error.raw_os_error() {
            Some(libc::EINTR) => continue,
            Some(libc::EWOULDBLOCK) => return Ok(false),
            _ => return Err(error),
        }
    }
}

/// The effective user id of this process.
pub fn effective_uid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

fn owned_by(uid: u32, euid: u32) -> bool {
    uid == euid || uid == 0
}

/// Expands a leading `~` (the user's home, from `$HOME`) or `~name` (the
/// home of user `name`, from the password database), alone or followed by
/// `/...`; any other path, or a user that does not exist, is left as it is.
pub fn expand_tilde(path: &str) -> std::path::PathBuf {
    use std::path::PathBuf;
    let Some(rest) = path.strip_prefix('~') else {
        return PathBuf::from(path);
    };
    let (user, tail) = match rest.find('/') {
        Some(i) => (&rest[..i], rest[i + 1..].trim_start_matches('/')),
        None => (rest, ""),
    };
    let home = if user.is_empty() {
        std::env::var_os("HOME").map(PathBuf::from)
    } else {
        home_of(user)
    };
    match home {
        Some(home) if tail.is_empty() => home,
        Some(home) => home.join(tail),
        None => PathBuf::from(path),
    }
}

/// The home directory of user `name`, from the password database.
fn home_of(name: &str) -> Option<std::path::PathBuf> {
    use std::ffi::{CStr, CString};
    use std::os::unix::ffi::OsStrExt;
    let name = CString::new(name).ok()?;
    let mut buffer = vec![0 as libc::c_char; 16 * 1024];
    // SAFETY: getpwnam_r writes into `entry` and `buffer`, both ours and
    // alive for the call; `found` is set to `&entry` or null.
    unsafe {
        let mut entry: libc::passwd = std::mem::zeroed();
        let mut found: *mut libc::passwd = std::ptr::null_mut();
        let status = libc::getpwnam_r(
            name.as_ptr(),
            &mut entry,
            buffer.as_mut_ptr(),
            buffer.len(),
            &mut found,
        );
        if status != 0 || found.is_null() || entry.pw_dir.is_null() {
            return None;
        }
        let dir = CStr::from_ptr(entry.pw_dir);
        Some(std::path::PathBuf::from(std::ffi::OsStr::from_bytes(
            dir.to_bytes(),
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Mutex, MutexGuard};

    /// The umask is per process: tests that create files wait for the one
    /// that changes it.
    fn umask_lock() -> MutexGuard<'static, ()> {
        static LOCK: Mutex<()> = Mutex::new(());
        LOCK.lock().unwrap_or_else(|e| e.into_inner())
    }

    #[test]
    fn created_files_and_directories_are_private_whatever_the_umask() {
        let _umask = umask_lock();
        let dir = tempfile::tempdir().unwrap();
        // SAFETY: umask only changes this process's creation mask.
        let old = unsafe { libc::umask(0) };
        let sub = dir.path().join("a/b");
        create_private_dir_all(&sub).unwrap();
        let file = open_private_append(&sub.join("log")).unwrap();
        unsafe { libc::umask(old) };
        let mode = |p: &Path| std::fs::metadata(p).unwrap().mode() & 0o777;
        assert_eq!(mode(&dir.path().join("a")), 0o700);
        assert_eq!(mode(&sub), 0o700);
        assert_eq!(file.metadata().unwrap().mode() & 0o777, 0o600);
    }

    #[test]
    fn an_existing_open_file_is_tightened() {
        let _umask = umask_lock();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history.jsonl");
        std::fs::write(&path, "x\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        open_private_append(&path).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().mode() & 0o777, 0o600);
    }

    #[test]
    fn a_link_is_never_followed_when_appending() {
        let _umask = umask_lock();
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target");
        std::fs::write(&target, "keep").unwrap();
        let link = dir.path().join("log");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert!(open_private_append(&link).is_err());
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep");
    }

    #[test]
    fn shared_or_foreign_directories_are_refused() {
        let _umask = umask_lock();
        let dir = tempfile::tempdir().unwrap();
        check_private_dir(dir.path()).unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        let err = check_private_dir(dir.path()).unwrap_err();
        assert!(err.contains("writable by others (mode 777)"), "{err}");
        assert!(err.contains("chmod go-w"), "{err}");
        let file = dir.path().join("libx.so");
        std::fs::write(&file, "").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o664)).unwrap();
        assert!(check_trusted(&file)
            .unwrap_err()
            .contains("writable by its group (mode 664)"));
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o755)).unwrap();
        check_trusted(&file).unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o770)).unwrap();
        assert!(check_private_dir(dir.path())
            .unwrap_err()
            .contains("writable by its group"));
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        check_private_dir(dir.path()).unwrap();
        if effective_uid() == 0 {
            // As root, give the directory away to prove the owner check.
            std::os::unix::fs::chown(dir.path(), Some(65534), None).unwrap();
            let err = check_private_dir(dir.path()).unwrap_err();
            assert!(err.contains("belongs to another user (uid 65534"), "{err}");
            assert!(!dir.path().is_dir() || check_trusted(dir.path()).is_err());
        }
    }

    #[test]
    fn reads_are_bounded() {
        let _umask = umask_lock();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, "x".repeat(100)).unwrap();
        assert_eq!(read_limited(&path, 100).unwrap().len(), 100);
        let err = read_limited(&path, 99).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the file is larger than 99 bytes, the most accepted here"
        );
        let err = read_limited(Path::new("/dev/zero"), 1024 * 1024).unwrap_err();
        assert!(err.to_string().contains("larger than 1 MiB"), "{err}");
    }

    #[test]
    fn a_lock_is_exclusive_between_open_files() {
        let _umask = umask_lock();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lock");
        let first = File::create(&path).unwrap();
        let second = File::open(&path).unwrap();
        assert!(try_lock_exclusive(&first).unwrap());
        assert!(!try_lock_exclusive(&second).unwrap());
        drop(first);
        assert!(try_lock_exclusive(&second).unwrap());
    }

    #[test]
    fn tildes_expand_to_homes() {
        let home = std::env::var("HOME").unwrap();
        assert_eq!(expand_tilde("~"), std::path::PathBuf::from(&home));
        assert_eq!(
            expand_tilde("~/out"),
            std::path::Path::new(&home).join("out")
        );
        assert_eq!(expand_tilde("~root/out"), std::path::Path::new("/root/out"));
        assert_eq!(
            expand_tilde("~no-such-user-x/out"),
            std::path::Path::new("~no-such-user-x/out")
        );
        assert_eq!(expand_tilde("/abs/~x"), std::path::Path::new("/abs/~x"));
    }
}
