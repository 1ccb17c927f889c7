//! The messages of the live log bus: a batch of one execution's lines, numbered, and whether
//! the execution ended, as short JSON; a line too long for one message is cut, and says so.

use domain::ExecutionId;
use domain::execution::LogEntry;
use domain::live::MAX_LIVE_MESSAGE_BYTES;
use serde::{Deserialize, Serialize};

/// One log line of a running execution with its number (from 1, in the order it was logged);
/// as JSON, the fields of a stored log line plus `seq`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LiveLine {
    pub seq: u64,
    #[serde(flatten)]
    pub entry: LogEntry,
}

/// What one bus message carries: lines of one execution, in order, and whether it ended.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Batch {
    #[serde(rename = "e")]
    pub(crate) execution: ExecutionId,
    #[serde(rename = "l", default)]
    pub(crate) lines: Vec<LiveLine>,
    #[serde(default)]
    pub(crate) end: bool,
}

/// Room for the batch around its lines (the execution id, field names, brackets).
const ENVELOPE_BYTES: usize = 100;

/// The most one line may take, so that a batch of it alone fits in a message.
pub(crate) const MAX_LINE_BYTES: usize = MAX_LIVE_MESSAGE_BYTES - ENVELOPE_BYTES;

impl Batch {
    /// Whether a line of `line_bytes` (its JSON) still fits in a batch that holds `held` bytes
    /// of lines.
    pub(crate) fn fits(held: usize, line_bytes: usize) -> bool {
        ENVELOPE_BYTES + held + 1 + line_bytes <= MAX_LIVE_MESSAGE_BYTES
    }

    pub(crate) fn encode(&self) -> Option<String> {
        serde_json::to_string(self).ok()
    }

    pub(crate) fn decode(message: &str) -> Option<Self> {
        serde_json::from_str(message).ok()
    }
}

fn encoded_len(line: &LiveLine) -> usize {
    serde_json::to_string(line).map_or(usize::MAX, |json| json.len())
}

/// Bytes a character takes inside a JSON string.
fn escaped_len(c: char) -> usize {
    match c {
        '"' | '\\' | '\n' | '\r' | '\t' | '\u{8}' | '\u{c}' => 2,
        c if (c as u32) < 0x20 => 6,
        c => c.len_utf8(),
    }
}

/// `line` as it fits in one message, with the bytes of its JSON: a line over
/// [`MAX_LINE_BYTES`] loses its metadata and the end of its message, and its message says so.
/// (The execution's stored record keeps it whole.)
pub(crate) fn fit(mut line: LiveLine) -> (LiveLine, usize) {
    let size = encoded_len(&line);
    if size <= MAX_LINE_BYTES {
        return (line, size);
    }
    let note = format!(" … [cut for live viewing: the line was {size} bytes]");
    let message = std::mem::take(&mut line.entry.message);
    line.entry.metadata = serde_json::Value::Null;
    let overhead = encoded_len(&line) + note.chars().map(escaped_len).sum::<usize>();
    let room = MAX_LINE_BYTES.saturating_sub(overhead);
    let (mut used, mut end) = (0, 0);
    for (at, c) in message.char_indices() {
        used += escaped_len(c);
        if used > room {
            break;
        }
        end = at + c.len_utf8();
    }
    line.entry.message = format!("{}{note}", &message[..end]);
    let size = encoded_len(&line);
    (line, size)
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::execution::LogLevel;
    use serde_json::json;

    fn line(message: String, metadata: serde_json::Value) -> LiveLine {
        LiveLine {
            seq: 7,
            entry: LogEntry {
                level: LogLevel::Info,
                message,
                metadata,
                ts: chrono::DateTime::UNIX_EPOCH,
            },
        }
    }

    #[test]
    fn a_line_reads_as_a_stored_line_with_its_number() {
        let json = serde_json::to_value(line("hi".into(), json!({"a": 1}))).unwrap();
        assert_eq!(
            json,
            json!({"seq": 7, "level": "info", "message": "hi", "metadata": {"a": 1},
                   "ts": "1970-01-01T00:00:00Z"})
        );
    }

    #[test]
    fn a_short_line_is_kept_whole() {
        let short = line("hello".into(), json!({"k": "v"}));
        let (kept, size) = fit(short.clone());
        assert_eq!(kept, short);
        assert_eq!(size, serde_json::to_string(&short).unwrap().len());
    }

    #[test]
    fn an_over_long_line_is_cut_to_fit_one_message_and_says_so() {
        for message in [
            "x".repeat(20_000),
            "é".repeat(9_000),
            "\u{1}".repeat(5_000),
            "\"".repeat(7_000),
        ] {
            let (cut, size) = fit(line(message.clone(), json!({"big": "y".repeat(3000)})));
            assert!(size <= MAX_LINE_BYTES, "{size}");
            assert_eq!(size, serde_json::to_string(&cut).unwrap().len());
            assert!(cut.entry.message.contains("cut for live viewing"));
            assert!(message.starts_with(cut.entry.message.split(" … [cut").next().unwrap()));
            assert!(cut.entry.message.len() > 1000, "too much was cut");
            assert_eq!(cut.entry.metadata, serde_json::Value::Null);
            let batch = Batch {
                execution: ExecutionId::new(),
                lines: vec![cut],
                end: true,
            };
            let encoded = batch.encode().unwrap();
            assert!(encoded.len() < MAX_LIVE_MESSAGE_BYTES, "{}", encoded.len());
            assert_eq!(Batch::decode(&encoded), Some(batch));
        }
    }
}
