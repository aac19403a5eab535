"""The report page states what the record holds: counts, slowest calls, failures, escaping."""

from __future__ import annotations

import base64
import html
import re

import numpy as np
import pytest

from acme_like.report import build_report, read_run_record, summarize
from record_files import realistic_calls, realistic_run, write_record


@pytest.fixture
def run_dir(tmp_path):
    return write_record(tmp_path / "ACME_run", realistic_calls(), realistic_run(submitted=True))


def page_text(path):
    return path.read_text(encoding="utf-8")


def card(page, label):
    match = re.search(rf'<div class="label">{label}</div><div class="value">([^<]*)</div>', page)
    assert match, f"no card {label!r}"
    return html.unescape(match.group(1))


def test_report_is_written_next_to_the_record_and_links_calls_csv(run_dir):
    path = build_report(run_dir)
    assert path == run_dir / ".acme_like" / "report.html"
    page = page_text(path)
    assert 'href="calls.csv"' in page and 'href="run.json"' in page
    assert "<script" not in page and "http://" not in page.replace("http://www.w3.org", "")
    assert not list(path.parent.glob("*.partial"))


def test_cards_show_the_counts_of_the_record(run_dir):
    page = page_text(build_report(run_dir))
    assert card(page, "Calls") == "12"
    assert card(page, "Done") == "11"
    assert card(page, "Failed") == "1"
    assert card(page, "Reused") == "0"
    assert card(page, "Wall time") == "5.0 s"
    assert card(page, "Workers") == "2"
    assert "1 of 12 calls failed" in page


def test_slowest_calls_are_the_ten_longest_with_their_arguments(run_dir):
    calls = realistic_calls()
    expected = sorted(calls, key=lambda c: (-c["seconds"], c["index"]))[:10]
    page = page_text(build_report(run_dir))
    table = page.split('id="slowest"')[1].split("</table>")[0]
    shown = re.findall(r"<tr><td>(\d+)</td><td class=num>(\d+)</td><td class=num>([\d.,]+)</td>", table)
    assert [int(index) for _, index, _ in shown] == [c["index"] for c in expected]
    assert [float(s) for _, _, s in shown] == pytest.approx([c["seconds"] for c in expected])
    for call in expected:
        assert html.escape(call["arguments"]) in table


def test_failures_are_grouped_with_one_traceback(tmp_path):
    calls = realistic_calls(20, failed=(3, 7, 11))
    calls[11].update(exc_type="MemoryError", kind="memory", message="out of memory", traceback="MemoryError\n")
    run_dir = write_record(tmp_path, calls, realistic_run(20))
    summary = summarize(read_run_record(run_dir))
    groups = {g.exc_type: g for g in summary.overall.failures}
    assert groups["ValueError"].count == 2 and groups["ValueError"].indices == (3, 7)
    assert groups["MemoryError"].kinds == ("memory",)
    page = page_text(build_report(run_dir))
    assert page.count('<details class="traceback"') == 2
    assert html.escape('raise ValueError(f"bad seed {seed}")') in page
    assert 'Failures <span class="count">3</span>' in page


def test_error_message_with_markup_is_escaped(tmp_path):
    calls = realistic_calls()
    calls[7]["message"] = "<script>alert('x')</script> & more"
    calls[7]["traceback"] = "Traceback ...\nValueError: <script>alert('x')</script>\n"
    calls[2]["arguments"] = 'name="<b>bold</b>"'
    page = page_text(build_report(write_record(tmp_path, calls, realistic_run())))
    assert "<script>" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; more" in page
    assert "<b>bold</b>" not in page


def test_figures_are_inline_png_data(run_dir):
    page = page_text(build_report(run_dir))
    sources = re.findall(r'<img alt="([^"]*)" src="([^"]*)"', page)
    assert [alt for alt, _ in sources] == ["Run time per call", "Run time against input size",
                                           "Peak memory per call", "Calls on each worker over time"]
    for _, src in sources:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"


def test_without_estimate_and_without_input_sizes(tmp_path):
    run_dir = write_record(tmp_path, realistic_calls(with_input=False), realistic_run(estimate=False))
    summary = summarize(read_run_record(run_dir))
    assert summary.forecast is None and not summary.has_input_bytes
    page = page_text(build_report(run_dir))
    assert "Against forecast" not in page
    assert "Run time against input size" not in page
    assert "Run time per call" in page and card(page, "Failed") == "1"


def test_forecast_is_compared_with_the_actual_run(run_dir):
    summary = summarize(read_run_record(run_dir))
    assert summary.forecast.wall_seconds_forecast == 4.0
    assert summary.forecast.wall_ratio == pytest.approx(5.0 / 4.0)
    assert summary.forecast.peak_bytes_actual == max(c["peak_bytes"] for c in realistic_calls())
    assert card(page_text(build_report(run_dir)), "Against forecast") == "1.25×"


def test_workers_hosts_versions_and_queue_wait(run_dir):
    summary = summarize(read_run_record(run_dir))
    assert [w.n_calls for w in summary.workers] == [6, 6]
    assert [w.n_failed for w in summary.workers] == [0, 1]
    assert [w.queue_wait_s for w in summary.workers] == pytest.approx([30.2, 40.3])
    assert summary.hosts == ("node01",)
    assert ("numpy", "2.4.6") in summary.versions
    page = page_text(build_report(run_dir))
    assert "30.2 s" in page and "40.3 s" in page


def test_reused_calls_count_but_stay_out_of_the_timing(tmp_path):
    calls = realistic_calls()
    for call in calls[:4]:
        call.update(status="reused", started_at="", ended_at="", seconds=99.0, worker="", host="")
    summary = summarize(read_run_record(write_record(tmp_path, calls, realistic_run())))
    assert summary.overall.counts.n_reused == 4
    assert summary.overall.timing.n_ran == 8
    assert summary.overall.timing.max_seconds < 99.0
    assert all(c.status != "reused" for c in summary.overall.slowest)


def test_pipeline_has_one_section_per_stage_and_the_chain(tmp_path):
    calls = realistic_calls(6, stage="load", failed=()) + realistic_calls(6, stage="fit", failed=(2,))
    stages = [{"name": "load", "upstream": []}, {"name": "fit", "upstream": ["load"]}]
    run_dir = write_record(tmp_path, calls, realistic_run(12, stages=stages))
    summary = summarize(read_run_record(run_dir))
    assert [(s.name, s.section.counts.n_ok, s.section.counts.n_failed) for s in summary.stages] == [
        ("load", 6, 0), ("fit", 5, 1)]
    page = page_text(build_report(run_dir))
    assert '<svg class="chain"' in page and 'href="#stage-fit"' in page
    assert 'id="stage-load"' in page and 'id="stage-fit"' in page
    assert 'id="stage-fit-failures"' in page and 'id="stage-load-failures"' not in page


def test_report_renders_tables_without_matplotlib(run_dir, monkeypatch):
    from acme_like.report import plots

    monkeypatch.setattr(plots.importlib.util, "find_spec", lambda name: None)
    page = page_text(build_report(run_dir))
    assert "<img" not in page
    assert html.escape('pip install "acme-like[report]"') in page
    assert card(page, "Failed") == "1" and 'id="slowest"' in page


def test_out_elsewhere_links_the_record_relatively(run_dir, tmp_path):
    path = build_report(run_dir, out=tmp_path / "pages" / "r.html")
    assert 'href="../ACME_run/.acme_like/calls.csv"' in page_text(path)


def test_columns_are_read_only_and_match_the_rows(run_dir):
    record = read_run_record(run_dir)
    assert len(record.calls) == 12 and isinstance(record.calls, tuple)
    assert record.calls[7].traceback.startswith("Traceback") and "\n" in record.calls[7].traceback
    assert record.calls[0].peak_bytes == 50_000_000 and isinstance(record.calls[0].peak_bytes, int)
    with pytest.raises(ValueError):
        record.columns.seconds[0] = 1.0
    np.testing.assert_array_equal(record.columns.seconds, [c.seconds for c in record.calls])
