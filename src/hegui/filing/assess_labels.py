"""Label verification of a sample of the service's outputs, for `hegui assess` (LBL-01 … LBL-14).

The records cannot show labels: the conversation store keeps an answer as the guard released it, before
the gateway put the explicit label on it and the implicit label beside it. So the sample comes from a
directory of outputs as users received them: saved API responses (``*.json``, the whole chat or
completion body, whose ``AIGC`` object is the implicit label and whose text carries the explicit one)
and labelled files of any format `hegui label verify` reads. The newest ``sample`` files are checked
(recent outputs are the ones the policy in service produced), each ProduceID is looked up in the audit
chain when a database is given: a label that leads back to no decision is not traceable. hegui's demo
provider code, a warning for `hegui label verify`, fails here: a service under assessment is real.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hegui.errors import UnsupportedMediaType
from hegui.filing.findings import COMPLIANT, GAP, NODES, NON_COMPLIANT, Finding
from hegui.label import files
from hegui.label.config import LabelPolicy
from hegui.label.implicit import parse_label, provider_code_issue
from hegui.label.producer import is_demo
from hegui.label.text import explicit_positions

ITEM = "labels on sampled outputs (LBL-01 … LBL-14)"
TEXT_FIELDS = ("content", "text")
#: `hegui label verify` passes the demo code with a warning; a service being assessed must not use it.
DEMO = "LBL-07: ContentProducer is hegui's demo code, not the provider's (set labels.producer)"


@dataclass(frozen=True, slots=True)
class OutputCheck:
    """One sampled output: the requirements it failed (id and reason), and its ProduceID."""

    path: str
    failed: tuple[str, ...]
    produce_id: str = ""
    #: A refusal: not generated content, so neither labelled nor counted as a labelled output.
    refusal: bool = False

    @property
    def passed(self) -> bool:
        return not self.failed


def _supported(path: Path) -> bool:
    if path.suffix.lower() == ".json":
        return True
    try:
        files.kind_of(path.name)
    except UnsupportedMediaType:
        return False
    return True


def sample_outputs(directory: Path, sample: int) -> tuple[list[Path], int]:
    """The newest ``sample`` supported files under ``directory`` (name breaks ties, so the sample is
    reproducible), and how many there were."""
    found = [p for p in directory.rglob("*") if p.is_file() and _supported(p)]
    found.sort(key=lambda p: (-p.stat().st_mtime_ns, str(p)))
    return found[:sample], len(found)


def _texts(body: dict[str, Any]) -> list[str]:
    out = []
    for choice in body.get("choices") or []:
        holder = choice.get("message") if isinstance(choice.get("message"), dict) else choice
        out += [holder[f] for f in TEXT_FIELDS if isinstance(holder.get(f), str) and holder[f]]
    return out


def is_refusal(body: dict[str, Any]) -> bool:
    """hegui's refusal: every choice stopped by the content filter. Its words are hegui's, not generated
    content, and carry no label by design (gateway.md); with an AIGC object it is checked as any answer."""
    choices = body.get("choices") or []
    return bool(choices) and all(
        isinstance(c, dict) and c.get("finish_reason") == "content_filter" for c in choices
    )


def check_response(body: object, labels: LabelPolicy) -> tuple[list[str], str]:
    """A saved response body: the implicit label object (LBL-01…04, LBL-07) and the explicit label in
    every choice's text (LBL-10, LBL-14) when the policy labels text answers. Returns the failures and
    the ProduceID."""
    if not isinstance(body, dict):
        return ["LBL-01: the saved response is not a JSON object"], ""
    raw = body.get("AIGC")
    if raw is None:
        if is_refusal(body):
            return [], ""
        return ["LBL-01: the response carries no AIGC object"], ""
    parsed = parse_label(json.dumps(raw), "response body")
    failed = [f"{i.requirement}: {i.reason}" for i in parsed.issues]
    producer = parsed.values.get("ContentProducer")
    code = provider_code_issue(producer)
    if code is not None:
        failed.append(f"{code.requirement}: {code.reason}")
    elif isinstance(producer, str) and is_demo(producer):
        failed.append(DEMO)
    texts = _texts(body)
    if labels.label_text_answers:
        if not texts:
            failed.append("LBL-14: the response has no text to carry the explicit label")
        for i, text in enumerate(texts):
            if not explicit_positions(text, labels.bracketed):
                failed.append(f"LBL-14: choice {i} has no explicit label {labels.bracketed!r}")
    return failed, str(parsed.values.get("ProduceID", ""))


def check_file(path: Path, labels: LabelPolicy) -> OutputCheck:
    from hegui.label.verify import verify_bytes

    data = path.read_bytes()
    if path.suffix.lower() == ".json":
        try:
            body = json.loads(data)
        except json.JSONDecodeError as exc:
            return OutputCheck(str(path), (f"LBL-01: not JSON: {exc.msg}",))
        failed, produce_id = check_response(body, labels)
        refusal = isinstance(body, dict) and "AIGC" not in body and is_refusal(body)
        return OutputCheck(str(path), tuple(failed), produce_id, refusal)
    report = verify_bytes(data, path.name, labels)
    produce_id = ""
    if report.kind != "txt":  # plain text has no implicit carrier
        found = files.read_labels(data, report.kind)
        produce_id = str(found[0].values.get("ProduceID", "")) if len(found) == 1 else ""
    problems = [f"{r.requirement}: {r.reason}" for r in report.results if not r.passed]
    if any(r.requirement == "LBL-07" for r in report.warnings()):
        problems.append(DEMO)
    return OutputCheck(str(path), tuple(problems), produce_id)


def label_finding(
    directory: Path | None,
    sample: int,
    labels: LabelPolicy,
    traced: Callable[[str], bool] | None = None,
) -> Finding:
    """The verdict over the sample: every sampled output labelled, and (with ``traced``) every
    ProduceID found in the audit chain."""
    node = NODES[5]
    if directory is None:
        return Finding(
            node,
            ITEM,
            GAP,
            "no outputs given (--outputs DIR: saved API responses or labelled files as users received "
            "them); the records hold answers before their label, so labels cannot be checked from them",
        )
    if not directory.is_dir():
        return Finding(node, ITEM, NON_COMPLIANT, f"{directory} is not a directory", str(directory))
    paths, total = sample_outputs(directory, sample)
    if not paths:
        return Finding(
            node, ITEM, NON_COMPLIANT, f"no output file under {directory} to sample", str(directory)
        )
    every = [check_file(p, labels) for p in paths]
    checks = [c for c in every if not c.refusal]
    refusals = len(every) - len(checks)
    if not checks:
        return Finding(
            node,
            ITEM,
            NON_COMPLIANT,
            f"the {len(every)} newest outputs under {directory} are all refusals",
            str(directory),
        )
    problems = [f"{Path(c.path).name}: {c.failed[0]}" for c in checks if not c.passed]
    untraced: list[str] = []
    if traced is not None:
        untraced = [
            Path(c.path).name for c in checks if c.passed and not (c.produce_id and traced(c.produce_id))
        ]
    size = f"{len(paths)} newest of {total} output(s) under {directory}" + (
        f" ({refusals} of them refusals: hegui's words, unlabelled by design, not counted)"
        if refusals
        else ""
    )
    trace_note = "ProduceIDs found in the audit chain" if traced is not None else "audit chain not consulted"
    if problems or untraced:
        bad = problems[:3] + [f"{n}: ProduceID not in the audit chain" for n in untraced[:3]]
        return Finding(
            node,
            ITEM,
            NON_COMPLIANT,
            f"{len(problems)} unlabelled or mislabelled and {len(untraced)} untraceable of {size}: "
            + "; ".join(bad),
            str(directory),
        )
    return Finding(node, ITEM, COMPLIANT, f"all {size} labelled; {trace_note}", str(directory))
