"""The self-assessment report as DOCX (python-docx) and PDF (HTML printed by headless Chromium).

LibreOffice is not assumed; Chromium prints the same content from HTML with the system's CJK fonts.
When no Chromium is found the PDF is skipped and the checklist says so (the DOCX is the document of
record; the PDF is a convenience). Charts of rates per risk are PNGs drawn with Pillow (the ``label``
extra) and embedded in both.
"""

from __future__ import annotations

import base64
import html
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hegui.errors import ConfigError
from hegui.filing.clauses import CHAPTERS
from hegui.filing.evidence import VERDICT_ZH, ClauseVerdict, Conclusion

FONT_CANDIDATES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
)
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


@dataclass(frozen=True, slots=True)
class ReportContent:
    title: str
    provider: str
    service: str
    generated: str
    conclusion: Conclusion
    verdicts: Sequence[ClauseVerdict]
    #: summary.json kinds of the evaluation run (may be empty).
    rates: Sequence[Mapping[str, Any]]
    charts: Sequence[Path]
    signatures: Sequence[str]


def _font(size: int) -> Any:
    from PIL import ImageFont

    for path in FONT_CANDIDATES:
        if Path(path).exists():
            return ImageFont.truetype(path, size)
    return ImageFont.load_default()


def draw_chart(kind: Mapping[str, Any], path: Path) -> Path | None:
    """A horizontal bar chart of one kind's rate per group, with its threshold as a line; None
    without Pillow."""
    try:
        from PIL import Image, ImageDraw
    except ImportError:
        return None
    groups = kind["per_group"][:40]
    row, left, width = 26, 300, 460
    img = Image.new("RGB", (left + width + 90, 60 + row * max(1, len(groups))), "white")
    d = ImageDraw.Draw(img)
    font, small = _font(16), _font(13)
    shown = (
        ""
        if len(kind["per_group"]) <= len(groups)
        else f"; first {len(groups)} of {len(kind['per_group'])} groups"
    )
    title = f"{kind['kind']}: {kind['metric']} per group (threshold {kind['threshold']:.0%}{shown})"
    d.text((10, 10), title, fill="black", font=font)
    for i, g in enumerate(groups):
        y = 45 + i * row
        d.text((10, y), str(g["group"])[:18], fill="black", font=small)
        d.rectangle((left, y + 2, left + int(width * g["rate"]), y + row - 8), fill=(70, 110, 180))
        d.text(
            (left + int(width * g["rate"]) + 5, y), f"{g['rate']:.0%} n={g['n']}", fill="black", font=small
        )
    x = left + int(width * kind["threshold"])
    d.line((x, 40, x, img.height - 5), fill=(200, 40, 40), width=2)
    img.save(path)
    return path


def write_docx(content: ReportContent, path: Path) -> None:
    try:
        import docx
        from docx.shared import Cm, Pt
    except ImportError:
        raise ConfigError("writing the report needs python-docx: pip install 'hegui[label]'") from None
    doc = docx.Document()
    style = doc.styles["Normal"]
    style.font.size = Pt(10.5)
    doc.add_heading(content.title, level=0)
    doc.add_paragraph(f"提供者：{content.provider}\n服务：{content.service}\n生成时间：{content.generated}")
    doc.add_heading("总体结论", level=1)
    doc.add_paragraph(content.conclusion.text)
    for chapter, name in CHAPTERS.items():
        rows = [v for v in content.verdicts if v.clause.chapter == chapter]
        if not rows:
            continue
        doc.add_heading(f"第 {chapter} 章 {name}", level=1)
        table = doc.add_table(rows=1, cols=5)
        table.style = "Table Grid"
        for cell, text in zip(table.rows[0].cells, ("条款", "要求", "结论", "理由", "证据"), strict=True):
            cell.text = text
        for v in rows:
            cells = table.add_row().cells
            cells[0].text = f"{v.clause.id} {v.clause.title}"
            cells[1].text = v.clause.requirement + (
                f"（{', '.join(v.clause.refs)}）" if v.clause.refs else ""
            )
            cells[2].text = VERDICT_ZH[v.verdict]
            cells[3].text = v.reason
            cells[4].text = "；".join(v.evidence) or "—"
    doc.add_heading("测试结果（GB/T 45654 第 9 章）", level=1)
    if not content.rates:
        doc.add_paragraph("未提供评测结果。")
    for k in content.rates:
        o = k["overall"]
        doc.add_paragraph(
            f"{k['kind']}（{k['requirement']}）：{k['metric']} {o['rate']:.1%}，95% 置信区间 "
            f"{o['ci95'][0]:.1%}–{o['ci95'][1]:.1%}，题数 {o['n']}，阈值 {k['threshold']:.0%}，"
            f"{'达标' if k['met'] else '未达标'}"
        )
    for chart in content.charts:
        doc.add_picture(str(chart), width=Cm(16))
    doc.add_heading("签字", level=1)
    for who in content.signatures:
        doc.add_paragraph(f"{who}：________________    日期：__________")
    doc.save(str(path))


def render_html(content: ReportContent) -> str:
    e = html.escape
    parts = [
        "<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'><style>",
        "body{font-family:'Noto Sans CJK SC','Noto Serif CJK SC',sans-serif;font-size:10.5pt;margin:18mm}",
        "table{border-collapse:collapse;width:100%;margin:6pt 0}td,th{border:1px solid #444;padding:3pt;vertical-align:top}",
        "th{background:#eee}.bad{color:#b00}img{max-width:100%}h1{font-size:20pt}h2{font-size:14pt}",
        "table{table-layout:fixed}col.id{width:14%}col.req{width:32%}col.v{width:9%}col.why{width:27%}col.ev{width:18%}",
        "td{word-break:break-word}td.v{white-space:nowrap}",
        "</style></head><body>",
        f"<h1>{e(content.title)}</h1>",
        f"<p>提供者：{e(content.provider)}<br>服务：{e(content.service)}<br>生成时间：{e(content.generated)}</p>",
        f"<h2>总体结论</h2><p class='{'ok' if content.conclusion.compliant else 'bad'}'>{e(content.conclusion.text)}</p>",
    ]
    for chapter, name in CHAPTERS.items():
        rows = [v for v in content.verdicts if v.clause.chapter == chapter]
        if not rows:
            continue
        parts.append(
            f"<h2>第 {chapter} 章 {e(name)}</h2><table><colgroup><col class='id'><col class='req'><col class='v'><col class='why'><col class='ev'></colgroup><tr><th>条款</th><th>要求</th><th>结论</th><th>理由</th><th>证据</th></tr>"
        )
        for v in rows:
            refs = f"（{', '.join(v.clause.refs)}）" if v.clause.refs else ""
            cls = " class='v bad'" if v.verdict == "non-compliant" else " class='v'"
            parts.append(
                f"<tr><td>{e(v.clause.id)} {e(v.clause.title)}</td><td>{e(v.clause.requirement + refs)}</td>"
                f"<td{cls}>{VERDICT_ZH[v.verdict]}</td><td>{e(v.reason)}</td><td>{e('；'.join(v.evidence) or '—')}</td></tr>"
            )
        parts.append("</table>")
    parts.append("<h2>测试结果（GB/T 45654 第 9 章）</h2>")
    for k in content.rates:
        o = k["overall"]
        parts.append(
            f"<p>{e(k['kind'])}（{e(k['requirement'])}）：{e(k['metric'])} {o['rate']:.1%}，95% 置信区间 "
            f"{o['ci95'][0]:.1%}–{o['ci95'][1]:.1%}，题数 {o['n']}，阈值 {k['threshold']:.0%}，{'达标' if k['met'] else '未达标'}</p>"
        )
    for chart in content.charts:
        data = base64.b64encode(chart.read_bytes()).decode()
        parts.append(f"<p><img src='data:image/png;base64,{data}'></p>")
    parts.append(
        "<h2>签字</h2>"
        + "".join(f"<p>{e(w)}：________________ 日期：__________</p>" for w in content.signatures)
    )
    parts.append("</body></html>")
    return "".join(parts)


def find_chromium() -> str | None:
    return next((p for p in (shutil.which(n) for n in CHROMIUM_NAMES) if p), None)


def write_pdf(html_text: str, path: Path, *, timeout: float = 120.0) -> bool:
    """Print the HTML to PDF with headless Chromium; False when no Chromium is installed. A Chromium
    that runs and fails is an error (the package must not silently lack its PDF)."""
    chromium = find_chromium()
    if chromium is None:
        return False
    with tempfile.TemporaryDirectory(prefix="hegui-pdf-") as tmp:
        src = Path(tmp) / "report.html"
        src.write_text(html_text, encoding="utf-8")
        cmd = [
            chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
            f"--user-data-dir={tmp}/profile", f"--print-to-pdf={path.resolve()}", src.as_uri(),
        ]  # fmt: skip
        try:
            done = subprocess.run(cmd, capture_output=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired as exc:
            raise ConfigError(f"Chromium did not print the PDF within {timeout:.0f}s") from exc
    if done.returncode != 0 or not path.exists() or path.stat().st_size == 0:
        raise ConfigError(
            f"Chromium failed to print the PDF (exit {done.returncode}): {done.stderr.decode(errors='replace')[-300:]}"
        )
    return True
