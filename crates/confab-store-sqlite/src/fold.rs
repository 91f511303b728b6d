//! `confab_fold(text)`: text in lower case as Confab compares words
//! ([`confab_domain::search::fold`]), a scalar function every read
//! connection registers when it opens. SQLite's own `LOWER` changes only
//! ASCII letters: `Ângela` stayed `Ângela`, so a contact search for
//! `ângela` (or `Ângela`, lowercased) never found her.

use std::ffi::{c_int, c_void};
use std::ptr::{NonNull, null_mut};

use libsqlite3_sys as ffi;

/// Registers `confab_fold` on a connection.
///
/// # Safety
/// `db` must be an open connection that no other thread uses meanwhile.
pub(crate) unsafe fn register(db: NonNull<ffi::sqlite3>) -> Result<(), String> {
    // SAFETY: the connection is open and ours; the name is a C string and
    // the function has no user data to free.
    let rc = unsafe {
        ffi::sqlite3_create_function_v2(
            db.as_ptr(),
            c"confab_fold".as_ptr(),
            1,
            ffi::SQLITE_UTF8 | ffi::SQLITE_DETERMINISTIC | ffi::SQLITE_INNOCUOUS,
            null_mut::<c_void>(),
            Some(confab_fold),
            None,
            None,
            None,
        )
    };
    if rc == ffi::SQLITE_OK {
        Ok(())
    } else {
        Err(format!("registering confab_fold: code {rc}"))
    }
}

/// The SQL entry point: NULL stays NULL, anything else is read as text.
unsafe extern "C" fn confab_fold(
    context: *mut ffi::sqlite3_context,
    argc: c_int,
    argv: *mut *mut ffi::sqlite3_value,
) {
    // SAFETY: SQLite passes `argc` valid values; the text pointer it gives
    // holds `bytes` bytes until the value changes, and the result is copied
    // (SQLITE_TRANSIENT) before the String is dropped.
    unsafe {
        if argc != 1 {
            ffi::sqlite3_result_error_code(context, ffi::SQLITE_MISUSE);
            return;
        }
        let value = *argv;
        if ffi::sqlite3_value_type(value) == ffi::SQLITE_NULL {
            ffi::sqlite3_result_null(context);
            return;
        }
        let text = ffi::sqlite3_value_text(value);
        let bytes = ffi::sqlite3_value_bytes(value);
        if text.is_null() {
            ffi::sqlite3_result_error_nomem(context);
            return;
        }
        let raw = std::slice::from_raw_parts(text, bytes.max(0) as usize);
        let folded = confab_domain::search::fold(&String::from_utf8_lossy(raw));
        ffi::sqlite3_result_text64(
            context,
            folded.as_ptr().cast(),
            folded.len() as u64,
            ffi::SQLITE_TRANSIENT(),
            ffi::SQLITE_UTF8 as u8,
        );
    }
}
