"""DeepLog's one-session-per-line log-key files as sequences (`--format deeplog`)."""

from __future__ import annotations

from pathlib import Path

from detectors.adapters import FORMAT_NAMES, real_data_path
from detectors.sequence_files import load_sequences


def test_each_line_is_one_session_of_log_keys(tmp_path: Path) -> None:
    path = tmp_path / "sessions"
    path.write_text("5 5 22 11 9 \n\n3 4 x 2\n26 26\n", encoding="utf-8")
    loaded = load_sequences(path, "deeplog")
    assert "deeplog" in FORMAT_NAMES
    assert [s.user_id for s in loaded.sequences] == ["s1", "s3"]
    first = loaded.sequences[0].events
    assert [e.action for e in first] == [f"other:key{k}" for k in (5, 5, 22, 11, 9)]
    assert [e.ts for e in first] == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert loaded.report.read == 3 and loaded.report.kept == 2
    assert [problem.line for problem in loaded.report.problems] == [3]


def test_the_shared_hdfs_sessions_load_in_place() -> None:
    normal = load_sequences(real_data_path("deeplog"), "deeplog")
    assert len(normal.sequences) == 4855 and normal.report.rejected == 0
    keys = {e.action for s in normal.sequences for e in s.events}
    assert len(keys) == 14
