"""State that several gateway replicas share, and the rate limits that use it.

Without ``HEGUI_REDIS_URL`` a gateway is one process and keeps its session memory, its caches and its
rate-limit counters in that process (exactly as before this room existed). With it, the replicas share
through Redis:

- session memory (`memory.RedisMemoryStore`): split-across-turns and near-duplicate checks see the turns a
  session sent to any replica; turns are ciphertext under the end user's own data key;
- events (`redis_state.RedisState`, pub/sub): an API key revoked, a lexicon reloaded, a sanction step
  recorded, told to every replica at once;
- a sanction standing cache (`sanctions.CachedSanctionStore`) that those events keep honest;
- rate-limit counters (`windows.RedisWindows`), one atomic Lua call per request.

PostgreSQL stays the record store: nothing here is a record, and losing Redis loses no record. This
room never imports the gateway; ``redis`` is imported only when a URL is set (it is an extra).
"""
