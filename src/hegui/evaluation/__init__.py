"""Safety evaluation of a generative-AI service (GB/T 45654 chapter 9; SEC-02 … SEC-06).

Banks of test questions (`bank`), judges that decide whether an answer refused or is unsafe (`judges`),
a resumable runner against any OpenAI-compatible endpoint (`runner`), and per-risk rates with Wilson
intervals (`stats`). This room never ships a bank: the questions are the user's files.
"""
