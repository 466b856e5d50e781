"""The run report: markdown tables and a self-contained HTML page with four embedded plots."""

from __future__ import annotations

import base64
import re
from pathlib import Path

from eval_records import make_record

from evals.metrics import summarize_run
from evals.report import write_report

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_report_is_self_contained_with_four_plots(tmp_path: Path) -> None:
    records = [
        make_record("c1", "card_testing", score=0.9),
        make_record("c2", "account_takeover", score=0.8, verdict_type="payment_fraud"),
        make_record("c3", "none", score=0.2, flagged=False),
        make_record("c4", "none", score=0.6, action="block_account", latency_s=3.0),
    ]
    run_info = {"name": "unit", "model": "scripted", "prompt_version": "verdict_v1", "seed": 0}
    summary = summarize_run(records, wall_s=5.0, rounds=20)

    markdown_path, html_path = write_report(tmp_path, run_info, summary, records)

    page = html_path.read_text()
    links = re.findall(r"""(?:src|href)\s*=\s*['"]([^'"]*)""", page)
    assert links and all(link.startswith("data:image/png;base64,") for link in links)
    assert "<script" not in page and "@import" not in page and "url(" not in page
    images = [base64.b64decode(link.split(",", 1)[1]) for link in links]
    assert len(images) == 4 and all(image.startswith(PNG_MAGIC) for image in images)
    for title in ("precision-recall", "confusion matrix", "Recall per fraud type", "latency"):
        assert title in page
    markdown = markdown_path.read_text()
    assert "## Headline metrics" in markdown
    assert "| agent.type_accuracy | 0.667 [" in markdown
    assert "card_testing" in markdown
