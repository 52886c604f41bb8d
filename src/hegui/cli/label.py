"""`hegui label add|read|verify`: label files, read their labels, verify them requirement by requirement.

Thin: the work is in `hegui.label`. `add` never overwrites its input unless ``-o`` names it; `verify`
exits 1 when any requirement fails, 2 on bad input. There is no command that removes a label (LBL-18).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer

from hegui.cli import handled
from hegui.cli.common import progress
from hegui.errors import HeguiError, RequestError
from hegui.label.config import LabelPolicy
from hegui.policy import load_policy

app = typer.Typer(help="AIGC labels (GB 45438-2025, C2PA): add, read, verify.", no_args_is_help=True)

_POLICY = typer.Option(None, "--policy", envvar="HEGUI_POLICY_FILE", help="Policy file (default: bundled).")


def _labels(policy_file: Path | None) -> LabelPolicy:
    return load_policy(policy_file).labels


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise RequestError(f"{path}: cannot read: {exc.strerror or exc}") from None


@contextmanager
def _about(path: Path) -> Iterator[None]:
    """Errors while working on ``path`` name it first (``error: x.png: not a readable PNG image``)."""
    try:
        yield
    except HeguiError as exc:
        if not exc.message.startswith(f"{path}: "):
            exc.message = f"{path}: {exc.message}"
        raise


def _producer_code(given: str | None, labels: LabelPolicy) -> str:
    """One rule with the gateway: --producer must be a well-formed code; none given and none configured
    means hegui's demo code, with a warning on stderr."""
    from hegui.label.producer import code_problem, effective_producer, producer_warning

    if given is not None:
        problem = code_problem(given)
        if problem is not None:
            raise RequestError(f"--producer {given!r} is not a provider code: {problem}")
        return given
    warning = producer_warning(labels.producer)
    if warning:
        typer.echo(f"warning: {warning}", err=True)
    return effective_producer(labels.producer)


def _default_out(path: Path) -> Path:
    return path.with_name(f"{path.stem}.aigc{path.suffix}")


@app.command("add")
@handled
def add(
    file: Path = typer.Argument(..., help="The file to label."),
    out: Path | None = typer.Option(None, "-o", "--out", help="Where to write (default: NAME.aigc.EXT)."),
    producer: str | None = typer.Option(None, "--producer", help="Provider code (default: labels.producer)."),
    produce_id: str | None = typer.Option(None, "--produce-id", help="ProduceID (default: a new random id)."),
    explicit: bool = typer.Option(
        True, "--explicit/--no-explicit", help="Add the visible/audible/text label."
    ),
    propagator: str | None = typer.Option(
        None, "--propagate", help="Propagation mode: your platform code; keeps or sets Label per LBL 6."
    ),
    declared: bool = typer.Option(False, "--declared", help="Propagation: the user declared the content AI."),
    detected: bool = typer.Option(False, "--detected", help="Propagation: AI traces were detected."),
    policy: Path | None = _POLICY,
) -> None:
    """Label FILE (explicit + implicit + C2PA when configured) and read the result back."""
    from hegui.label import files, integrity
    from hegui.label.implicit import AigcLabel
    from hegui.label.propagate import propagate

    labels = _labels(policy)
    code = None if propagator else _producer_code(producer, labels)
    data = _read(file)
    the_id = produce_id or f"hegui-{uuid.uuid4().hex}"
    with _about(file):
        kind = files.kind_of(file.name, data)
        if code is None:
            found = files.read_labels(data, kind) if kind != "txt" else []
            result = propagate(found, str(propagator), the_id, declared=declared, detected=detected)
            label, notice = result.label, result.notice
        else:
            label, notice = AigcLabel.first_write(code, the_id), ""
    if labels.sign_reserved_code:
        key_text = _read(Path(labels.sm2_key_file)).decode("ascii", "replace")
        label = integrity.sign(label, integrity.Sm2Key.from_private(key_text))
    with _about(file):
        labelled = files.label_bytes(data, file.name, label, explicit=explicit, policy=labels)
    target = out or _default_out(file)
    target.write_bytes(labelled)
    typer.echo(f"{target}: {label.to_json()}")
    if notice:
        typer.echo(f"notice to show: {notice}")


@app.command("read")
@handled
def read(file: Path = typer.Argument(..., help="The file whose AIGC labels to print.")) -> None:
    """Print every AIGC label FILE carries, one JSON object per line."""
    from hegui.label import files

    data = _read(file)
    with _about(file):
        found = files.read_labels(data, files.kind_of(file.name, data))
    for parsed in found:
        typer.echo(
            json.dumps(
                {
                    "carrier": parsed.carrier,
                    "label": parsed.values,
                    "issues": [i.__dict__ for i in parsed.issues],
                },
                ensure_ascii=False,
            )
        )
    if not found:
        typer.echo(f"{file}: no AIGC label", err=True)
        raise typer.Exit(1)


def _targets(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.is_file() and _supported(p.name))
    if not path.exists():
        raise RequestError(f"{path}: no such file or directory")
    return [path]


def _supported(name: str) -> bool:
    from hegui.errors import UnsupportedMediaType
    from hegui.label.files import kind_of

    try:
        kind_of(name)
    except UnsupportedMediaType:
        return False
    return True


@app.command("verify")
@handled
def verify(
    path: Path = typer.Argument(..., help="A file, or a directory to verify every supported file in."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object per file."),
    explicit: bool = typer.Option(True, "--explicit/--no-explicit", help="Require the explicit label too."),
    ocr: bool = typer.Option(
        True, "--ocr/--no-ocr", help="Read images without hegui's plate for a label of any design (OCR)."
    ),
    ocr_engine: str | None = typer.Option(
        None,
        "--ocr-engine",
        help="The OCR engine: rapidocr or tesseract (default: the policy's [media] ocr_engine).",
    ),
    policy: Path | None = _POLICY,
) -> None:
    """Check labels requirement by requirement (LBL-01 …); exit 1 when any fails."""
    loaded = load_policy(policy)
    labels, engine = loaded.labels, ocr_engine or loaded.media.ocr_engine
    if engine not in ("rapidocr", "tesseract"):
        raise RequestError(f"--ocr-engine must be rapidocr or tesseract, not {engine!r}")
    failed = False
    targets = list(_targets(path))
    with progress("verifying labels", len(targets)) as advance:
        for target in targets:
            failed = _verify_one(target, labels, explicit, as_json, ocr, engine) or failed
            advance(1)
    if failed:
        raise typer.Exit(1)


def _verify_one(
    target: Path,
    labels: LabelPolicy,
    explicit: bool,
    as_json: bool,
    ocr: bool = True,
    ocr_engine: str = "rapidocr",
) -> bool:
    """Print one file's results; True when a requirement failed."""
    from hegui.label.verify import verify_bytes

    data = _read(target)
    with _about(target):
        report = verify_bytes(data, target.name, labels, explicit=explicit, ocr=ocr, ocr_engine=ocr_engine)
    report = type(report)(str(target), report.kind, report.results)
    if as_json:
        typer.echo(json.dumps(report.as_dict(), ensure_ascii=False))
        return not report.passed
    warned = " ".join(r.requirement for r in report.warnings())
    outcome = "PASS" + (f" with warnings: {warned}" if warned else "")
    typer.echo(
        f"{target} ({report.kind}): {outcome if report.passed else 'FAIL ' + ' '.join(report.failed())}"
    )
    for r in report.results:
        status = "FAIL" if not r.passed else ("warn" if r.warning else "pass")
        typer.echo(f"  {r.requirement:7} {status}  {r.reason}")
    return not report.passed
