-- cache_schema.sql - the DDL of target/cdbt.db, embedded in the binary
-- (CMake turns it into generated/cache_schema.inc).  Bump CACHE_SCHEMA_VERSION
-- in cache.c whenever this changes: a file with another user_version is
-- treated as foreign and rebuilt.

-- key/value facts about the cache (cdbt version that wrote it, ...)
CREATE TABLE IF NOT EXISTS meta (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- one row per rendered node: the parse-pass outputs and what they depend on
CREATE TABLE IF NOT EXISTS parse_nodes (
    uid       TEXT PRIMARY KEY,   -- unique_id
    key       BLOB NOT NULL,      -- SHA-256 of every input except env vars and macros' text
    mset      INTEGER NOT NULL,   -- = parse_msets.id: the macros its render ran
    envs      BLOB NOT NULL,      -- env vars read: name, set?, value
    out       BLOB NOT NULL,      -- serialized outputs (config, refs, ...)
    parsed_at REAL NOT NULL       -- epoch seconds
);

-- the sets of macros parse renders ran, each macro with a hash of its text
-- (or of its skeleton, tpl_skeleton, for renders that saw no macro's text);
-- many nodes share one set
CREATE TABLE IF NOT EXISTS parse_msets (
    id   INTEGER PRIMARY KEY,     -- the first 8 bytes of SHA-256(body)
    body BLOB NOT NULL
);

-- the last run result of each node
CREATE TABLE IF NOT EXISTS results (
    uid            TEXT PRIMARY KEY,
    status         TEXT NOT NULL,
    started_at     REAL,
    execution_time REAL,
    message        TEXT,
    recorded_at    REAL NOT NULL
);

-- whole-project snapshots: a `parse` or `compile` with the same command line
-- whose every input is unchanged reuses the outputs of the run that stored it
-- (the small columns first: sqlite reaches a column by walking the row's
-- overflow pages from its start, so reading stored_at or the inputs does not
-- read the outputs)
CREATE TABLE IF NOT EXISTS snapshots (
    key       BLOB PRIMARY KEY,   -- SHA-256: cdbt build, command line, cwd, DBT_* env, HOME
    stored_at REAL NOT NULL,      -- epoch seconds
    stamp     BLOB NOT NULL,      -- "<target>/cdbt.stamp" NUL token: what that run wrote there (or empty)
    info      BLOB NOT NULL,      -- what the command needs to repeat its console output
    envs      BLOB NOT NULL,      -- env vars templates read: name, set?, value
    inputs    BLOB NOT NULL,      -- paths read, listed or probed, with what stat() said
    outputs   BLOB NOT NULL       -- files written, with what stat() said after writing
);

-- per snapshot, what recompiling one model alone needs (src/cache/cache_delta.c):
-- the entries of the node table in 256 buckets by a hash of the model's path
CREATE TABLE IF NOT EXISTS snapshot_nodes (
    key    BLOB NOT NULL,         -- = snapshots.key
    bucket INTEGER NOT NULL,      -- FNV-1a of original_file_path, mod 256
    ents   BLOB NOT NULL,         -- the node table entries of that bucket
    PRIMARY KEY (key, bucket)
);

-- the stubs the entries name by number (each parent once), 64 to a row
CREATE TABLE IF NOT EXISTS snapshot_stubs (
    key   BLOB NOT NULL,          -- = snapshots.key
    chunk INTEGER NOT NULL,       -- stub number / 64
    stubs BLOB NOT NULL,
    PRIMARY KEY (key, chunk)
);

-- files a run that recompiled only some models rewrote or read again since
-- the snapshot was stored: their stat now (it supersedes the stored one)
CREATE TABLE IF NOT EXISTS snapshot_over (
    key  BLOB NOT NULL,           -- = snapshots.key
    path TEXT NOT NULL,           -- absolute
    ent  BLOB NOT NULL,           -- one entry in the encoding of snapshots.inputs (kind 255: always changed)
    PRIMARY KEY (key, path)
) WITHOUT ROWID;

-- the outputs a reuse rewrites (manifest.json, run_results.json) of each
-- snapshot, apart so that recording their new stat rewrites a small row
CREATE TABLE IF NOT EXISTS snapshot_heads (
    key  BLOB PRIMARY KEY,        -- = snapshots.key
    ents BLOB NOT NULL            -- the same encoding as snapshots.outputs
);

-- per snapshot, the digest of what each output (not the heads) held when its
-- stat in snapshots.outputs was taken: 16 bytes per entry of that encoding
-- (not the "." entries), in its order, all zero when not known.  The next
-- full run of the command line writes a compiled file whose stat is unchanged
-- without reading it when the digests agree (cache_snap_outputs)
CREATE TABLE IF NOT EXISTS snapshot_digests (
    key BLOB PRIMARY KEY,         -- = snapshots.key
    dg  BLOB NOT NULL
);

-- entries a delta run rewrote at another length (a new file, spliced):
-- offsets stored with the snapshot that lie after `at` moved by `delta`
-- bytes, in this order (seq)
CREATE TABLE IF NOT EXISTS snapshot_shift (
    key   BLOB NOT NULL,          -- = snapshots.key
    seq   INTEGER NOT NULL,
    file  INTEGER NOT NULL,       -- 0 manifest.json, 1 run_results.json
    at    INTEGER NOT NULL,
    delta INTEGER NOT NULL,
    PRIMARY KEY (key, seq)
);

-- per compile snapshot, the compiled code of its tests (cmd_compile): after
-- an edit of macros the tests do not call, the next compile takes it from
-- here instead of rendering them.  Rewritten only when it differs (digest).
CREATE TABLE IF NOT EXISTS snapshot_tests (
    key    BLOB PRIMARY KEY,      -- = snapshots.key
    digest BLOB NOT NULL,         -- SHA-256 of codes
    codes  BLOB NOT NULL          -- per test: varint length, unique_id, varint length, compiled code
);
