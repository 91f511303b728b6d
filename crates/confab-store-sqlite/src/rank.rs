//! `confab_rank(table)`: the search rank, an FTS5 auxiliary function that
//! every read connection registers when it opens.
//!
//! It is FTS5's `bm25()` without the inverse document frequency: each term's
//! occurrences in the row, saturated (k1 = 1.2) and normalised by the row's
//! length against the table's average (b = 0.75), summed over the terms,
//! negated like `bm25()` so that smaller ranks come first.
//!
//! Why not `bm25()`: to weigh terms by rarity it counts, once per query, every
//! row that contains each term — the whole doclist of a common word. For
//! `login page` on 10M messages that count alone took 47 of the 66 ms of the
//! search, while ranking the window of matches itself took 2 ms (see
//! docs/storage.md). Confab's searches require every term, so every ranked
//! row holds all of them: the IDF only weighs the terms against each other,
//! and a single-word search orders exactly as `bm25()` does.

use std::ffi::{c_int, c_void};
use std::ptr::{NonNull, null_mut};

use libsqlite3_sys as ffi;

/// The function's SQL name.
pub(crate) const NAME: &str = "confab_rank";

/// BM25's term-frequency saturation.
const K1: f64 = 1.2;
/// BM25's length normalisation.
const B: f64 = 0.75;

/// Registers `confab_rank` on a connection.
///
/// # Safety
/// `db` must be an open connection that no other thread uses meanwhile.
pub(crate) unsafe fn register(db: NonNull<ffi::sqlite3>) -> Result<(), String> {
    let db = db.as_ptr();
    // SAFETY: the documented way to reach a connection's fts5_api: bind a
    // pointer to it as the argument of `SELECT fts5(?1)` and step once.
    unsafe {
        let mut api: *mut ffi::fts5_api = null_mut();
        let mut statement: *mut ffi::sqlite3_stmt = null_mut();
        let rc = ffi::sqlite3_prepare_v2(
            db,
            c"SELECT fts5(?1)".as_ptr(),
            -1,
            &mut statement,
            null_mut(),
        );
        if rc != ffi::SQLITE_OK {
            return Err(format!("preparing SELECT fts5(?1): code {rc}"));
        }
        ffi::sqlite3_bind_pointer(
            statement,
            1,
            (&raw mut api).cast::<c_void>(),
            c"fts5_api_ptr".as_ptr(),
            None,
        );
        ffi::sqlite3_step(statement);
        ffi::sqlite3_finalize(statement);
        let Some(api) = api.as_mut().filter(|api| api.iVersion >= 2) else {
            return Err("this SQLite has no FTS5 (version 2 or newer)".into());
        };
        let Some(create) = api.xCreateFunction else {
            return Err("FTS5 offers no xCreateFunction".into());
        };
        let rc = create(
            api,
            c"confab_rank".as_ptr(),
            null_mut(),
            Some(confab_rank),
            None,
        );
        if rc != ffi::SQLITE_OK {
            return Err(format!("registering {NAME}: code {rc}"));
        }
    }
    Ok(())
}

/// The FTS5 entry point: the row's rank, or the error FTS5 reported.
unsafe extern "C" fn confab_rank(
    api: *const ffi::Fts5ExtensionApi,
    fts: *mut ffi::Fts5Context,
    context: *mut ffi::sqlite3_context,
    _argc: c_int,
    _argv: *mut *mut ffi::sqlite3_value,
) {
    // SAFETY: FTS5 calls this with its own valid API table and context, for
    // the row the statement is on.
    unsafe {
        match score(&*api, fts) {
            Ok(score) => ffi::sqlite3_result_double(context, -score),
            Err(rc) => ffi::sqlite3_result_error_code(context, rc),
        }
    }
}

/// The BM25 sum (without IDF) for the current row.
///
/// # Safety
/// `api` and `fts` must be what FTS5 passed to the auxiliary function.
unsafe fn score(api: &ffi::Fts5ExtensionApi, fts: *mut ffi::Fts5Context) -> Result<f64, c_int> {
    let check = |rc: c_int| {
        if rc == ffi::SQLITE_OK {
            Ok(())
        } else {
            Err(rc)
        }
    };
    let missing = ffi::SQLITE_MISUSE;
    // SAFETY: the API's documented calls on the context FTS5 gave us.
    unsafe {
        let mut rows: i64 = 0;
        check((api.xRowCount.ok_or(missing)?)(fts, &mut rows))?;
        let mut total: i64 = 0;
        check((api.xColumnTotalSize.ok_or(missing)?)(fts, -1, &mut total))?;
        let mut length: c_int = 0;
        check((api.xColumnSize.ok_or(missing)?)(fts, -1, &mut length))?;
        let phrases = (api.xPhraseCount.ok_or(missing)?)(fts).max(0) as usize;
        let mut instances: c_int = 0;
        check((api.xInstCount.ok_or(missing)?)(fts, &mut instances))?;
        let inst = api.xInst.ok_or(missing)?;
        let mut frequencies = vec![0u32; phrases];
        for i in 0..instances {
            let (mut phrase, mut column, mut offset) = (0, 0, 0);
            check(inst(fts, i, &mut phrase, &mut column, &mut offset))?;
            if let Some(n) = frequencies.get_mut(phrase as usize) {
                *n += 1;
            }
        }
        let average = if rows > 0 {
            total as f64 / rows as f64
        } else {
            1.0
        };
        Ok(bm25_without_idf(
            &frequencies,
            f64::from(length),
            average.max(1.0),
        ))
    }
}

/// Σ over the terms of tf·(k1+1) / (tf + k1·(1 − b + b·length/average)).
fn bm25_without_idf(frequencies: &[u32], length: f64, average: f64) -> f64 {
    let norm = K1 * (1.0 - B + B * length / average);
    frequencies
        .iter()
        .map(|&tf| {
            let tf = f64::from(tf);
            tf * (K1 + 1.0) / (tf + norm)
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::bm25_without_idf;

    #[test]
    fn more_occurrences_and_shorter_rows_rank_higher() {
        let once = bm25_without_idf(&[1], 10.0, 10.0);
        let twice = bm25_without_idf(&[2], 10.0, 10.0);
        let once_in_a_long_row = bm25_without_idf(&[1], 100.0, 10.0);
        assert!(twice > once);
        assert!(once > once_in_a_long_row);
        // Saturation: a term's weight never exceeds k1 + 1.
        assert!(bm25_without_idf(&[1_000], 10.0, 10.0) < 2.2);
        // Every term adds.
        assert!(bm25_without_idf(&[1, 1], 10.0, 10.0) > once);
        assert_eq!(bm25_without_idf(&[0], 10.0, 10.0), 0.0);
    }
}
