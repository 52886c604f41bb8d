"""The filing form: what only the provider can say, completed once in a YAML file.

Algorithm filing (Algorithm Recommendation Provisions Art. 24; ALG-01) asks for the provider, the
service form, the application domain, the algorithm type, the mechanism and the text to be made public;
the large-model package adds the documents (agreement, privacy policy, annotation rules) and, per clause
that hegui cannot check itself, the provider's verdict and evidence. `hegui filing build` writes a
template with every field when none is given; empty fields are listed in the checklist.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from hegui.errors import ConfigError

VerdictName = Literal["compliant", "non-compliant", "not-applicable"]


class _Form(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Provider(_Form):
    name: str = Field("", description="提供者名称 (the legal entity).")
    unified_code: str = Field("", description="统一社会信用代码.")
    legal_representative: str = Field("", description="法定代表人 (signs the commitment page).")
    assessment_lead: str = Field("", description="安全评估负责人 (signs the commitment page).")
    contact: str = Field("", description="Contact person, phone and e-mail for the regulator.")


class Service(_Form):
    name: str = Field("", description="服务名称.")
    form: str = Field("", description="服务形式: app, web, mini-program, API …")
    domain: str = Field("", description="应用领域.")
    target_users: str = Field("", description="适用人群 (published; 7-a).")
    scenarios: str = Field("", description="适用场合和用途 (published; 7-a).")
    base_model: str = Field("", description="所用基础模型 and its filing number (6-a).")
    launch_date: date | None = Field(
        None, description="上线日期: algorithm filing is due 10 working days after it."
    )


class Algorithm(_Form):
    type: str = Field("生成合成类", description="算法类型.")
    mechanism: str = Field("", description="算法基本原理 / 运行机制.")
    public_text: str = Field("", description="拟公示内容 (the text to be made public).")


class Documents(_Form):
    agreement: str = Field("", description="服务协议 (path or URL).")
    privacy_policy: str = Field("", description="隐私政策 (path or URL).")
    annotation_rules: str = Field("", description="标注规则 (path or URL).")
    crossborder_filing: str = Field(
        "",
        description="出境: the standard-contract filing or security-assessment reference, when the "
        "cross-border counters require one (XB-01, XB-03); leave empty otherwise.",
    )


#: Fields whose emptiness is not a gap by itself: `hegui assess` decides from the counters whether the
#: cross-border filing is needed.
OPTIONAL = frozenset({"documents.crossborder_filing"})


class DeclaredClause(_Form):
    verdict: VerdictName
    reason: str = Field("", description="Required for non-compliant and not-applicable.")
    evidence: list[str] = Field(default_factory=list, description="Files, URLs or record ids.")


class FilingForm(_Form):
    provider: Provider = Field(default_factory=Provider)
    service: Service = Field(default_factory=Service)
    algorithm: Algorithm = Field(default_factory=Algorithm)
    documents: Documents = Field(default_factory=Documents)
    clauses: dict[str, DeclaredClause] = Field(default_factory=dict, description="Verdicts by clause id.")

    def empty_fields(self) -> list[str]:
        out = []
        for section in ("provider", "service", "algorithm", "documents"):
            for key, value in getattr(self, section).model_dump().items():
                if value in ("", None) and f"{section}.{key}" not in OPTIONAL:
                    out.append(f"{section}.{key}")
        return out


def load_form(path: Path | None) -> FilingForm:
    if path is None:
        return FilingForm()
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return FilingForm.model_validate(raw)
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read the filing form: {exc}", file=str(path)) from exc
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ConfigError(first["msg"], file=str(path), key=".".join(str(p) for p in first["loc"])) from exc


def write_form(path: Path, form: FilingForm, declared: Sequence[str] = ()) -> None:
    """The form as YAML, every field present, so the user completes it in place; ``declared`` names
    the clauses the provider must give a verdict on under ``clauses:``."""
    data = form.model_dump(mode="json")
    header = "# hegui filing form: complete the empty fields; see docs/filing.md. Dates as YYYY-MM-DD.\n"
    if declared:
        header += (
            "# clauses: give each of these a verdict (compliant | non-compliant | not-applicable), a reason and\n"
            f'# evidence, e.g.  "5.3": {{verdict: compliant, evidence: [annotation-rules.pdf]}}\n# {", ".join(declared)}\n'
        )
    path.write_text(header + yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
