"""The report as one self-contained HTML page: inline CSS, figures as base64 data URIs, no script.

Text only: takes the summary and the PNGs and returns a string; it writes no file and imports
no plotting library. Every value from the record passes through :func:`html.escape`, since
arguments, messages and tracebacks are the user's text.
"""

from __future__ import annotations

import base64
import html
import math
import time
from collections.abc import Sequence

from .plots import Plot
from .summary import FailureGroup, Section, StageSummary, Summary
from .units import format_bytes, format_seconds, format_time

INSTALL_HINT = 'pip install "acme-like[report]"'
#: Arguments longer than this are cut in tables; the full text is in the cell's tooltip.
MAX_ARGUMENT_CHARS = 160


def render_html(summary: Summary, plots: Sequence[Plot], *, run_dir: str, calls_href: str, run_href: str,
                plots_missing: bool = False) -> str:
    """The report page for ``summary`` with ``plots``; links point at ``calls_href`` and ``run_href``."""
    e = _escape
    overall = summary.overall
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{e(summary.func)} · run report</title>",
        f"<style>{_CSS}</style></head><body><main>",
        "<header>",
        f'<p class="eyebrow">acme_like run report</p><h1><code>{e(summary.func)}</code></h1>',
        f'<p class="meta">{e(format_time(summary.started_at))} → {e(format_time(summary.ended_at))}'
        f" · <span title=\"run directory\">{e(run_dir)}</span></p>",
    ]
    if summary.command:
        parts.append(f'<p class="meta">command <code>{e(" ".join(summary.command))}</code></p>')
    parts += ["</header>", _banner(summary), _cards(summary)]
    if plots_missing:
        parts.append(f'<p class="notice">The figures need matplotlib, which is not installed here. '
                     f"Install it with <code>{e(INSTALL_HINT)}</code> and build the report again; "
                     f"the tables below are complete without it.</p>")
    if summary.stages:
        parts += ['<section><h2 id="stages">Pipeline</h2>', _chain_svg(summary.stages), "</section>"]
    if plots:
        parts.append('<section><h2 id="figures">Figures</h2><div class="figures">')
        parts += [_figure(p) for p in plots]
        parts.append("</div></section>")
    parts += [_slowest(overall, "slowest", "Slowest calls", bool(summary.stages)),
              _failures(overall.failures, "failures")]
    for stage in summary.stages:
        parts.append(_stage(stage))
    parts += [_workers(summary), _versions(summary), _files(calls_href, run_href)]
    parts.append(f'<footer>Built {e(format_time(time.time()))} from the run record; nothing here loads '
                 f"anything from the network.</footer></main></body></html>")
    return "\n".join(p for p in parts if p)


def _banner(summary: Summary) -> str:
    counts = summary.overall.counts
    if counts.n_failed:
        text = (f"{counts.n_failed:,} of {counts.total:,} calls failed"
                f" in {len(summary.overall.failures)} way{'s' if len(summary.overall.failures) != 1 else ''}; "
                f'the good results are on disk. <a href="#failures">See the failures</a>.')
        kind = "bad"
    else:
        text, kind = f"All {counts.total:,} calls succeeded.", "good"
    if summary.n_missing:
        text += (f" {summary.n_missing:,} of the {summary.n_calls:,} planned calls have no record: "
                 f"the run stopped before they finished.")
        kind = "bad" if counts.n_failed else "warn"
    return f'<p class="banner {kind}">{text}</p>'


def _cards(summary: Summary) -> str:
    c, t, m = summary.overall.counts, summary.overall.timing, summary.memory
    cards = [
        ("Calls", f"{summary.n_calls:,}", f"{summary.n_rows:,} recorded" if summary.n_rows != summary.n_calls else "planned", ""),
        ("Done", f"{c.n_ok:,}", _percent(c.n_ok, c.total), "good" if c.n_ok else ""),
        ("Failed", f"{c.n_failed:,}", _percent(c.n_failed, c.total), "bad" if c.n_failed else ""),
        ("Reused", f"{c.n_reused:,}", "from an earlier run" if c.n_reused else "none", ""),
        ("Wall time", format_seconds(summary.wall_seconds), f"{format_seconds(t.total_seconds)} of calls in total", ""),
        ("Per call", format_seconds(t.median_seconds), f"median; 95 % below {format_seconds(t.p95_seconds)}, "
                                                        f"max {format_seconds(t.max_seconds)}", ""),
        ("Peak memory", format_bytes(m.max_bytes),
         (f"of {format_bytes(m.limit_bytes)} per worker" if m.limit_bytes else "no limit per worker")
         + (f"; {m.n_over_limit:,} calls above" if m.n_over_limit else ""),
         "bad" if m.n_over_limit else ""),
        ("Workers", f"{len(summary.workers):,}", f"on {len(summary.hosts):,} host{'s' if len(summary.hosts) != 1 else ''}", ""),
    ]
    f = summary.forecast
    if f is not None:
        ratio = f.wall_ratio
        tone = "warn" if math.isfinite(ratio) and (ratio > 1.5 or ratio < 0.5) else ""
        detail = f"forecast {format_seconds(f.wall_seconds_forecast)}"
        if f.peak_ratio is not None:
            detail += f"; peak {f.peak_ratio:.2g}× the forecast {format_bytes(f.peak_bytes_forecast)}"
        cards.append(("Against forecast", f"{ratio:.2f}×" if math.isfinite(ratio) else "–", detail, tone))
    html_cards = "".join(
        f'<div class="card {tone}"><div class="label">{_escape(label)}</div><div class="value">{_escape(value)}</div>'
        f'<div class="detail">{_escape(detail)}</div></div>' for label, value, detail, tone in cards)
    return f'<section class="cards">{html_cards}</section>'


def _figure(plot: Plot) -> str:
    data = base64.b64encode(plot.png).decode("ascii")
    caption = f'<figcaption>{_escape(plot.caption)}</figcaption>' if plot.caption else ""
    return (f'<figure id="{plot.name}" class="{"wide" if plot.wide else ""}"><h3>{_escape(plot.title)}</h3>'
            f'<img alt="{_escape(plot.title)}" src="data:image/png;base64,{data}">{caption}</figure>')


def _slowest(section: Section, anchor: str, title: str, with_stage: bool, level: str = "h2") -> str:
    if not section.slowest:
        return ""
    head = "<th>#</th><th>call</th>" + ("<th>stage</th>" if with_stage else "") + \
           "<th class=num>seconds</th><th class=num>peak</th><th>worker</th><th>status</th><th>arguments</th>"
    rows = []
    for rank, call in enumerate(section.slowest, 1):
        rows.append(
            f"<tr><td>{rank}</td><td class=num>{call.index}</td>"
            + (f"<td>{_escape(call.stage)}</td>" if with_stage else "")
            + f"<td class=num>{call.seconds:,.3f}</td><td class=num>{_escape(format_bytes(call.peak_bytes))}</td>"
            f"<td>{_escape(call.worker)}</td><td><span class=\"pill {call.status}\">{call.status}</span></td>"
            f"<td>{_argument_cell(call.arguments)}</td></tr>")
    return (f'<section><{level} id="{anchor}">{_escape(title)}</{level}><table><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table></section>')


def _failures(groups: Sequence[FailureGroup], anchor: str, level: str = "h2") -> str:
    if not groups:
        return ""
    total = sum(g.count for g in groups)
    parts = [f'<section><{level} id="{anchor}">Failures <span class="count">{total:,}</span></{level}>',
             "<table><thead><tr><th>exception</th><th class=num>calls</th><th>kind</th><th>message of the first</th>"
             "<th>calls (first of them)</th></tr></thead><tbody>"]
    for g in groups:
        more = f" … and {g.count - len(g.indices):,} more" if g.count > len(g.indices) else ""
        parts.append(f"<tr><td><code>{_escape(g.exc_type)}</code></td><td class=num>{g.count:,}</td>"
                     f"<td>{_escape(', '.join(g.kinds))}</td><td>{_escape(g.example.message)}</td>"
                     f"<td>{_escape(', '.join(map(str, g.indices)) + more)}</td></tr>")
    parts.append("</tbody></table>")
    for g in groups:
        call = g.example
        where = f"call {call.index}" + (f" of stage {call.stage}" if call.stage else "") + \
                (f" on {call.worker}" if call.worker else "") + (f" ({call.host})" if call.host else "")
        parts.append(
            f'<details class="traceback" open><summary><code>{_escape(g.exc_type)}</code> in {_escape(where)}'
            + (f" — arguments <code>{_escape(_cut(call.arguments))}</code>" if call.arguments else "")
            + f"</summary><pre>{_escape(call.traceback or call.message or '(no traceback recorded)')}</pre></details>")
    parts.append("</section>")
    return "".join(parts)


def _stage(stage: StageSummary) -> str:
    s, anchor = stage.section, "stage-" + _slug(stage.name)
    c, t = s.counts, s.timing
    upstream = ", ".join(stage.upstream) if stage.upstream else "the inputs"
    facts = (f"{c.total:,} calls: {c.n_ok:,} done, {c.n_failed:,} failed, {c.n_reused:,} reused; "
             f"median {format_seconds(t.median_seconds)}, 95 % below {format_seconds(t.p95_seconds)}, "
             f"{format_seconds(t.total_seconds)} in total. Reads from {upstream}.")
    return (f'<section class="stage"><h2 id="{anchor}">Stage <code>{_escape(stage.name)}</code></h2>'
            f"<p>{_escape(facts)}</p>"
            + _slowest(s, anchor + "-slowest", "Slowest calls of this stage", False, "h3")
            + _failures(s.failures, anchor + "-failures", "h3") + "</section>")


def _workers(summary: Summary) -> str:
    if not summary.workers:
        return ""
    wall = summary.wall_seconds
    rows = []
    for w in summary.workers:
        busy = _percent(w.busy_seconds, wall) if wall > 0 else "–"
        first = format_seconds(w.first_call_at - summary.started_at) if w.first_call_at is not None else "–"
        rows.append(f"<tr><td>{_escape(w.name)}</td><td>{_escape(w.host)}</td>"
                    f"<td class=num>{_escape(format_bytes(w.memory_limit_bytes))}</td><td class=num>{w.n_calls:,}</td>"
                    f"<td class=num>{w.n_failed:,}</td><td class=num>{_escape(format_seconds(w.busy_seconds))}</td>"
                    f"<td class=num>{busy}</td><td class=num>{_escape(format_seconds(w.queue_wait_s))}</td>"
                    f"<td class=num>{_escape(first)}</td></tr>")
    return ('<section><h2 id="workers">Workers</h2><table><thead><tr><th>worker</th><th>host</th>'
            "<th class=num>memory limit</th><th class=num>calls</th><th class=num>failed</th>"
            "<th class=num>busy</th><th class=num>busy share</th><th class=num>queue wait</th>"
            f"<th class=num>first call after start</th></tr></thead><tbody>{''.join(rows)}</tbody></table></section>")


def _versions(summary: Summary) -> str:
    if not summary.versions:
        return ""
    cells = "".join(f"<tr><td>{_escape(k)}</td><td><code>{_escape(v)}</code></td></tr>" for k, v in summary.versions)
    return f'<section class="half"><h2 id="versions">Versions</h2><table><tbody>{cells}</tbody></table></section>'


def _files(calls_href: str, run_href: str) -> str:
    return (f'<section class="half"><h2 id="files">Record</h2><p>Every call, one row each: '
            f'<a href="{_escape(calls_href)}">calls.csv</a>. The run: <a href="{_escape(run_href)}">run.json</a>. '
            "Both are described in the acme_like documentation, <em>Run report</em>.</p></section>")


def _chain_svg(stages: Sequence[StageSummary]) -> str:
    """Stages in columns by depth (longest path from a stage without upstream), arrows from upstream."""
    names = [s.name for s in stages]
    upstream = {s.name: [u for u in s.upstream if u in names] for s in stages}
    depth: dict[str, int] = {}

    def level(name: str, seen: frozenset = frozenset()) -> int:
        if name not in depth:
            parents = [u for u in upstream[name] if u not in seen]
            depth[name] = 1 + max((level(u, seen | {name}) for u in parents), default=-1)
        return depth[name]

    for name in names:
        level(name)
    columns: dict[int, list[str]] = {}
    for name in names:
        columns.setdefault(depth[name], []).append(name)
    box_w, box_h, gap_x, gap_y = 170, 46, 60, 16
    pos = {name: (12 + d * (box_w + gap_x), 12 + i * (box_h + gap_y))
           for d, col in columns.items() for i, name in enumerate(col)}
    width = 24 + (max(columns) + 1) * box_w + max(columns) * gap_x
    height = 24 + max(len(c) for c in columns.values()) * (box_h + gap_y) - gap_y
    items = ['<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
             'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#7b8794"/></marker></defs>']
    for name in names:
        x, y = pos[name]
        for u in upstream[name]:
            ux, uy = pos[u]
            items.append(f'<line x1="{ux + box_w}" y1="{uy + box_h / 2}" x2="{x - 2}" y2="{y + box_h / 2}" '
                         'stroke="#7b8794" stroke-width="1.5" marker-end="url(#arrow)"/>')
    by_name = {s.name: s for s in stages}
    for name in names:
        x, y = pos[name]
        c = by_name[name].section.counts
        tone = "#d1342f" if c.n_failed else "#2f6db5"
        status = f"{c.n_ok:,} ok · {c.n_failed:,} failed" + (f" · {c.n_reused:,} reused" if c.n_reused else "")
        items.append(
            f'<a href="#stage-{_slug(name)}"><rect x="{x}" y="{y}" width="{box_w}" height="{box_h}" rx="8" '
            f'fill="#fff" stroke="{tone}" stroke-width="2"/><text x="{x + box_w / 2}" y="{y + 19}" '
            f'text-anchor="middle" class="stage-name">{_escape(_cut(name, 22))}</text>'
            f'<text x="{x + box_w / 2}" y="{y + 36}" text-anchor="middle" class="stage-counts">{_escape(status)}</text></a>')
    return (f'<svg class="chain" role="img" aria-label="pipeline stages" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}">{"".join(items)}</svg>')


def _argument_cell(arguments: str) -> str:
    if len(arguments) <= MAX_ARGUMENT_CHARS:
        return f"<code>{_escape(arguments)}</code>"
    return f'<code title="{_escape(arguments)}">{_escape(_cut(arguments))}</code>'


def _cut(text: str, n: int = MAX_ARGUMENT_CHARS) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _percent(part: float, whole: float) -> str:
    return f"{100 * part / whole:.1f} %" if whole else "–"


def _slug(name: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in name).lower() or "stage"


def _escape(text: object) -> str:
    return html.escape(str(text), quote=True)


_CSS = """
:root{--ink:#1f2933;--muted:#616e7c;--line:#e4e7eb;--bg:#f5f7fa;--blue:#2f6db5;--red:#d1342f;--green:#2f8a4f;--amber:#b7791f}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);font:14px/1.5 -apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,"Noto Sans","Liberation Sans",sans-serif}
main{max-width:1320px;margin:0 auto;padding:28px 32px 48px}
header h1{margin:0 0 4px;font-size:28px}
header h1 code{font-size:inherit}
.eyebrow{margin:0;color:var(--muted);text-transform:uppercase;letter-spacing:.08em;font-size:12px;font-weight:600}
.meta{margin:2px 0;color:var(--muted);word-break:break-all}
code,pre{font-family:ui-monospace,"SFMono-Regular",Menlo,Consolas,"DejaVu Sans Mono","Liberation Mono",monospace;font-size:12.5px}
.banner{margin:18px 0;padding:12px 16px;border-radius:8px;font-weight:600;border-left:5px solid}
.banner.good{background:#e3f4e8;border-color:var(--green);color:#1e5631}
.banner.bad{background:#fde8e8;border-color:var(--red);color:#8a1c1c}
.banner.warn{background:#fdf3dc;border-color:var(--amber);color:#7a4d0b}
.banner a{color:inherit}
.notice{background:#fdf3dc;border:1px solid #f0d48a;border-radius:8px;padding:10px 14px}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(190px,1fr));gap:12px;margin:12px 0 8px}
.card{background:#fff;border:1px solid var(--line);border-top:4px solid #9aa5b1;border-radius:10px;padding:12px 14px;box-shadow:0 1px 2px rgba(31,41,51,.05)}
.card.good{border-top-color:var(--green)}.card.bad{border-top-color:var(--red)}.card.warn{border-top-color:var(--amber)}
.card .label{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.06em;font-weight:600}
.card .value{font-size:26px;font-weight:700;line-height:1.25;margin:2px 0}
.card.bad .value{color:var(--red)}
.card .detail{color:var(--muted);font-size:12px}
section{margin-top:28px}
h2{font-size:19px;margin:0 0 10px;padding-bottom:6px;border-bottom:1px solid var(--line)}
h3{font-size:15px;margin:16px 0 8px}
.count{display:inline-block;background:var(--red);color:#fff;border-radius:10px;padding:0 8px;font-size:13px;vertical-align:middle}
.figures{display:grid;grid-template-columns:repeat(auto-fit,minmax(520px,1fr));gap:16px}
figure{margin:0;background:#fff;border:1px solid var(--line);border-radius:10px;padding:12px 14px}
figure.wide{grid-column:1/-1}
figure h3{margin:0 0 6px}
figure img{width:100%;height:auto;display:block}
figcaption{color:var(--muted);font-size:12px;margin-top:4px}
table{width:100%;border-collapse:collapse;background:#fff;border:1px solid var(--line);border-radius:10px;overflow:hidden}
th,td{text-align:left;padding:6px 10px;border-bottom:1px solid var(--line);vertical-align:top}
th{background:#eef2f6;font-size:12px;text-transform:uppercase;letter-spacing:.04em;color:var(--muted)}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
tbody tr:nth-child(even){background:#fafbfc}
tbody tr:last-child td{border-bottom:none}
td code{word-break:break-all}
.pill{display:inline-block;border-radius:9px;padding:0 8px;font-size:12px;font-weight:600;background:#e4e7eb}
.pill.ok{background:#e3f4e8;color:#1e5631}.pill.failed{background:#fde8e8;color:#8a1c1c}.pill.reused{background:#e8eef8;color:#24528a}
details.traceback{margin-top:10px;background:#fff;border:1px solid var(--line);border-left:4px solid var(--red);border-radius:8px}
details.traceback summary{cursor:pointer;padding:8px 12px;font-weight:600}
details.traceback pre{margin:0;padding:10px 14px;background:#1f2933;color:#f5f7fa;overflow-x:auto;border-radius:0 0 8px 0;white-space:pre}
.chain{background:#fff;border:1px solid var(--line);border-radius:10px;max-width:100%;height:auto}
.chain .stage-name{font:600 13px sans-serif;fill:#1f2933}.chain .stage-counts{font:11px sans-serif;fill:#616e7c}
.stage{background:#fff;border:1px solid var(--line);border-radius:10px;padding:14px 18px}
.stage table{border-radius:6px}
.half{display:inline-block;vertical-align:top;width:calc(50% - 12px);margin-right:12px}
@media (max-width:900px){.half{width:100%;margin-right:0}.figures{grid-template-columns:1fr}}
footer{margin-top:36px;color:var(--muted);font-size:12px}
"""
