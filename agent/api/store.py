"""SQLite persistence for the API: alerts, cases, verdicts, jobs, feedback, messages, audit log."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS cases (
    case_id TEXT PRIMARY KEY, user_id TEXT NOT NULL, events TEXT NOT NULL, created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS alerts (
    alert_id TEXT PRIMARY KEY, case_id TEXT NOT NULL, status TEXT NOT NULL, reason TEXT,
    attempts INTEGER NOT NULL DEFAULT 0, created_at REAL NOT NULL, updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS verdicts (
    case_id TEXT PRIMARY KEY, verdict TEXT NOT NULL, created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS jobs (
    job_id TEXT PRIMARY KEY, alert_ids TEXT NOT NULL, created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT, case_id TEXT NOT NULL, fraud_type TEXT NOT NULL,
    action TEXT NOT NULL, note TEXT, actor TEXT NOT NULL, created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT, case_id TEXT NOT NULL, role TEXT NOT NULL,
    content TEXT NOT NULL, actor TEXT NOT NULL, created_at REAL NOT NULL, prompt_version TEXT
);
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL, actor TEXT NOT NULL,
    action TEXT NOT NULL, subject TEXT NOT NULL, detail TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS alerts_status ON alerts (status);
CREATE INDEX IF NOT EXISTS cases_user ON cases (user_id, created_at);
CREATE INDEX IF NOT EXISTS feedback_case ON feedback (case_id);
CREATE INDEX IF NOT EXISTS messages_case ON messages (case_id);
CREATE INDEX IF NOT EXISTS audit_subject ON audit (subject);
CREATE TABLE IF NOT EXISTS ui_sessions (
    token_sha256 TEXT PRIMARY KEY, key_name TEXT NOT NULL, csrf_token TEXT NOT NULL,
    created_at REAL NOT NULL, expires_at REAL NOT NULL
);
"""


@dataclass(slots=True)
class AlertRow:
    alert_id: str
    case_id: str
    status: str
    """`pending` (being worked on), `done`, or `retry` (fallback verdict, to be retried)."""
    reason: str | None
    attempts: int
    created_at: float
    updated_at: float


@dataclass(slots=True)
class CaseRow:
    case_id: str
    user_id: str
    events: list[dict[str, Any]]
    """FORMATS.md event records, time-ordered."""
    created_at: float


@dataclass(slots=True)
class QueueRow:
    """One alert as the analyst's queue lists it."""

    alert_id: str
    case_id: str
    user_id: str
    status: str
    reason: str | None
    created_at: float
    updated_at: float
    verdict: dict[str, Any] | None


class Store:
    """One SQLite file; each call is a short transaction under one lock."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)
        self._add_missing_columns()

    def _add_missing_columns(self) -> None:
        # A database written before a column existed gets it (NULL in the old rows).
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(messages)")}
        if "prompt_version" not in columns:
            self._db.execute("ALTER TABLE messages ADD COLUMN prompt_version TEXT")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _query(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    # --- alerts and cases ---

    def create_alert(
        self, alert_id: str, user_id: str, events: list[dict[str, Any]], actor: str
    ) -> tuple[AlertRow, bool]:
        """Persist a new alert and its case (case id = alert id); return (row, created).

        An alert id seen before returns the stored row with created=False and changes nothing.
        """
        now = time.time()
        with self._transaction() as db:
            existing = db.execute("SELECT * FROM alerts WHERE alert_id = ?", (alert_id,)).fetchone()
            if existing is not None:
                return AlertRow(**dict(existing)), False
            db.execute(
                "INSERT INTO cases VALUES (?, ?, ?, ?)",
                (alert_id, user_id, json.dumps(events), now),
            )
            db.execute(
                "INSERT INTO alerts VALUES (?, ?, 'pending', NULL, 0, ?, ?)",
                (alert_id, alert_id, now, now),
            )
            _audit(db, actor, "alert.create", alert_id, {"user_id": user_id, "events": len(events)})
        return AlertRow(alert_id, alert_id, "pending", None, 0, now, now), True

    def get_alert(self, alert_id: str) -> AlertRow | None:
        rows = self._query("SELECT * FROM alerts WHERE alert_id = ?", (alert_id,))
        return AlertRow(**dict(rows[0])) if rows else None

    def alerts_to_retry(self, max_attempts: int) -> list[AlertRow]:
        rows = self._query(
            "SELECT * FROM alerts WHERE status = 'retry' AND attempts < ? ORDER BY created_at",
            (max_attempts,),
        )
        return [AlertRow(**dict(row)) for row in rows]

    def alerts_pending(self) -> list[AlertRow]:
        rows = self._query("SELECT * FROM alerts WHERE status = 'pending' ORDER BY created_at")
        return [AlertRow(**dict(row)) for row in rows]

    def mark_retry(self, alert_id: str, reason: str) -> None:
        with self._transaction() as db:
            db.execute(
                "UPDATE alerts SET status = 'retry', reason = ?, updated_at = ? WHERE alert_id = ?",
                (reason, time.time(), alert_id),
            )
            _audit(db, "system", "alert.retry", alert_id, {"reason": reason})

    def save_verdict(
        self, alert_id: str, verdict: dict[str, Any], retry_reason: str | None, actor: str
    ) -> None:
        """Store the alert's verdict (replacing an earlier fallback) and its new status."""
        now = time.time()
        status = "retry" if retry_reason else "done"
        with self._transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO verdicts VALUES (?, ?, ?)",
                (alert_id, json.dumps(verdict), now),
            )
            db.execute(
                "UPDATE alerts SET status = ?, reason = ?, attempts = attempts + 1, updated_at = ? "
                "WHERE alert_id = ?",
                (status, retry_reason, now, alert_id),
            )
            detail = {
                "fraud_type": verdict.get("fraud_type"),
                "action": verdict.get("action"),
                "status": status,
            }
            _audit(db, actor, "verdict.save", alert_id, detail)

    def get_case(self, case_id: str) -> CaseRow | None:
        rows = self._query("SELECT * FROM cases WHERE case_id = ?", (case_id,))
        if not rows:
            return None
        row = dict(rows[0])
        return CaseRow(row["case_id"], row["user_id"], json.loads(row["events"]), row["created_at"])

    def recent_case_ids(self, limit: int) -> list[str]:
        rows = self._query("SELECT case_id FROM cases ORDER BY created_at DESC LIMIT ?", (limit,))
        return [row[0] for row in rows]

    def latest_events_of_user(self, user_id: str) -> list[dict[str, Any]] | None:
        """Events of the user's most recent case, for alerts that name only a user."""
        rows = self._query(
            "SELECT events FROM cases WHERE user_id = ? ORDER BY created_at DESC LIMIT 1",
            (user_id,),
        )
        return json.loads(rows[0][0]) if rows else None

    def get_verdict(self, case_id: str) -> dict[str, Any] | None:
        rows = self._query("SELECT verdict FROM verdicts WHERE case_id = ?", (case_id,))
        return json.loads(rows[0][0]) if rows else None

    # --- jobs ---

    def create_job(self, job_id: str, alert_ids: list[str], actor: str) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT INTO jobs VALUES (?, ?, ?)", (job_id, json.dumps(alert_ids), time.time())
            )
            _audit(db, actor, "job.create", job_id, {"alerts": len(alert_ids)})

    def get_job(self, job_id: str) -> tuple[list[str], float] | None:
        rows = self._query("SELECT alert_ids, created_at FROM jobs WHERE job_id = ?", (job_id,))
        return (json.loads(rows[0][0]), rows[0][1]) if rows else None

    # --- feedback, messages, audit ---

    def add_feedback(
        self, case_id: str, fraud_type: str, action: str, note: str | None, actor: str
    ) -> float:
        now = time.time()
        with self._transaction() as db:
            db.execute(
                "INSERT INTO feedback (case_id, fraud_type, action, note, actor, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (case_id, fraud_type, action, note, actor, now),
            )
            _audit(db, actor, "feedback.add", case_id, {"fraud_type": fraud_type, "action": action})
        return now

    def feedback_of(self, case_id: str) -> list[dict[str, Any]]:
        rows = self._query(
            "SELECT fraud_type, action, note, actor, created_at FROM feedback WHERE case_id = ? "
            "ORDER BY id",
            (case_id,),
        )
        return [dict(row) for row in rows]

    def labelled_case_ids(self) -> list[str]:
        rows = self._query("SELECT DISTINCT case_id FROM feedback ORDER BY case_id")
        return [row[0] for row in rows]

    def add_message(
        self, case_id: str, role: str, content: str, actor: str, prompt_version: str | None = None
    ) -> None:
        """One chat message; an answer records the prompt version that produced it."""
        with self._transaction() as db:
            db.execute(
                "INSERT INTO messages (case_id, role, content, actor, created_at, prompt_version) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (case_id, role, content, actor, time.time(), prompt_version),
            )
            if role == "user":
                _audit(db, actor, "message.add", case_id, {"chars": len(content)})

    def messages_of(self, case_id: str) -> list[dict[str, Any]]:
        rows = self._query(
            "SELECT role, content, actor, created_at, prompt_version FROM messages "
            "WHERE case_id = ? ORDER BY id",
            (case_id,),
        )
        return [dict(row) for row in rows]

    def audit_of(self, subject: str) -> list[dict[str, Any]]:
        rows = self._query(
            "SELECT at, actor, action, subject, detail FROM audit WHERE subject = ? ORDER BY id",
            (subject,),
        )
        return [{**dict(row), "detail": json.loads(row["detail"])} for row in rows]

    # --- the analyst's pages: queue, approvals, login sessions ---

    def queue_rows(self, limit: int) -> list[QueueRow]:
        """The most recent alerts with their user and verdict (None while pending)."""
        rows = self._query(
            "SELECT a.alert_id, a.case_id, a.status, a.reason, a.created_at, a.updated_at, "
            "c.user_id, v.verdict FROM alerts a JOIN cases c ON c.case_id = a.case_id "
            "LEFT JOIN verdicts v ON v.case_id = a.case_id ORDER BY a.created_at DESC LIMIT ?",
            (limit,),
        )
        return [
            QueueRow(
                row["alert_id"],
                row["case_id"],
                row["user_id"],
                row["status"],
                row["reason"],
                row["created_at"],
                row["updated_at"],
                json.loads(row["verdict"]) if row["verdict"] is not None else None,
            )
            for row in rows
        ]

    def record_approval(
        self, case_id: str, verdict: dict[str, Any], approved: bool, note: str | None, actor: str
    ) -> None:
        """Replace the verdict that awaited approval with the resumed one; audit-logged."""
        with self._transaction() as db:
            db.execute(
                "UPDATE verdicts SET verdict = ?, created_at = ? WHERE case_id = ?",
                (json.dumps(verdict), time.time(), case_id),
            )
            detail = {"action": verdict.get("action"), "note": note}
            _audit(db, actor, "verdict.approve" if approved else "verdict.reject", case_id, detail)

    def create_ui_session(
        self, token_sha256: str, key_name: str, csrf_token: str, ttl_s: float
    ) -> None:
        now = time.time()
        with self._transaction() as db:
            db.execute("DELETE FROM ui_sessions WHERE expires_at < ?", (now,))
            db.execute(
                "INSERT INTO ui_sessions VALUES (?, ?, ?, ?, ?)",
                (token_sha256, key_name, csrf_token, now, now + ttl_s),
            )
            _audit(db, key_name, "session.login", "ui", {})

    def get_ui_session(self, token_sha256: str) -> tuple[str, str] | None:
        """(key name, CSRF token) of a live session, or None."""
        rows = self._query(
            "SELECT key_name, csrf_token FROM ui_sessions WHERE token_sha256 = ? "
            "AND expires_at >= ?",
            (token_sha256, time.time()),
        )
        return (rows[0][0], rows[0][1]) if rows else None

    def delete_ui_session(self, token_sha256: str) -> None:
        with self._transaction() as db:
            db.execute("DELETE FROM ui_sessions WHERE token_sha256 = ?", (token_sha256,))


def _audit(
    db: sqlite3.Connection, actor: str, action: str, subject: str, detail: dict[str, Any]
) -> None:
    db.execute(
        "INSERT INTO audit (at, actor, action, subject, detail) VALUES (?, ?, ?, ?, ?)",
        (time.time(), actor, action, subject, json.dumps(detail)),
    )
