-- 2: the teacher's verdict on a resolved ticket.
CREATE TABLE ticket_feedback (
    client_id TEXT PRIMARY KEY REFERENCES tickets(client_id),
    fixed     INTEGER,
    rating    INTEGER CHECK (rating BETWEEN 1 AND 5)
);
