//! The panic guard: no panic in plugin code ever unwinds into the host.

use crate::{ErrorKind, PluginError};
use abi_stable::std_types::RResult;
use std::cell::RefCell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Once;

thread_local! {
    /// Where the last panic on this thread happened, for the error message.
    static PANIC_LOCATION: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Replaces this library's panic hook (each plugin library has its own copy
/// of std, so this does not touch the host's): the panic's location goes into
/// the returned error instead of onto stderr.
pub(crate) fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            let location = info
                .location()
                .map(|l| format!("{}:{}", l.file(), l.line()));
            PANIC_LOCATION.with(|cell| *cell.borrow_mut() = location);
        }));
    });
}

/// Runs `f`, turning a panic into a [`ErrorKind::PANIC`] error that names
/// the plugin, the method and the panic message.
pub(crate) fn guard<R>(
    plugin: &str,
    method: &str,
    f: impl FnOnce() -> Result<R, PluginError>,
) -> RResult<R, PluginError> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Err(error)) => RResult::RErr(super::secret::redact_error(error)),
        Ok(Ok(value)) => RResult::ROk(value),
        Err(payload) => {
            let location = PANIC_LOCATION.with(|cell| cell.borrow_mut().take());
            let at = location.map(|l| format!(" (at {l})")).unwrap_or_default();
            RResult::RErr(super::secret::redact_error(PluginError::new(
                ErrorKind::PANIC,
                format!(
                    "plugin {plugin} panicked in {method}: {}{at}",
                    panic_message(payload.as_ref())
                ),
            )))
        }
    }
}

/// Owns a plugin value; refuses calls after a panic, and drops the value
/// inside `catch_unwind`.
pub(crate) struct Guarded<T> {
    name: &'static str,
    value: Option<T>,
    poisoned: bool,
}

impl<T> Guarded<T> {
    pub(crate) fn new(name: &'static str, value: T) -> Self {
        Self {
            name,
            value: Some(value),
            poisoned: false,
        }
    }

    /// Calls `f` on the value under the panic guard.
    pub(crate) fn call<R>(
        &mut self,
        method: &str,
        f: impl FnOnce(&mut T) -> Result<R, PluginError>,
    ) -> RResult<R, PluginError> {
        let name = self.name;
        let Some(value) = self.value.as_mut().filter(|_| !self.poisoned) else {
            return RResult::RErr(PluginError::new(
                ErrorKind::PANIC,
                format!("plugin {name} cannot run {method}: it panicked earlier"),
            ));
        };
        let result = guard(name, method, || f(value));
        if matches!(&result, RResult::RErr(e) if e.kind == ErrorKind::PANIC) {
            self.poisoned = true;
        }
        result
    }
}

impl<T> Guarded<T> {
    /// Calls `f` (the plugin's `done`, the last call) and then drops the
    /// plugin, both under the guard, so that a panic while dropping becomes
    /// an error of this call, with its message and location, which the host
    /// counts as a failure.
    pub(crate) fn call_last<R>(
        &mut self,
        method: &str,
        f: impl FnOnce(&mut T) -> Result<R, PluginError>,
    ) -> RResult<R, PluginError> {
        let result = self.call(method, f);
        let name = self.name;
        let dropped = match self.value.take() {
            None => RResult::ROk(()),
            Some(value) => guard(name, "drop", move || {
                drop(value);
                Ok(())
            }),
        };
        match (result, dropped) {
            (result, RResult::ROk(())) => result,
            (RResult::ROk(_), RResult::RErr(e)) => RResult::RErr(e),
            (RResult::RErr(e), RResult::RErr(also)) => {
                log::error!("{also}");
                RResult::RErr(e)
            }
        }
    }
}

impl<T> Drop for Guarded<T> {
    fn drop(&mut self) {
        let value = self.value.take();
        let name = self.name;
        if catch_unwind(AssertUnwindSafe(move || drop(value))).is_err() {
            log::error!("Plugin {name} panicked while it was dropped.");
        }
    }
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(a panic without a message)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panic_becomes_error_and_poisons() {
        let mut g = Guarded::new("demo", 0_u32);
        let r: RResult<(), _> = g.call("read", |_| panic!("boom"));
        let err = r.unwrap_err();
        assert_eq!(err.kind, ErrorKind::PANIC);
        assert!(
            err.message
                .starts_with("plugin demo panicked in read: boom"),
            "{err}"
        );
        let again = g.call("done", |v| Ok(*v)).unwrap_err();
        assert!(again.message.contains("panicked earlier"), "{again}");
    }

    #[test]
    fn a_panic_while_dropping_after_the_last_call_is_its_error() {
        struct Bomb;
        impl Drop for Bomb {
            fn drop(&mut self) {
                panic!("drop bomb");
            }
        }
        install_panic_hook();
        let mut g = Guarded::new("demo", Bomb);
        let err = g.call_last("done", |_| Ok(())).unwrap_err();
        assert_eq!(err.kind, ErrorKind::PANIC);
        assert!(
            err.message
                .starts_with("plugin demo panicked in drop: drop bomb (at "),
            "{err}"
        );
    }

    #[test]
    fn panic_in_drop_is_contained() {
        struct Bomb;
        impl Drop for Bomb {
            fn drop(&mut self) {
                panic!("drop bomb");
            }
        }
        drop(Guarded::new("demo", Bomb));
    }
}
