-- The fund ledger (DM 15 July 2021, arts. 12-15), SQLite. An append-only journal: every balance is a sum of
-- ledger_entries; triggers refuse UPDATE and DELETE on every table but DbUp's own. Money is INTEGER cents here (SQLite
-- has no exact decimal type: its NUMERIC is floating point), numeric(18,2) in PostgreSQL; dates are ISO text.

-- One row per request that changed (or was refused before changing) nothing twice: its idempotency key, what it was,
-- a hash of the request and the answer given, so a retry with the same key gets the same answer and changes nothing.
CREATE TABLE ledger_operations (
    operation_id     TEXT PRIMARY KEY,
    kind             TEXT NOT NULL CHECK (kind IN ('post', 'draw', 'expire', 'breach')),
    idempotency_key  TEXT UNIQUE,
    request_hash     TEXT NOT NULL,
    response         TEXT NOT NULL,
    recorded_at      TEXT NOT NULL
);

-- A posted allocation (art. 12.1): the year, the allocation's own content hash, the rule set it was computed under, and
-- the posting it supersedes (whose credits it reversed by entries).
CREATE TABLE ledger_postings (
    posting_id        TEXT PRIMARY KEY REFERENCES ledger_operations (operation_id),
    application_year  INTEGER NOT NULL,
    crediting_year    INTEGER NOT NULL,
    allocation_hash   TEXT NOT NULL UNIQUE,
    rule_set_id       TEXT NOT NULL,
    rule_set_hash     TEXT NOT NULL,
    supersedes        TEXT UNIQUE REFERENCES ledger_postings (posting_id),
    posted_on         TEXT NOT NULL,
    credit_count      INTEGER NOT NULL,
    total             INTEGER NOT NULL
);
CREATE INDEX ledger_postings_year ON ledger_postings (application_year);

-- A credit of a posting: one company, one work, one sub-quota, the year credited and the date it lapses (art. 12.5),
-- and the authors' shares of art. 14.3 set aside from it. Facts, never changed; the money is in ledger_entries.
CREATE TABLE ledger_credits (
    credit_id       INTEGER PRIMARY KEY,
    posting_id      TEXT NOT NULL,
    company_id      TEXT NOT NULL,
    company_name    TEXT NOT NULL,
    work_id         TEXT NOT NULL,
    work_title      TEXT NOT NULL,
    quota_id        TEXT NOT NULL,
    crediting_year  INTEGER NOT NULL,
    expires_on      TEXT NOT NULL,
    amount          INTEGER NOT NULL,
    authors_share   INTEGER NOT NULL
);
CREATE INDEX ledger_credits_company ON ledger_credits (company_id, crediting_year, expires_on);

-- A draw on the fondo potenziale for a new work (arts. 13-15), accepted; its entries take it from the credits.
CREATE TABLE ledger_draws (
    draw_id           TEXT PRIMARY KEY REFERENCES ledger_operations (operation_id),
    company_id        TEXT NOT NULL,
    new_work_id       TEXT NOT NULL,
    work_kind         TEXT NOT NULL,
    use               TEXT NOT NULL,
    requested_on      TEXT NOT NULL,
    amount            INTEGER NOT NULL,
    cost              INTEGER NOT NULL,
    other_public_aid  INTEGER NOT NULL,
    ceiling_percent   TEXT NOT NULL,
    ceiling_article   TEXT NOT NULL,
    stage             TEXT NOT NULL
);
CREATE INDEX ledger_draws_work ON ledger_draws (new_work_id);

-- The journal. bucket: 'available' (drawable) or 'authors' (the art. 14.3 shares set aside); kind: what moved the money.
CREATE TABLE ledger_entries (
    entry_id      INTEGER PRIMARY KEY AUTOINCREMENT,
    credit_id     INTEGER NOT NULL,
    company_id    TEXT NOT NULL,
    bucket        TEXT NOT NULL CHECK (bucket IN ('available', 'authors')),
    kind          TEXT NOT NULL CHECK (kind IN ('credit', 'authors_set_aside', 'reversal', 'draw', 'lapse')),
    amount        INTEGER NOT NULL,
    effective_on  TEXT NOT NULL,
    source_id     TEXT NOT NULL,
    article       TEXT NOT NULL
);
CREATE INDEX ledger_entries_credit ON ledger_entries (credit_id);

CREATE TRIGGER ledger_operations_append_only_u BEFORE UPDATE ON ledger_operations BEGIN SELECT RAISE(ABORT, 'ledger_operations is append-only'); END;
CREATE TRIGGER ledger_operations_append_only_d BEFORE DELETE ON ledger_operations BEGIN SELECT RAISE(ABORT, 'ledger_operations is append-only'); END;
CREATE TRIGGER ledger_postings_append_only_u BEFORE UPDATE ON ledger_postings BEGIN SELECT RAISE(ABORT, 'ledger_postings is append-only'); END;
CREATE TRIGGER ledger_postings_append_only_d BEFORE DELETE ON ledger_postings BEGIN SELECT RAISE(ABORT, 'ledger_postings is append-only'); END;
CREATE TRIGGER ledger_credits_append_only_u BEFORE UPDATE ON ledger_credits BEGIN SELECT RAISE(ABORT, 'ledger_credits is append-only'); END;
CREATE TRIGGER ledger_credits_append_only_d BEFORE DELETE ON ledger_credits BEGIN SELECT RAISE(ABORT, 'ledger_credits is append-only'); END;
CREATE TRIGGER ledger_draws_append_only_u BEFORE UPDATE ON ledger_draws BEGIN SELECT RAISE(ABORT, 'ledger_draws is append-only'); END;
CREATE TRIGGER ledger_draws_append_only_d BEFORE DELETE ON ledger_draws BEGIN SELECT RAISE(ABORT, 'ledger_draws is append-only'); END;
CREATE TRIGGER ledger_entries_append_only_u BEFORE UPDATE ON ledger_entries BEGIN SELECT RAISE(ABORT, 'ledger_entries is append-only'); END;
CREATE TRIGGER ledger_entries_append_only_d BEFORE DELETE ON ledger_entries BEGIN SELECT RAISE(ABORT, 'ledger_entries is append-only'); END;
