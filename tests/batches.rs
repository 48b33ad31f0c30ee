//! Log format 2: atomic batches, the synced checkpoint, and `cdnsim repair` — the log-level
//! half of "a write reaches the log all or none" and "acknowledged records are never cut
//! silently" (D4, D5).

mod common;

use std::fs;
use std::path::Path;
use std::process::Command;

use cdnsim::event::{Event, TimeMs};
use cdnsim::log::{Header, LogError, LogWriter, Records, read_synced};
use common::*;

fn batched(path: &Path) -> LogWriter {
    LogWriter::create(path, Header::batched([7; 32], 1)).expect("creates")
}

fn records(path: &Path) -> (Vec<u64>, Option<LogError>) {
    let mut seqs = Vec::new();
    for record in Records::open(path).expect("opens") {
        match record {
            Ok(r) => seqs.push(r.seq),
            Err(e) => return (seqs, Some(e)),
        }
    }
    (seqs, None)
}

#[track_caller]
fn assert_whole(path: &Path, n: u64) {
    let (seqs, error) = records(path);
    assert!(error.is_none(), "{error:?}");
    assert_eq!(seqs, (0..n).collect::<Vec<_>>());
}

fn cdnsim(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_cdnsim"))
        .args(args)
        .output()
        .expect("runs")
}

/// The history in batches of two, three and one (six records), synced.
fn three_batches(path: &Path) -> Vec<(TimeMs, Event)> {
    let history = small_history();
    let mut writer = batched(path);
    writer.append_batch(&history[0..2]).expect("batch");
    writer.append_batch(&history[2..5]).expect("batch");
    writer.append_batch(&history[5..6]).expect("batch");
    writer.sync().expect("syncs");
    history
}

#[test]
fn a_batch_cut_short_is_a_torn_tail_cut_whole() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = path_in(&dir, "b.cdnlog");
    three_batches(&path);
    let bytes = fs::read(&path).expect("read");
    let offsets = frame_offsets(&bytes);
    assert_eq!(offsets.len(), 6);
    assert_whole(&path, 6);
    // The file ends after the second record of the middle batch (offsets[4] is its third):
    // the whole batch is a torn tail, named by its first record.
    fs::write(&path, &bytes[..offsets[4]]).expect("write");
    fs::remove_file(cdnsim::log::checkpoint_path(&path)).expect("no checkpoint: a crash");
    let (seqs, error) = records(&path);
    assert_eq!(seqs, [0, 1, 2, 3]);
    match error {
        Some(LogError::TornTail { offset, seq, .. }) => {
            assert_eq!((offset, seq), (offsets[2] as u64, 2));
        }
        other => panic!("expected a torn tail, got {other:?}"),
    }
    let (writer, recovery) = LogWriter::open_append(&path).expect("reopens");
    assert_eq!(
        recovery.cut,
        Some((offsets[2] as u64, (offsets[4] - offsets[2]) as u64))
    );
    assert_eq!(writer.next_seq(), 2);
    drop(writer);
    assert_whole(&path, 2);
}

#[test]
fn a_refused_event_leaves_its_whole_batch_out() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = path_in(&dir, "b.cdnlog");
    let history = small_history();
    let mut writer = batched(&path);
    writer.append_batch(&history[0..2]).expect("batch");
    // Its second event goes back in time: refused, and the first is not kept either.
    let bad = [history[3].clone(), (history[3].0 - 1, history[4].1.clone())];
    assert!(writer.append_batch(&bad).is_err());
    assert_eq!(writer.next_seq(), 2);
    writer.append_batch(&history[2..4]).expect("batch");
    writer.sync().expect("syncs");
    drop(writer);
    assert_whole(&path, 4);
}

#[test]
fn version_1_logs_are_unchanged() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, b) = (path_in(&dir, "a.cdnlog"), path_in(&dir, "b.cdnlog"));
    let history = small_history();
    write_log(&a, 1, &history);
    let mut writer = LogWriter::create(&b, Header::new([7; 32], 1)).expect("creates");
    writer
        .append_batch(&history)
        .expect("one call, single records");
    writer.sync().expect("syncs");
    drop(writer);
    assert_eq!(fs::read(&a).expect("a"), fs::read(&b).expect("b"));
    assert_eq!(
        read_synced(&a).expect("reads"),
        None,
        "no checkpoint beside a v1 log"
    );
}

/// D5: damage inside the synced part is never cut as a torn tail; only repair drops it.
#[test]
fn damage_to_synced_records_is_refused_and_only_repair_drops_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = path_in(&dir, "b.cdnlog");
    three_batches(&path);
    let good = fs::read(&path).expect("read");
    let offsets = frame_offsets(&good);
    let synced = read_synced(&path).expect("reads").expect("a checkpoint");
    assert_eq!(synced.len, good.len() as u64);
    assert_eq!(synced.records, 6);
    // One flipped byte inside the last record: it looks like a torn tail, but it was synced.
    let mut flipped = good.clone();
    flipped[offsets[5] + 12] ^= 0x01;
    fs::write(&path, &flipped).expect("write");
    let refused = LogWriter::open_append(&path).expect_err("refused");
    let message = refused.to_string();
    assert!(
        matches!(refused, LogError::SyncedDamage { offset, seq: 5, .. } if offset == offsets[5] as u64),
        "{message}"
    );
    assert!(
        message.contains(&format!("--truncate-at {}", offsets[5])),
        "{message}"
    );
    assert_eq!(fs::read(&path).expect("read"), flipped, "nothing was cut");
    // verify says the same, exit 1.
    let log = path.to_str().expect("UTF-8 path");
    let verify = cdnsim(&["verify", log]);
    assert_eq!(verify.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&verify.stderr);
    assert!(stderr.contains("inside the synced part"), "{stderr}");
    // repair refuses a place that is not a batch end, then cuts where it was told.
    let bad_cut = cdnsim(&["repair", log, "--truncate-at", &(offsets[4]).to_string()]);
    assert_eq!(bad_cut.status.code(), Some(2));
    let repaired = cdnsim(&["repair", log, "--truncate-at", &offsets[5].to_string()]);
    assert!(repaired.status.success(), "{repaired:?}");
    assert_eq!(fs::read(format!("{log}.bak.1")).expect("backup"), flipped);
    assert_whole(&path, 5);
    assert_eq!(
        read_synced(&path).expect("reads").map(|s| s.len),
        Some(offsets[5] as u64)
    );
    LogWriter::open_append(&path).expect("reopens after the repair");
}

/// `repair` never cuts a log in a data directory a server holds.
#[test]
fn repair_refuses_a_data_directory_a_server_holds() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = path_in(&dir, "events.cdnlog");
    three_batches(&path);
    let lock = fs::File::create(dir.path().join("lock")).expect("lock file");
    lock.try_lock().expect("locks");
    let log = path.to_str().expect("UTF-8");
    let refused = cdnsim(&["repair", log, "--truncate-at", "56"]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("stop it first"));
    assert_whole(&path, 6);
    drop(lock);
    let repaired = cdnsim(&["repair", log, "--truncate-at", "56"]);
    assert!(repaired.status.success(), "{repaired:?}");
    assert_whole(&path, 0);
}

/// A torn tail past the checkpoint (appended, never synced) is still cut on reopen.
#[test]
fn a_tail_past_the_checkpoint_is_cut_as_torn() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = path_in(&dir, "b.cdnlog");
    let history = three_batches(&path);
    let synced = fs::read(&path).expect("read").len();
    {
        let mut writer = LogWriter::open_append(&path).expect("reopens").0;
        writer.append_batch(&history[6..9]).expect("batch");
        writer.flush().expect("flushes, no sync");
    }
    let bytes = fs::read(&path).expect("read");
    fs::write(&path, &bytes[..bytes.len() - 3]).expect("a crash tears the last frame");
    let verify = cdnsim(&["verify", path.to_str().expect("UTF-8")]);
    assert_eq!(verify.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&verify.stdout);
    assert!(stdout.contains("past the synced part"), "{stdout}");
    let (writer, recovery) = LogWriter::open_append(&path).expect("reopens");
    assert_eq!(recovery.cut.map(|c| c.0), Some(synced as u64));
    assert_eq!(writer.next_seq(), 6);
}

/// A log shorter than its checkpoint lost synced records: refused too.
#[test]
fn a_log_shorter_than_its_checkpoint_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = path_in(&dir, "b.cdnlog");
    three_batches(&path);
    let bytes = fs::read(&path).expect("read");
    let offsets = frame_offsets(&bytes);
    fs::write(&path, &bytes[..offsets[5]]).expect("write");
    let refused = LogWriter::open_append(&path).expect_err("refused");
    assert!(
        matches!(refused, LogError::SyncedDamage { .. }),
        "{refused}"
    );
}
