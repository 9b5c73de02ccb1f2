//! The relayer's journal: an append-only JSON-lines file of message records and scan cursors.
//!
//! Every state change appends the message's full record before the relayer acts on it, so a
//! restarted relayer knows every message it saw, every delivery transaction it signed (and can
//! check or re-send those exact bytes), and where each chain's scan stopped. Replaying keeps the
//! last record per message. Lines are written with one `write` each and not fsynced: the journal
//! survives a crash or kill of the relayer process, which is what the devnet needs, not a power
//! loss.

use std::{
    collections::HashMap,
    fs::{File, OpenOptions},
    io::{BufRead, BufReader, Write},
    path::{Path, PathBuf},
};

use serde::{Deserialize, Serialize};

use super::RelayMessage;
use crate::{Error, Result};

#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Record {
    Message { message: Box<RelayMessage> },
    Cursor { chain_selector: u64, block: u64 },
}

/// What a journal replays to.
#[derive(Debug, Default)]
pub(crate) struct Replayed {
    /// Messages in the order they were first seen, each in its last recorded state.
    pub(crate) messages: Vec<RelayMessage>,
    /// Last fully scanned block per source chain.
    pub(crate) cursors: HashMap<u64, u64>,
}

/// An open journal.
#[derive(Debug)]
pub(crate) struct Journal {
    path: PathBuf,
    file: File,
}

impl Journal {
    /// Opens (creating if needed) and replays a journal.
    pub(crate) fn open(path: &Path) -> Result<(Self, Replayed)> {
        let replayed = if path.exists() { replay(path)? } else { Replayed::default() };
        drop_partial_last_line(path)?;
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| Error::io(path, e))?;
        Ok((Self { path: path.to_owned(), file }, replayed))
    }

    pub(crate) fn message(&mut self, message: &RelayMessage) -> Result<()> {
        self.append(&Record::Message { message: Box::new(message.clone()) })
    }

    pub(crate) fn cursor(&mut self, chain_selector: u64, block: u64) -> Result<()> {
        self.append(&Record::Cursor { chain_selector, block })
    }

    fn append(&mut self, record: &Record) -> Result<()> {
        let mut line = serde_json::to_vec(record).expect("journal records serialize");
        line.push(b'\n');
        self.file.write_all(&line).map_err(|e| Error::io(&self.path, e))
    }
}

/// Cuts a line a crash left unfinished, so the next record starts on a line of its own.
fn drop_partial_last_line(path: &Path) -> Result<()> {
    let Ok(bytes) = std::fs::read(path) else { return Ok(()) };
    let complete = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    if complete < bytes.len() {
        let file = OpenOptions::new().write(true).open(path).map_err(|e| Error::io(path, e))?;
        file.set_len(complete as u64).map_err(|e| Error::io(path, e))?;
    }
    Ok(())
}

fn replay(path: &Path) -> Result<Replayed> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let lines: Vec<String> = BufReader::new(file)
        .lines()
        .collect::<std::io::Result<_>>()
        .map_err(|e| Error::io(path, e))?;
    let mut replayed = Replayed::default();
    let mut index: HashMap<_, usize> = HashMap::new();
    let last = lines.len().saturating_sub(1);
    for (n, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let record: Record = match serde_json::from_str(line) {
            Ok(record) => record,
            // A crash can cut the last line short; anything earlier is corruption.
            Err(_) if n == last => {
                tracing::warn!(target: "devnet::relayer", path = %path.display(), "ignoring a truncated last journal line");
                continue;
            }
            Err(e) => {
                return Err(Error::Corrupt {
                    path: path.to_owned(),
                    reason: format!(
                        "line {}: {e}; the relayer journal is damaged — move it away to start \
                         the relayer from scratch (messages already delivered would be seen again)",
                        n + 1
                    ),
                });
            }
        };
        match record {
            Record::Message { message } => match index.get(&message.id) {
                Some(&i) => replayed.messages[i] = *message,
                None => {
                    index.insert(message.id, replayed.messages.len());
                    replayed.messages.push(*message);
                }
            },
            Record::Cursor { chain_selector, block } => {
                replayed.cursors.insert(chain_selector, block);
            }
        }
    }
    Ok(replayed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::relayer::MessageState;
    use alloy::primitives::{Address, B256, Bytes, U256};

    fn message(id: u8, state: MessageState) -> RelayMessage {
        RelayMessage {
            id: B256::repeat_byte(id),
            source_chain_selector: 1,
            dest_chain_selector: 2,
            sender: Address::repeat_byte(3),
            receiver: Address::repeat_byte(4),
            data: Bytes::from_static(b"hello"),
            gas_limit: U256::from(200_000u64),
            router_message_id: B256::repeat_byte(5),
            source_tx: B256::repeat_byte(6),
            source_block: 7,
            token_transfers: 1,
            // A token carried: the journal keeps what the off-ramp needs to mint it.
            sequence_number: 9,
            tokens: vec![crate::relayer::TokenTransfer {
                source_pool: Address::repeat_byte(8),
                dest_token: Address::repeat_byte(9),
                dest_gas: 90_000,
                extra_data: Bytes::from_static(&[0; 32]),
                amount: U256::from(400_000_000u64),
            }],
            delivered_on_source: false,
            state,
            attempts: 0,
            detected_at_ms: 1,
            finished_at_ms: None,
        }
    }

    #[test]
    fn replay_keeps_first_seen_order_and_last_state() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("relayer.jsonl");
        {
            let (mut journal, replayed) = Journal::open(&path).unwrap();
            assert!(replayed.messages.is_empty());
            journal.message(&message(1, MessageState::Pending)).unwrap();
            journal.message(&message(2, MessageState::Pending)).unwrap();
            journal.cursor(1, 10).unwrap();
            journal
                .message(&message(
                    1,
                    MessageState::Success { tx_hash: B256::repeat_byte(9), receiver_called: true },
                ))
                .unwrap();
            journal.cursor(1, 12).unwrap();
        }
        let (_, replayed) = Journal::open(&path).unwrap();
        assert_eq!(replayed.messages.len(), 2);
        assert_eq!(replayed.messages[0].id, B256::repeat_byte(1));
        assert_eq!(replayed.messages[0].state.name(), "SUCCESS");
        assert_eq!(replayed.messages[1].state, MessageState::Pending);
        assert_eq!(replayed.cursors[&1], 12);
    }

    #[test]
    fn a_truncated_last_line_is_ignored_but_earlier_damage_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("relayer.jsonl");
        {
            let (mut journal, _) = Journal::open(&path).unwrap();
            journal.message(&message(1, MessageState::Pending)).unwrap();
        }
        let mut text = std::fs::read_to_string(&path).unwrap();
        text.push_str("{\"kind\":\"cur");
        std::fs::write(&path, &text).unwrap();
        {
            let (mut journal, replayed) = Journal::open(&path).unwrap();
            assert_eq!(replayed.messages.len(), 1);
            journal.message(&message(2, MessageState::Pending)).unwrap();
        }
        let (_, replayed) = Journal::open(&path).unwrap();
        assert_eq!(replayed.messages.len(), 2, "appends after a cut line stay readable");

        std::fs::write(&path, format!("garbage\n{text}\n")).unwrap();
        let err = Journal::open(&path).unwrap_err();
        assert!(err.to_string().contains("line 1"), "{err}");
    }
}
