//! Opaque keyset cursors: the sort key and id of the last row of a page.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Where the next page starts: after the row with this sort key and id.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cursor {
    /// The sort key of the last row (a timestamp, or a search rank's bits).
    pub key: i64,
    /// The id of the last row (ties are broken by id).
    pub id: i64,
}

impl Cursor {
    /// The opaque text handed to clients.
    pub fn encode(self) -> String {
        URL_SAFE_NO_PAD.encode(format!("{}:{}", self.key, self.id))
    }

    /// Reads a cursor; `None` when it is not one of ours.
    pub fn decode(text: &str) -> Option<Cursor> {
        let bytes = URL_SAFE_NO_PAD.decode(text).ok()?;
        let text = String::from_utf8(bytes).ok()?;
        let (key, id) = text.split_once(':')?;
        Some(Cursor {
            key: key.parse().ok()?,
            id: id.parse().ok()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_garbage() {
        let cursor = Cursor { key: -5, id: 42 };
        assert_eq!(Cursor::decode(&cursor.encode()), Some(cursor));
        assert_eq!(Cursor::decode("not a cursor"), None);
        assert_eq!(Cursor::decode(""), None);
    }
}
