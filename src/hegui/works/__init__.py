"""Protected works: a fingerprint index of a provider's catalogue and the overlap it finds in answers.

`fingerprint` turns normalized text into k-gram hashes and winnows them; `index` builds, saves and
loads a `WorksIndex` and finds the runs an answer shares with an indexed work; `check` is the guard's
``works_overlap`` check over a loaded index. Nothing here reads the network or the database; the index
is a file built by ``hegui works index`` and loaded once at start-up.
"""
