//! Receiving the message after `DATA`: dot-unstuffing by smtp-proto, plus a
//! size limit that stops buffering as soon as it is crossed.

use std::slice::Iter;

use smtp_proto::request::receiver::{DataReceiver, DummyDataReceiver};

/// How a `DATA` transfer ended.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum DataOutcome {
    /// The whole message, dot-unstuffed.
    Message(Vec<u8>),
    /// The message was bigger than the limit; it was read and discarded.
    TooLarge,
}

/// The line break that precedes the message. smtp-proto only recognises a
/// dot (stuffing or the terminator) after a CRLF it has seen, but the first
/// line of the message starts right after the `DATA` command's CRLF, which
/// it never saw. Feeding it this CRLF first makes `.` on the first line
/// work; the two bytes are removed from the message at the end.
const LINE_START: &[u8] = b"\r\n";

/// Receives one message.
pub(crate) struct DataReader {
    receiver: DataReceiver,
    message: Vec<u8>,
    max_size: usize,
    /// Set once over the limit: the rest is only scanned for its end.
    discarding: Option<DummyDataReceiver>,
}

impl DataReader {
    /// A reader accepting messages of at most `max_size` bytes.
    pub(crate) fn new(max_size: usize) -> DataReader {
        let mut receiver = DataReceiver::new();
        let mut message = Vec::new();
        // Only primes the state: two bytes cannot end a message.
        let _ = receiver.ingest(&mut LINE_START.iter(), &mut message);
        DataReader {
            receiver,
            message,
            max_size,
            discarding: None,
        }
    }

    /// Consumes bytes from `input`; `true` once the terminating `CRLF . CRLF`
    /// has been read. Bytes after the terminator stay in `input`.
    pub(crate) fn ingest(&mut self, input: &mut Iter<'_, u8>) -> bool {
        if let Some(discard) = &mut self.discarding {
            return discard.ingest(input);
        }
        let done = self.receiver.ingest(input, &mut self.message);
        if self.message.len().saturating_sub(LINE_START.len()) > self.max_size {
            self.message = Vec::new();
            let mut discard = DummyDataReceiver::new_data(&self.receiver);
            let done = done || discard.ingest(input);
            self.discarding = Some(discard);
            return done;
        }
        done
    }

    /// The received message; call once [`DataReader::ingest`] returned `true`.
    pub(crate) fn finish(mut self) -> DataOutcome {
        if self.discarding.is_some() {
            return DataOutcome::TooLarge;
        }
        self.message.drain(..LINE_START.len());
        DataOutcome::Message(self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `chunks` one by one; the outcome and what was left unread.
    fn receive(max_size: usize, chunks: &[&[u8]]) -> Option<(DataOutcome, Vec<u8>)> {
        let mut reader = DataReader::new(max_size);
        for (index, chunk) in chunks.iter().enumerate() {
            let mut input = chunk.iter();
            if reader.ingest(&mut input) {
                let mut rest = input.as_slice().to_vec();
                for later in &chunks[index + 1..] {
                    rest.extend_from_slice(later);
                }
                return Some((reader.finish(), rest));
            }
        }
        None
    }

    #[test]
    fn unstuffs_dots_and_keeps_the_last_line_break() {
        let (outcome, rest) =
            receive(1000, &[b"a\r\n..b\r\n.\r\n", b"QUIT\r\n"]).expect("message ends");
        assert_eq!(outcome, DataOutcome::Message(b"a\r\n.b\r\n".to_vec()));
        assert_eq!(rest, b"QUIT\r\n");
    }

    #[test]
    fn first_line_may_be_dot_stuffed_or_the_terminator() {
        let (outcome, _) = receive(1000, &[b"..first\r\n.\r\n"]).expect("message ends");
        assert_eq!(outcome, DataOutcome::Message(b".first\r\n".to_vec()));
        let (outcome, _) = receive(1000, &[b".\r\n"]).expect("empty message ends");
        assert_eq!(outcome, DataOutcome::Message(Vec::new()));
    }

    #[test]
    fn terminator_split_across_reads() {
        let (outcome, _) =
            receive(1000, &[b"a\r", b"\n", b".", b"\r", b"\n"]).expect("message ends");
        assert_eq!(outcome, DataOutcome::Message(b"a\r\n".to_vec()));
    }

    #[test]
    fn bare_lf_dot_does_not_end_the_message() {
        assert!(receive(1000, &[b"a\n.\nMAIL FROM:<x@y>\r\n"]).is_none());
        assert!(receive(1000, &[b"a\r\n.\n"]).is_none());
    }

    #[test]
    fn too_large_is_discarded_to_the_end() {
        let big = vec![b'x'; 100];
        let (outcome, rest) =
            receive(50, &[&big, b"\r\n", &big, b"\r\n.\r\nQUIT\r\n"]).expect("message ends");
        assert_eq!(outcome, DataOutcome::TooLarge);
        assert_eq!(rest, b"QUIT\r\n");
    }

    #[test]
    fn exactly_the_limit_is_accepted() {
        let (outcome, _) = receive(5, &[b"abc\r\n.\r\n"]).expect("message ends");
        assert_eq!(outcome, DataOutcome::Message(b"abc\r\n".to_vec()));
        let (outcome, _) = receive(4, &[b"abc\r\n.\r\n"]).expect("message ends");
        assert_eq!(outcome, DataOutcome::TooLarge);
    }
}
