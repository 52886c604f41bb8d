"""The filing package (大模型备案 / 算法备案; spec §5, SEC-11, ALG-01) as files.

`clauses` lists the clauses of GB/T 45654 chapters 5–8 that the report gives a verdict on; `evidence`
decides each verdict from what hegui can read (the policy, the lexicon, an evaluation run) and from what
the user declares in the filing form; `render` writes the DOCX and the PDF; `build` writes the package.
Missing evidence is a finding (non-compliant with the reason "no evidence"), never a silence.
"""
