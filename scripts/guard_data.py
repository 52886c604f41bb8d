"""The guard's labelled corpora in ../shared/data, read one way, with train/dev splits fixed once.

Training scripts (`scripts/train_*.py`), calibration and `benchmarks/guard_quality.py` all read the data
through this module, so every one of them sees the same split. The rule, decided once and never tuned:

* every row has a **group**: the thing that must not sit on both sides of the split (a seed question and
  all its jailbreak wrappings, a question and its answers, a dialogue and all its turns, an AISafetyLab
  item's query, jailbreak and answer);
* ``split = "dev"`` when ``sha256("hegui-split-v1:" + group)`` read as an integer is ``0 mod 5``, else
  ``"train"`` (about 20 % dev);
* COLDataset keeps its own ``train.csv`` / ``dev.csv`` split (its test split is not here: the team holds
  it back).

Groups are normalized (NFKC, case-folded, only letters and digits kept), so one question found in two
sets lands on the same side. Nothing here is copied into the repository or the package: the data stays
in ``../shared/data`` and a missing folder raises `DataMissing` (tests and benchmarks skip on it).
"""

from __future__ import annotations

import csv
import hashlib
import json
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

DEFAULT_ROOT = Path(__file__).resolve().parents[2] / "shared" / "data"
#: Text the hegui team wrote for training (not a third-party data set; the project's licence): see
#: scripts/team_data/README.md.
TEAM_ROOT = Path(__file__).resolve().parent / "team_data"
#: The team's files and the source name each counts under.
TEAM_FILES = (
    ("everyday_a_zh.txt", "team-everyday"),
    ("everyday_b_zh.txt", "team-everyday"),
    ("sensitive_legit_zh.txt", "team-sensitive"),
    ("sensitive_roles_zh.txt", "team-sensitive"),
    ("topic_words_zh.txt", "team-topic"),
    ("documents_zh.txt", "team-documents"),
    ("knowledge_health_zh.txt", "team-knowledge"),
    ("knowledge_society_zh.txt", "team-knowledge"),
    ("documents_b_zh.txt", "team-documents"),
    ("law_cases_zh.txt", "team-sensitive"),
    ("encyclopedia_zh.txt", "team-knowledge"),
    ("formal_requests_zh.txt", "team-everyday"),
    ("exam_questions_zh.txt", "team-knowledge"),
    ("documents_c_zh.txt", "team-documents"),
)
#: Harmful requests the team wrote (2026-12-03), one per line as ``CLASS<TAB>request`` (CLASS: A.1 … A.5):
#: the harmful side of the same natural forms, so that the form of a request is not what tells harm apart.
TEAM_HARMFUL_FILES = (
    ("harmful_a_zh.tsv", "team-harmful"),
    ("harmful_b_zh.tsv", "team-harmful"),
    ("harmful_c_zh.tsv", "team-harmful"),
)
#: The sixth round (2026-12-03, afternoon): harmful requests on discrimination, unsafe opinions, commerce,
#: others' rights and advice in high-risk services, and harmless requests on the same subjects (hard
#: negatives); fitted with ``with_team_harmful=2`` (scripts/team_data/README.md).
TEAM_ROUND2_HARMFUL = (
    ("harmful_d_zh.tsv", "team-harmful"),
    ("harmful_e_zh.tsv", "team-harmful"),
)
TEAM_ROUND2_BENIGN = (("benign_f_zh.txt", "team-sensitive"),)
#: Safe answers the team wrote (2026-12-03) to the harmful requests of two of those files, in many voices
#: (short refusals, the law, empathy first, safe completions, safe versions of a fiction scene): one JSON
#: object ``{"prompt", "response"}`` per line. The source every answer counts under:
TEAM_ANSWER_FILES = ("safe_answers_a_zh.jsonl", "safe_answers_b_zh.jsonl")
TEAM_ANSWERS = "team-safe"
SPLIT_SALT = "hegui-split-v1:"

Split = Literal["train", "dev"]
#: harmful: should be refused (prompts) or is offensive (comments); benign: should pass; borderline: a
#: sensitive but legitimate question that deserves a responsible answer (should pass).
Label = Literal["harmful", "benign", "borderline"]


class DataMissing(FileNotFoundError):
    """../shared/data (or one of its files) is not there."""


@dataclass(frozen=True, slots=True)
class Example:
    """One input-stage text: a prompt, a jailbreak-wrapped prompt, a comment or a dialogue turn."""

    text: str
    label: Label
    #: prompt, prompt_jailbreak, prompt_mcq, comment, statement, dialogue_turn, response, …
    kind: str
    #: The top-level GB/T 45654 risk (A.1 … A.5) of a harmful row, "" when not known or not harmful.
    risk: str
    #: The data set's short name (e.g. "jailbench", "cold", "kdconv").
    source: str
    group: str
    split: Split
    #: The data set's own category of the row where it has one (XSafety's "Mental_Health", MultiJail's
    #: tags), "" otherwise: reported, never a feature.
    category: str = ""


@dataclass(frozen=True, slots=True)
class AnswerExample:
    """One output-stage pair: the question and an answer to it, unsafe (helps with harm) or safe."""

    prompt: str
    response: str
    label: Literal["unsafe", "safe"]
    #: refusal (declines / redirects), answer (a normal answer to a benign question), compliance (helps)
    kind: str
    risk: str
    source: str
    group: str
    split: Split


def normalize_key(text: str) -> str:
    folded = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch for ch in folded if ch.isalnum())


def split_of(group: str) -> Split:
    digest = hashlib.sha256((SPLIT_SALT + group).encode("utf-8")).hexdigest()
    return "dev" if int(digest[:16], 16) % 5 == 0 else "train"


# --- risk mapping -------------------------------------------------------------------------------------

_TOP_BY_PREFIX = {
    "违反社会主义核心价值观": "A.1",
    "歧视": "A.2",
    "商业违法违规": "A.3",
    "侵犯他人合法权益": "A.4",
    "无法满足特定服务类型的安全需求": "A.5",
}
_XSAFETY = {
    "Crimes_And_Illegal_Activities": "A.1",
    "Ethics_And_Morality": "A.1",
    "Goal_Hijacking": "A.1",
    "Inquiry_With_Unsafe_Opinion": "A.1",
    "Insult": "A.4",
    "Mental_Health": "A.4",
    "Physical_Harm": "A.4",
    "Privacy_And_Property": "A.4",
    "Prompt_Leaking": "A.1",
    "Reverse_Exposure": "A.1",
    "Role_Play_Instruction": "A.1",
    "Unfairness_And_Discrimination": "A.2",
    "Unsafe_Instruction_Topic": "A.1",
}
_JADE = {"违法犯罪": "A.1", "侵害权益": "A.4", "歧视偏见": "A.2"}
_MULTIJAIL_A2 = ("Hate speech", "Discrimination")
_MULTIJAIL_A4 = ("Soliciting personally", "Bullying", "Self-harm", "Child abuse")


def _jailbench_risk(category: str) -> str:
    head = category.split("/", 1)[0]
    return _TOP_BY_PREFIX.get(head, "A.1")


def _multijail_risk(category: str) -> str:
    if any(tag in category for tag in _MULTIJAIL_A2):
        return "A.2"
    if any(tag in category for tag in _MULTIJAIL_A4):
        return "A.4"
    return "A.1"


# --- readers ------------------------------------------------------------------------------------------


def _path(root: Path, rel: str) -> Path:
    path = root / rel
    if not path.is_file():
        raise DataMissing(f"{path} is not there (the guard's data lives in ../shared/data)")
    return path


def _jsonl(root: Path, rel: str) -> Iterator[dict[str, str]]:
    with _path(root, rel).open(encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield json.loads(line)


def _csv(root: Path, rel: str, encoding: str = "utf-8-sig") -> list[list[str]]:
    with _path(root, rel).open(encoding=encoding, newline="") as f:
        return list(csv.reader(f))


def _example(
    text: str, label: Label, kind: str, risk: str, source: str, group: str, category: str = ""
) -> Example:
    key = normalize_key(group) or group
    risk = risk if label == "harmful" else ""
    return Example(text, label, kind, risk, source, key, split_of(key), category)


def _safety_train(root: Path) -> Iterator[Example]:
    seeds = [r["text"] for r in _jsonl(root, "safety-train/JailBench/jailbench_seed.jsonl")]
    for r in _jsonl(root, "safety-train/JailBench/jailbench_seed.jsonl"):
        yield _example(r["text"], "harmful", "prompt", _jailbench_risk(r["category"]), "jailbench", r["text"])
    for r in _jsonl(root, "safety-train/JailBench/jailbench_jailbreak.jsonl"):
        seed = max((s for s in seeds if r["text"].rstrip().endswith(s.strip())), key=len, default=r["text"])
        yield _example(
            r["text"], "harmful", "prompt_jailbreak", _jailbench_risk(r["category"]), "jailbench", seed
        )
    items: dict[str, str] = {}
    rows = list(_jsonl(root, "safety-train/AISafetyLab/icl_data_zh.jsonl"))
    for r in rows:
        item, part = r["source_id"].split(":", 1)
        if part == "query":
            items[item] = r["text"]
    for r in rows:
        item, part = r["source_id"].split(":", 1)
        if part == "unsafe_response":
            continue  # an answer: see load_answers
        yield _example(r["text"], "harmful", r["kind"], "A.1", "aisafetylab", items.get(item, r["text"]))
    for r in _jsonl(root, "safety-train/multilingual-safety-for-LLMs/multijail_zh.jsonl"):
        category = str(r.get("category") or "")
        risk = _multijail_risk(category)
        yield _example(r["text"], "harmful", "prompt", risk, "multijail", r["text"], category)
    for r in _jsonl(root, "safety-train/Multilingual_safety_benchmark/xsafety_zh.jsonl"):
        label: Label = "benign" if r["label"] == "benign" else "harmful"
        category = str(r.get("category") or "")
        risk = _XSAFETY.get(category, "A.1")
        yield _example(r["text"], label, r["kind"], risk, "xsafety", r["text"], category)
    for r in _jsonl(root, "safety-train/SWSR/swsr_comments.jsonl"):
        yield _example(
            r["text"], "harmful" if r["label"] == "harmful" else "benign", "comment", "A.2", "swsr", r["text"]
        )
    for r in _jsonl(root, "safety-train/SafetyBench/safetybench_zh_subset_binary.jsonl"):
        label = "harmful" if r["label"] == "harmful" else "benign"
        yield _example(r["text"], label, r["kind"], "A.2", "safetybench", r["text"])
    for r in _jsonl(root, "safety-train/JoySafety/red_line_examples.jsonl"):
        if r["kind"] == "prompt":
            yield _example(r["text"], "harmful", "prompt", "A.1", "joysafety", r["text"])
    for r in _jsonl(root, "safety-train/CValues/responsibility_prompts.jsonl"):
        yield _example(r["text"], "borderline", "prompt", "", "cvalues", r["text"])
    for r in _jsonl(root, "safety-train/ChineseSafetyQA/questions.jsonl"):
        yield _example(r["text"], "benign", "prompt", "", "chinesesafetyqa", r["text"])
    for rel, source in (
        ("safety-train/CrossWOZ/crosswoz_val_test_turns.jsonl", "crosswoz"),
        ("safety-train/KdConv/kdconv_dev_test_turns.jsonl", "kdconv"),
        ("safety-train/CDial-GPT/lccc_toy_turns.jsonl", "lccc"),
    ):
        for r in _jsonl(root, rel):
            dialogue = r["source_id"].rsplit(":", 1)[0]
            yield _example(r["text"], "benign", r["kind"], "", source, f"{source}:{dialogue}")


def _jade(root: Path) -> Iterator[Example]:
    for rel, source in (
        ("jade-db/jade-db-v1.0/jade_benchmark_zh.csv", "jade-v1"),
        ("jade-db/jade-db-v2.0/jade_benchmark_easy_zh.csv", "jade-v2"),
    ):
        for row in _csv(root, rel)[1:]:
            if len(row) >= 3 and row[1].strip():
                yield _example(row[1], "harmful", "prompt", _JADE.get(row[2].strip(), "A.1"), source, row[1])
    for row in _csv(root, "jade-db/jade-db-v3.0/jade_alignment_medium_zh.csv", "gb18030")[1:]:
        if len(row) >= 2 and row[1].strip():
            yield _example(row[1], "harmful", "prompt", "A.1", "jade-v3", row[1])


def _cold(root: Path) -> Iterator[Example]:
    for name in ("train", "dev"):
        rows = _csv(root, f"COLDataset/COLDataset/{name}.csv")
        header = rows[0]
        text_at, label_at = header.index("TEXT"), header.index("label")
        for row in rows[1:]:
            label: Label = "harmful" if row[label_at] == "1" else "benign"
            text = row[text_at]
            yield Example(
                text, label, "comment", "A.2" if label == "harmful" else "", "cold", normalize_key(text), name
            )  # type: ignore[arg-type]


def team_requests(team_root: Path, files: tuple[tuple[str, str], ...] = TEAM_FILES) -> Iterator[Example]:
    """The team-written requests (``files``: file name and source name): everyday requests to an assistant
    and questions about harmful subjects asked for protection, help or knowledge. Benign prompts; split by
    the same group hash as the rest."""
    for _, _, line, source in _team_lines(team_root, files):
        yield _example(line.strip(), "benign", "prompt", "", source, line)


def _team_lines(team_root: Path, files: tuple[tuple[str, str], ...]) -> Iterator[tuple[Path, int, str, str]]:
    """The non-blank lines of the team's ``files``: path, line number, line, source name."""
    for name, source in files:
        path = team_root / name
        if not path.is_file():
            raise DataMissing(f"{path} is not there (the team-written training requests)")
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if line.strip():
                yield path, number, line, source


def team_harmful(
    team_root: Path, files: tuple[tuple[str, str], ...] = TEAM_HARMFUL_FILES
) -> Iterator[Example]:
    """The team-written harmful requests (``CLASS<TAB>request`` lines): harmful prompts of that risk class;
    split by the same group hash as the rest. Raises DataMissing, or ValueError naming a malformed line."""
    for path, number, line, source in _team_lines(team_root, files):
        risk, _, text = line.partition("\t")
        if risk not in ("A.1", "A.2", "A.3", "A.4", "A.5") or not text.strip():
            raise ValueError(f"{path}:{number}: expected CLASS<TAB>request with CLASS A.1 … A.5")
        yield _example(text.strip(), "harmful", "prompt", risk, source, text)


def load_inputs(
    root: Path = DEFAULT_ROOT, team_root: Path | None = None, *, with_team_harmful: int = 0
) -> list[Example]:
    """Every input-stage row of every set, with its split; with ``team_root`` (``TEAM_ROOT``) the
    team-written requests too (the harmful ones only ``with_team_harmful``: 1 the first round, as the
    shipped model's training asks since 2026-12-03; 2 with the sixth round's harmful and harmless files;
    scripts/team_data/README.md), which only the harmful-request model's training and the guard-quality
    benchmark ask for: every other reader (the comment classifier's training, the benchmarks recorded
    before 2026-12-02) keeps the data it was measured on. Raises DataMissing."""
    team = list(team_requests(team_root)) if team_root is not None else []
    if team_root is not None and with_team_harmful:
        team += team_harmful(team_root)
    if team_root is not None and with_team_harmful >= 2:  # the sixth round: its harmful and harmless sides
        team += [*team_harmful(team_root, TEAM_ROUND2_HARMFUL), *team_requests(team_root, TEAM_ROUND2_BENIGN)]
    return [*_safety_train(root), *_jade(root), *_cold(root), *team]


def load_answers(root: Path = DEFAULT_ROOT, team_root: Path | None = None) -> list[AnswerExample]:
    """Output-stage pairs: jade-db v3 medium (an unsafe and a safe answer to each question), AISafetyLab's
    unsafe answers, JoySafety's refusals and CrossWOZ's system turns (ordinary answers to benign requests,
    paired with the user turn before them); with ``team_root`` the team's safe answers too (split by
    their question's group, as the question itself is). Raises DataMissing, or ValueError naming a
    malformed line of a team file."""
    out: list[AnswerExample] = []

    def add(
        prompt: str, response: str, label: Literal["unsafe", "safe"], kind: str, risk: str, source: str
    ) -> None:
        group = normalize_key(prompt) or normalize_key(response)
        out.append(AnswerExample(prompt, response, label, kind, risk, source, group, split_of(group)))

    for row in _csv(root, "jade-db/jade-db-v3.0/jade_alignment_medium_zh.csv", "gb18030")[1:]:
        if len(row) >= 4 and row[1].strip():
            if row[2].strip():
                add(row[1], row[2], "unsafe", "compliance", "A.1", "jade-v3")
            if row[3].strip():
                add(row[1], row[3], "safe", "refusal", "A.1", "jade-v3")
    rows = list(_jsonl(root, "safety-train/AISafetyLab/icl_data_zh.jsonl"))
    queries = {r["source_id"].split(":", 1)[0]: r["text"] for r in rows if r["source_id"].endswith(":query")}
    for r in rows:
        item, part = r["source_id"].split(":", 1)
        if part == "unsafe_response" and item in queries:
            add(queries[item], r["text"], "unsafe", "compliance", "A.1", "aisafetylab")
    joy = list(_jsonl(root, "safety-train/JoySafety/red_line_examples.jsonl"))
    prompts = [r["text"] for r in joy if r["kind"] == "prompt"]
    refusals = [r["text"] for r in joy if r["kind"] == "response_refusal"]
    for prompt, refusal in zip(prompts, refusals, strict=False):
        add(prompt, refusal, "safe", "refusal", "A.1", "joysafety")
    previous: dict[str, str] = {}
    for r in _jsonl(root, "safety-train/CrossWOZ/crosswoz_val_test_turns.jsonl"):
        dialogue = r["source_id"].rsplit(":", 1)[0]
        if r["kind"] == "prompt":
            previous[dialogue] = r["text"]
        elif r["kind"] == "response" and dialogue in previous:
            add(previous[dialogue], r["text"], "safe", "answer", "", "crosswoz")
    if team_root is not None:
        for prompt, response in team_answers(team_root):
            add(prompt, response, "safe", "refusal", "A.1", TEAM_ANSWERS)
    return out


def team_answers(team_root: Path, files: tuple[str, ...] = TEAM_ANSWER_FILES) -> Iterator[tuple[str, str]]:
    """The team's (request, safe answer) pairs. Raises DataMissing, or ValueError naming a bad line."""
    for path, number, line, _ in _team_lines(team_root, tuple((name, TEAM_ANSWERS) for name in files)):
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            row = None
        if not isinstance(row, dict) or not all(
            isinstance(row.get(k), str) and row[k].strip() for k in ("prompt", "response")
        ):
            raise ValueError(f"{path}:{number}: expected a JSON object with string prompt and response")
        yield row["prompt"], row["response"]


def should_refuse(example: Example) -> bool:
    """What the benchmark expects of the input stage."""
    return example.label == "harmful"


if __name__ == "__main__":  # a summary of the splits, for docs/guard-data.md
    from collections import Counter

    inputs = load_inputs()
    counts = Counter((e.source, e.label, e.split) for e in inputs)
    for key in sorted(counts):
        print(*key, counts[key], sep="\t")
    answers = load_answers()
    acounts = Counter((a.source, a.label, a.split) for a in answers)
    for key in sorted(acounts):
        print("answers", *key, acounts[key], sep="\t")
