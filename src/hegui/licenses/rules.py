"""The rules: given a component, the license terms that bind it (declared and inherited) and the
deployment profile, say what is blocked, what conflicts, what is owed, and what needs review.

Each rule is a small function registered in ``RULES`` with its id and a one-line summary (the ids are
what findings, docs and tests name). Facts: docs/license-facts.md §3. A rule must never
silently pass a term it does not understand: unknown means a finding.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from hegui.licenses.knowledge import KnowledgeBase, License
from hegui.licenses.lineage import Lineage, Term
from hegui.licenses.types import Component, Finding, Profile, Severity

USE_NOT_LINKING = (
    "isolation by process or network boundary cannot cure this: model terms, use restrictions, "
    "non-commercial terms and thresholds follow use, not linking"
)
ISOLATE = (
    "isolate it: run the unmodified component as a separate process or service and talk to it over a "
    "CLI, pipe, socket or HTTP with simple data, never an in-process import"
)


@dataclass(frozen=True)
class Ctx:
    """What a component rule sees."""

    comp: Component
    terms: tuple[Term, ...]  # declared (chosen alternative) + inherited
    lineage: Lineage
    profile: Profile
    kb: KnowledgeBase

    def find(self, rule: str, severity: Severity, term: Term | None, message: str, remedy: str) -> Finding:
        evidence = term.evidence if term is not None else self.comp.evidence
        via = f" ({term.via})" if term is not None and term.inherited else ""
        return Finding(
            rule=rule,
            severity=severity,
            component=self.comp.ref,
            message=message + via,
            evidence=evidence,
            remedy=remedy,
            license=term.license.id if term else "",
        )

    @property
    def is_derivative(self) -> bool:
        return bool(self.comp.base_models or self.lineage.inherited)

    def distributes(self, lic: License) -> bool:
        """The license's "Distribution" happens: copies leave, or SaaS counts as distribution for it."""
        return self.profile.conveyed or (self.profile.deployment == "saas" and lic.saas_is_distribution)


RuleFn = Callable[[Ctx], Iterator[Finding]]


@dataclass(frozen=True)
class Rule:
    id: str
    summary: str
    fn: RuleFn


RULES: list[Rule] = []
# Findings not made by a component rule: the evaluator, the stack rule and the scanners emit these.
OTHER_RULES = {
    "merge-naming-clash": "merged parents demand mutually exclusive name prefixes (rule 19)",
    "missing-license": "no license declared: all rights reserved (rule 20)",
    "unknown-license": "a license string the knowledge base does not know",
    "dual-license-choice": "an OR expression: the branch with the mildest findings is chosen",
    "unresolved-dependencies": "declared packages whose license metadata is not available",
    "gpl2-incompatible": "GPL-2.0-only combined with Apache-2.0 / GPL-3 / AGPL in one conveyed program (rules 2, 5)",
    "unreadable-input": "a file the scanner could not parse",
    "card-without-metadata": "a model or dataset card without YAML front matter",
    "license-other-without-name": "a card with license: other and no license_name",
    "private-data-provenance": "private fine-tune data without owner or warranty (aibom.yaml)",
    "ownership-undeclared": "ownership of model and outputs not declared (aibom.yaml)",
}


def rule(rule_id: str, summary: str) -> Callable[[RuleFn], RuleFn]:
    def register(fn: RuleFn) -> RuleFn:
        RULES.append(Rule(rule_id, summary, fn))
        return fn

    return register


def _model_terms(ctx: Ctx) -> Iterator[Term]:
    return (t for t in ctx.terms if t.relation != "outputs")


@rule("non-commercial", "non-commercial / research-only terms in commercial use (rule 14)")
def _non_commercial(ctx: Ctx) -> Iterator[Finding]:
    if not ctx.profile.commercial:
        return
    for term in _model_terms(ctx):
        if term.license.commercial == "no":
            yield ctx.find(
                "non-commercial",
                Severity.blocked,
                term,
                f"{term.license.name} allows no commercial use",
                "replace it with a commercially licensed component, or get a commercial license; "
                + USE_NOT_LINKING,
            )


@rule("commercial-authorization", "commercial use needs registration / approval first (rule 14)")
def _authorization(ctx: Ctx) -> Iterator[Finding]:
    if not ctx.profile.commercial:
        return
    for term in _model_terms(ctx):
        if term.license.commercial != "conditional":
            continue
        if ctx.comp.authorization:
            yield ctx.find(
                "commercial-authorization",
                Severity.obligation,
                term,
                f"commercial use of {term.license.name} under authorization {ctx.comp.authorization!r}",
                "keep the authorization on file; respect its scope",
            )
        else:
            yield ctx.find(
                "commercial-authorization",
                Severity.blocked,
                term,
                f"commercial use of {term.license.name} requires {term.license.commercial_condition}",
                "obtain it and record the reference as `authorization:` in aibom.yaml",
            )


@rule("user-threshold", "MAU / DAU / revenue above the license's ceiling (rule 15)")
def _threshold(ctx: Ctx) -> Iterator[Finding]:
    # One ceiling is one breach: a fine-tune of a fine-tune inherits the same license at every lineage
    # step, and the nearest step (the declared license first) is the one to report.
    seen: set[str] = set()
    for term in _model_terms(ctx):
        thr = term.license.threshold
        if thr is None or (thr.commercial_only and not ctx.profile.commercial) or term.license.id in seen:
            continue
        seen.add(term.license.id)
        value = {"mau": ctx.profile.mau, "dau": ctx.profile.dau, "revenue": ctx.profile.revenue}[thr.metric]
        over = value >= thr.limit if thr.metric == "dau" else value > thr.limit
        if over:
            yield ctx.find(
                "user-threshold",
                Severity.blocked,
                term,
                f"{thr.metric.upper()} {value:,} exceeds the {thr.limit:,} ceiling of "
                f"{term.license.name} ({thr.scope}; measured: {thr.anchor})",
                "request a license from the licensor before use; " + USE_NOT_LINKING,
            )


@rule("cloud-provider-excluded", "licensee is a software / cloud service provider (Baichuan 2)")
def _cloud(ctx: Ctx) -> Iterator[Finding]:
    for term in _model_terms(ctx):
        if term.license.cloud_provider_excluded and ctx.profile.is_cloud_provider:
            yield ctx.find(
                "cloud-provider-excluded",
                Severity.blocked,
                term,
                f"{term.license.name} grants no commercial rights to software or cloud service providers",
                "get a separate license from the licensor; " + USE_NOT_LINKING,
            )


@rule(
    "region-excluded", "licensee domiciled in an excluded region (Llama 3.2/4 multimodal in the EU) (rule 16)"
)
def _region(ctx: Ctx) -> Iterator[Finding]:
    region = ctx.profile.licensee_region.strip().upper()
    for term in _model_terms(ctx):
        lic = term.license
        eu = lic.eu_multimodal_excluded and ctx.lineage.multimodal and ctx.profile.in_eu
        if (
            eu
            or (region and region in lic.excluded_regions)
            or (ctx.profile.in_eu and "EU" in lic.excluded_regions)
        ):
            yield ctx.find(
                "region-excluded",
                Severity.blocked,
                term,
                f"{lic.name} grants no rights to a licensee domiciled in {region}",
                "have a licensee outside the excluded region operate it (end users of another "
                "company's product are exempt), or use another model",
            )


@rule("hosting-restricted", "shared hosting / inference API needs the licensor's permission (Falcon-180B)")
def _hosting(ctx: Ctx) -> Iterator[Finding]:
    for term in _model_terms(ctx):
        if term.license.hosting_restricted and ctx.profile.deployment == "saas":
            yield ctx.find(
                "hosting-restricted",
                Severity.blocked,
                term,
                f"{term.license.name} excludes hosting use without permission",
                "get TII's written permission for hosting use, or use Falcon 2/3 (Falcon License 2.0)",
            )


@rule("no-derivatives", "adaptation of NoDerivatives material made available (rule 6)")
def _no_derivatives(ctx: Ctx) -> Iterator[Finding]:
    for term in ctx.terms:
        if term.license.no_derivatives and term.inherited and ctx.profile.made_available:
            yield ctx.find(
                "no-derivatives",
                Severity.blocked,
                term,
                f"{term.license.name} forbids sharing adapted material (fine-tunes, quantizations)",
                "remove the ND material from training, or get permission from the rights holder",
            )


@rule(
    "outputs-non-compete",
    "outputs of Llama 2/3, Tongyi Qianwen or Grok 2 used to improve another family (rule 17)",
)
def _non_compete(ctx: Ctx) -> Iterator[Finding]:
    for term in ctx.terms:
        lic = term.license
        if term.relation == "outputs" and lic.no_improve_other_llm and lic.family not in ctx.lineage.families:
            yield ctx.find(
                "outputs-non-compete",
                Severity.blocked,
                term,
                f"{lic.name} forbids using its outputs to improve any other LLM; this is a "
                f"{'/'.join(sorted(ctx.lineage.families)) or 'non-' + str(lic.family)} model",
                "retrain without that data; tag data generated by restricted models and keep it out "
                "of other families' training; " + USE_NOT_LINKING,
            )


@rule("relabelled-model-license", "a derivative of a model license relabelled as Apache/MIT (rule 7)")
def _relabelled(ctx: Ctx) -> Iterator[Finding]:
    declared = [t for t in ctx.terms if not t.inherited]
    if not declared or not all(t.license.category in ("permissive", "public-domain") for t in declared):
        return
    for term in ctx.terms:
        if term.relation in ("dataset", "outputs") or not term.inherited:
            continue
        if term.license.is_model_license and not term.license.relicensable:
            yield ctx.find(
                "relabelled-model-license",
                Severity.conflict,
                term,
                f"declared {declared[0].license.id} but derived from {term.origin} under "
                f"{term.license.name}, which cannot be relicensed; its terms still apply",
                f"declare {term.license.id} (e.g. `license: {term.license.hf[0] if term.license.hf else 'other'}`)"
                " alongside your own terms and follow its obligations",
            )


@rule(
    "name-prefix",
    "derivative model name must start with the upstream's prefix (Llama 3.x/4, glm-4) (rule 12)",
)
def _name_prefix(ctx: Ctx) -> Iterator[Finding]:
    if not ctx.profile.made_available or ctx.comp.kind != "model":
        return
    name = (ctx.comp.served_name or ctx.comp.name).rsplit("/", 1)[-1]
    prefixes: dict[str, Term] = {}
    for term in ctx.terms:
        lic = term.license
        applies = lic.name_prefix and (term.relation != "outputs" or lic.outputs_naming)
        if applies and term.inherited:
            prefixes.setdefault(lic.name_prefix, term)
    if len(prefixes) > 1:
        first = next(iter(prefixes.values()))
        yield ctx.find(
            "merge-naming-clash",
            Severity.conflict,
            first,
            f"parents require mutually exclusive name prefixes: {', '.join(sorted(prefixes))}",
            "do not make this merge available; no name can satisfy both licenses",
        )
        return
    for prefix, term in prefixes.items():
        if not name.lower().startswith(prefix.lower()):
            yield ctx.find(
                "name-prefix",
                Severity.conflict,
                term,
                f"{name!r} must start with {prefix!r} under {term.license.name}",
                f"publish and serve it as '{prefix}-…' (set served_name in aibom.yaml)",
            )


@rule("built-with", "display 'Built with …' where the product is made available (rule 12)")
def _built_with(ctx: Ctx) -> Iterator[Finding]:
    if not ctx.profile.made_available:
        return
    shown: set[str] = set()
    for term in ctx.terms:
        lic = term.license
        if not lic.built_with or lic.built_with in shown:
            continue
        if term.relation == "outputs" and not (lic.outputs_naming or lic.outputs_built_with):
            continue
        if lic.built_with_scope == "derivative" and not term.inherited:
            continue
        shown.add(lic.built_with)
        yield ctx.find(
            "built-with",
            Severity.obligation,
            term,
            f"show “{lic.built_with}” ({lic.name})",
            "display it prominently on the website, user interface or documentation",
        )


@rule("notice-file", "NOTICE / attribution text required when weights or code are distributed (rule 13)")
def _notice(ctx: Ctx) -> Iterator[Finding]:
    done: set[str] = set()
    for term in ctx.terms:
        lic = term.license
        if not lic.notice or term.relation == "outputs" or lic.id in done:
            continue
        done.add(lic.id)
        hosted = ctx.profile.deployment == "saas" and (lic.notice_on_hosted or lic.saas_is_distribution)
        if (ctx.profile.conveyed or hosted) and (
            ctx.comp.kind in ("model", "dataset") or ctx.profile.conveyed
        ):
            if lic.id == "gemma" and not ctx.profile.conveyed:
                continue  # Gemma exempts a hosted service from the Notice file
            yield ctx.find(
                "notice-file",
                Severity.obligation,
                term,
                f"NOTICE: “{lic.notice}”",
                "ship it in the NOTICE file (`hegui licenses scan --format notice`) with a copy of "
                "the license",
            )


@rule(
    "use-restrictions",
    "use restrictions must flow down as enforceable terms of your user agreement (rule 11)",
)
def _use_restrictions(ctx: Ctx) -> Iterator[Finding]:
    done: set[str] = set()
    for term in ctx.terms:
        lic = term.license
        if not lic.use_policy or lic.id in done or not ctx.profile.made_available:
            continue
        done.add(lic.id)
        if lic.flow_down and ctx.distributes(lic):
            yield ctx.find(
                "use-restrictions",
                Severity.obligation,
                term,
                f"{lic.use_policy}: make the restrictions an enforceable provision of your user "
                "agreement / ToS, notify users and give a copy of the license",
                USE_NOT_LINKING,
            )
        else:
            yield ctx.find(
                "use-restrictions",
                Severity.obligation,
                term,
                f"{lic.use_policy} binds your own use of {lic.name}",
                "follow the policy in your product; " + USE_NOT_LINKING,
            )


def _conveyed_code(ctx: Ctx) -> bool:
    if ctx.comp.kind in ("model", "dataset", "service"):
        return False
    return ctx.profile.conveyed or (ctx.comp.layer == "frontend" and ctx.profile.made_available)


@rule("copyleft-conveyed", "GPL code conveyed (distributed, on device, or shipped to browsers) (rules 5, 8)")
def _copyleft(ctx: Ctx) -> Iterator[Finding]:
    if not _conveyed_code(ctx):
        return
    for term in ctx.terms:
        if term.license.copyleft in ("strong", "network"):
            where = "delivered to browsers" if ctx.comp.layer == "frontend" else "conveyed"
            yield ctx.find(
                "copyleft-conveyed",
                Severity.conflict,
                term,
                f"{term.license.name} code is {where}: the whole combined work must be offered "
                "under it with complete source",
                "move the feature server-side or to a separate program behind a network API, or "
                "publish the combined work under the same license; " + ISOLATE,
            )


@rule(
    "weak-copyleft", "LGPL / MPL / EPL conveyed: library source, relinking, file-level copyleft (rules 4, 10)"
)
def _weak(ctx: Ctx) -> Iterator[Finding]:
    if not _conveyed_code(ctx):
        return
    for term in ctx.terms:
        if term.license.copyleft in ("weak", "file"):
            yield ctx.find(
                "weak-copyleft",
                Severity.obligation,
                term,
                f"{term.license.name}: {term.license.attribution}",
                "keep it unmodified and separately replaceable (its own JS chunk / shared library "
                "/ not frozen into a single binary) with its license header",
            )


@rule("agpl-network", "modified or combined AGPL code used over a network must offer its source (rule 9)")
def _agpl(ctx: Ctx) -> Iterator[Finding]:
    if not ctx.profile.made_available or ctx.comp.kind in ("model", "dataset"):
        return
    combined = ctx.comp.modified or ctx.comp.linkage == "in-process"
    for term in ctx.terms:
        if term.license.copyleft != "network" or not combined:
            continue
        what = "modified" if ctx.comp.modified else "combined in-process with your program"
        yield ctx.find(
            "agpl-network",
            Severity.conflict,
            term,
            f"{term.license.name} component is {what} and users interact with it over a network "
            "(§13): offer them the Corresponding Source",
            "isolate the modified part as its own service and publish that service's source; keep "
            "proprietary logic on the other side of a network API",
        )


@rule("share-alike", "ShareAlike / copyleft material in a model's lineage (rule 18)")
def _share_alike(ctx: Ctx) -> Iterator[Finding]:
    if ctx.comp.kind not in ("model", "dataset"):
        return
    for term in ctx.terms:
        if term.license.copyleft not in ("share-alike", "strong", "network") or not term.inherited:
            continue
        if ctx.profile.conveyed:
            yield ctx.find(
                "share-alike",
                Severity.obligation,
                term,
                f"distributed weights derived from {term.license.name} material go out under the "
                "same license",
                "license the weights accordingly; private training data need not "
                "be published, but what 'source' means for weights is unsettled — have counsel review",
            )
        elif ctx.profile.made_available:
            yield ctx.find(
                "share-alike",
                Severity.review,
                term,
                f"{term.license.name} material behind a public service: whether weights are "
                "Adapted Material and whether a SaaS 'shares' them is unsettled",
                "have counsel review; prefer data without ShareAlike for commercial models",
            )


@rule("attribution", "permissive / CC-BY credit and license text when conveyed or adapted")
def _attribution(ctx: Ctx) -> Iterator[Finding]:
    for term in ctx.terms:
        lic = term.license
        if (
            lic.category not in ("permissive", "data", "share-alike")
            or not lic.attribution
            or lic.attribution == "none required"
        ):
            continue
        code = _conveyed_code(ctx)
        data = (
            ctx.comp.kind in ("model", "dataset")
            and ctx.profile.made_available
            and lic.category in ("data", "share-alike")
        )
        if code or data:
            yield ctx.find(
                "attribution",
                Severity.obligation,
                term,
                f"{lic.name}: {lic.attribution}",
                "include it in the NOTICE / attribution file (`--format notice`)",
            )


@rule("variant-unknown", "license named without version or variant (BSD, GPL, openrail…)")
def _variant(ctx: Ctx) -> Iterator[Finding]:
    for term in ctx.terms:
        if term.license.review:
            yield ctx.find(
                "variant-unknown",
                Severity.review,
                term,
                term.license.review,
                "read the LICENSE file and declare the exact SPDX id or license name",
            )


@rule("gated-repo", "gated Hugging Face repository: acceptance terms apply (rule 20)")
def _gated(ctx: Ctx) -> Iterator[Finding]:
    if ctx.comp.gated:
        yield ctx.find(
            "gated-repo",
            Severity.review,
            None,
            "the repository is gated: its acceptance terms apply in addition to the license",
            "record who accepted the terms and keep a copy",
        )


@rule("lineage-unresolved", "a base model, data set or output source whose license is not known")
def _lineage_unresolved(ctx: Ctx) -> Iterator[Finding]:
    for item in ctx.lineage.unresolved:
        yield ctx.find(
            "lineage-unresolved",
            Severity.review,
            None,
            f"license of {item} is not known",
            "scan its card too (put it under PATH) or declare it in aibom.yaml",
        )
