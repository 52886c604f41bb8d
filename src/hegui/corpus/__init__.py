"""Training-corpus audit for SEC-07 / SEC-08 (see `hegui.corpus.audit`)."""
