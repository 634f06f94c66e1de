-- 3: small outgoing events ("me too", "this fixed it").
CREATE TABLE outgoing_events (
    client_id     TEXT PRIMARY KEY,
    kind          TEXT NOT NULL,
    path          TEXT NOT NULL,
    body          TEXT NOT NULL,
    created_ms    INTEGER NOT NULL,
    state         TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued','sent','rejected')),
    reject_reason TEXT
);
