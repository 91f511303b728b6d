//! Splitting the command stream into lines, with a length limit that never
//! buffers more than the limit.

/// What [`LineReader::next_line`] found in the buffer.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Line {
    /// A whole line, with its line ending.
    Complete(Vec<u8>),
    /// A line longer than the limit ended here; its bytes were dropped.
    TooLong,
    /// No whole line yet: read more.
    Incomplete,
}

/// Takes lines off the front of the input buffer.
#[derive(Debug)]
pub(crate) struct LineReader {
    max_len: usize,
    /// Inside an over-long line: drop everything up to its end.
    discarding: bool,
}

impl LineReader {
    /// Lines of at most `max_len` bytes, line ending included.
    pub(crate) fn new(max_len: usize) -> LineReader {
        LineReader {
            max_len,
            discarding: false,
        }
    }

    /// Removes the next line (or over-long line) from the front of `buffer`.
    pub(crate) fn next_line(&mut self, buffer: &mut Vec<u8>) -> Line {
        match buffer.iter().position(|&byte| byte == b'\n') {
            Some(end) => {
                let line: Vec<u8> = buffer.drain(..=end).collect();
                if std::mem::take(&mut self.discarding) || line.len() > self.max_len {
                    Line::TooLong
                } else {
                    Line::Complete(line)
                }
            }
            None => {
                if self.discarding {
                    buffer.clear();
                } else if buffer.len() > self.max_len {
                    buffer.clear();
                    self.discarding = true;
                }
                Line::Incomplete
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_pipelined_lines() {
        let mut reader = LineReader::new(100);
        let mut buffer = b"NOOP\r\nQUIT\r\nRS".to_vec();
        assert_eq!(
            reader.next_line(&mut buffer),
            Line::Complete(b"NOOP\r\n".to_vec())
        );
        assert_eq!(
            reader.next_line(&mut buffer),
            Line::Complete(b"QUIT\r\n".to_vec())
        );
        assert_eq!(reader.next_line(&mut buffer), Line::Incomplete);
        assert_eq!(buffer, b"RS");
    }

    #[test]
    fn over_long_line_is_dropped_as_it_arrives() {
        let mut reader = LineReader::new(8);
        let mut buffer = b"NOOP 123456".to_vec();
        assert_eq!(reader.next_line(&mut buffer), Line::Incomplete);
        assert!(buffer.is_empty(), "the partial line is not kept");
        buffer.extend_from_slice(b"7890");
        assert_eq!(reader.next_line(&mut buffer), Line::Incomplete);
        assert!(buffer.is_empty());
        buffer.extend_from_slice(b"end\r\nQUIT\r\n");
        assert_eq!(reader.next_line(&mut buffer), Line::TooLong);
        assert_eq!(
            reader.next_line(&mut buffer),
            Line::Complete(b"QUIT\r\n".to_vec())
        );
    }

    #[test]
    fn whole_over_long_line_in_one_read() {
        let mut reader = LineReader::new(8);
        let mut buffer = b"NOOP 1234567890\r\nQUIT\r\n".to_vec();
        assert_eq!(reader.next_line(&mut buffer), Line::TooLong);
        assert_eq!(
            reader.next_line(&mut buffer),
            Line::Complete(b"QUIT\r\n".to_vec())
        );
    }
}
