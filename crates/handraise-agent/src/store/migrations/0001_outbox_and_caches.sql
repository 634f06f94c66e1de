-- 1: the outbox (tickets, screenshots, teacher messages), incoming messages, meta and the caches.
CREATE TABLE tickets (
    client_id     TEXT PRIMARY KEY,
    created_at    TEXT NOT NULL,
    created_ms    INTEGER NOT NULL,
    category      TEXT NOT NULL,
    summary       TEXT NOT NULL,
    payload       TEXT NOT NULL,
    state         TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued','sent','rejected')),
    number        INTEGER,
    status        TEXT,
    assignee      TEXT,
    reject_reason TEXT,
    unread        INTEGER NOT NULL DEFAULT 0,
    updated_at    TEXT NOT NULL
);
CREATE TABLE screenshots (
    ticket_client_id TEXT PRIMARY KEY REFERENCES tickets(client_id),
    bytes            BLOB NOT NULL,
    content_type     TEXT NOT NULL,
    state            TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued','sent','dropped','rejected')),
    reason           TEXT
);
CREATE TABLE outgoing_messages (
    client_id        TEXT PRIMARY KEY,
    ticket_client_id TEXT NOT NULL REFERENCES tickets(client_id),
    body             TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    created_ms       INTEGER NOT NULL,
    state            TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued','sent','rejected')),
    reject_reason    TEXT
);
CREATE INDEX outgoing_messages_ticket ON outgoing_messages(ticket_client_id);
CREATE TABLE incoming_messages (
    id               TEXT PRIMARY KEY,
    ticket_client_id TEXT NOT NULL,
    author           TEXT NOT NULL,
    author_name      TEXT,
    body             TEXT NOT NULL,
    at               TEXT NOT NULL,
    at_ms            INTEGER NOT NULL,
    seq              INTEGER NOT NULL
);
CREATE INDEX incoming_messages_ticket ON incoming_messages(ticket_client_id);
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE snapshot_cache (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    collected_ms INTEGER NOT NULL,
    full         INTEGER NOT NULL,
    json         TEXT NOT NULL
);
CREATE TABLE kb_articles (
    slug       TEXT PRIMARY KEY,
    title      TEXT NOT NULL,
    body       TEXT NOT NULL,
    categories TEXT NOT NULL,
    keywords   TEXT NOT NULL,
    version    INTEGER NOT NULL
);
CREATE VIRTUAL TABLE kb_fts USING fts5(
    slug UNINDEXED, title, body, keywords, categories UNINDEXED,
    tokenize = 'porter unicode61 remove_diacritics 2'
);
CREATE TABLE announcements (
    id       INTEGER PRIMARY KEY,
    json     TEXT NOT NULL
);
CREATE TABLE deflections (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    article_slug TEXT NOT NULL,
    at           TEXT NOT NULL
);
