"""The guard's judgement models: a harmful-request model (input stage) and an answer model (output stage).

Both are linear models over hashed character n-grams of the normalized text (`features`), trained by
``scripts/train_guard_models.py`` from the public sets listed in NOTICE.md, and run with numpy alone: no
network, no torch. The bundled artifacts (``prompt_risk.npz``, ``answer_compliance.npz``) hold learned
weights only, never the data.
"""

from __future__ import annotations

from hegui.guard.judge.answer import AnswerRisk, AnswerRiskCheck, AnswerRiskModel, answer_risk
from hegui.guard.judge.features import FeatureConfig, Features, featurize
from hegui.guard.judge.linear import PRESETS, LinearModel
from hegui.guard.judge.prompt import RISK_IDS, PromptRisk, PromptRiskCheck, PromptRiskModel

__all__ = [
    "PRESETS",
    "RISK_IDS",
    "AnswerRisk",
    "AnswerRiskCheck",
    "AnswerRiskModel",
    "FeatureConfig",
    "Features",
    "LinearModel",
    "PromptRisk",
    "PromptRiskCheck",
    "PromptRiskModel",
    "answer_risk",
    "featurize",
]
