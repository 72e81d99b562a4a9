-- The fund ledger (DM 15 July 2021, arts. 12-15), PostgreSQL: the same tables as the SQLite script. Money is
-- numeric(18,2) (exact); an append-only journal: a trigger refuses UPDATE, DELETE and TRUNCATE on every table but DbUp's own.

-- One row per request that changed (or was refused before changing) nothing twice: its idempotency key, what it was,
-- a hash of the request and the answer given, so a retry with the same key gets the same answer and changes nothing.
CREATE TABLE ledger_operations (
    operation_id     TEXT PRIMARY KEY,
    kind             TEXT NOT NULL CHECK (kind IN ('post', 'draw', 'expire', 'breach')),
    idempotency_key  TEXT UNIQUE,
    request_hash     TEXT NOT NULL,
    response         TEXT NOT NULL,
    recorded_at      timestamptz NOT NULL
);

-- A posted allocation (art. 12.1): the year, the allocation's own content hash, the rule set it was computed under, and
-- the posting it supersedes (whose credits it reversed by entries).
CREATE TABLE ledger_postings (
    posting_id        TEXT PRIMARY KEY REFERENCES ledger_operations (operation_id),
    application_year  integer NOT NULL,
    crediting_year    integer NOT NULL,
    allocation_hash   TEXT NOT NULL UNIQUE,
    rule_set_id       TEXT NOT NULL,
    rule_set_hash     TEXT NOT NULL,
    supersedes        TEXT UNIQUE REFERENCES ledger_postings (posting_id),
    posted_on         date NOT NULL,
    credit_count      integer NOT NULL,
    total             numeric(18,2) NOT NULL
);
CREATE INDEX ledger_postings_year ON ledger_postings (application_year);

-- A credit of a posting: one company, one work, one sub-quota, the year credited and the date it lapses (art. 12.5),
-- and the authors' shares of art. 14.3 set aside from it. Facts, never changed; the money is in ledger_entries.
CREATE TABLE ledger_credits (
    credit_id       bigint PRIMARY KEY,
    posting_id      TEXT NOT NULL,
    company_id      TEXT NOT NULL,
    company_name    TEXT NOT NULL,
    work_id         TEXT NOT NULL,
    work_title      TEXT NOT NULL,
    quota_id        TEXT NOT NULL,
    crediting_year  integer NOT NULL,
    expires_on      date NOT NULL,
    amount          numeric(18,2) NOT NULL,
    authors_share   numeric(18,2) NOT NULL
);
CREATE INDEX ledger_credits_company ON ledger_credits (company_id, crediting_year, expires_on);

-- A draw on the fondo potenziale for a new work (arts. 13-15), accepted; its entries take it from the credits.
CREATE TABLE ledger_draws (
    draw_id           TEXT PRIMARY KEY REFERENCES ledger_operations (operation_id),
    company_id        TEXT NOT NULL,
    new_work_id       TEXT NOT NULL,
    work_kind         TEXT NOT NULL,
    use               TEXT NOT NULL,
    requested_on      date NOT NULL,
    amount            numeric(18,2) NOT NULL,
    cost              numeric(18,2) NOT NULL,
    other_public_aid  numeric(18,2) NOT NULL,
    ceiling_percent   TEXT NOT NULL,
    ceiling_article   TEXT NOT NULL,
    stage             TEXT NOT NULL
);
CREATE INDEX ledger_draws_work ON ledger_draws (new_work_id);

-- The journal. bucket: 'available' (drawable) or 'authors' (the art. 14.3 shares set aside); kind: what moved the money.
CREATE TABLE ledger_entries (
    entry_id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    credit_id     bigint NOT NULL,
    company_id    TEXT NOT NULL,
    bucket        TEXT NOT NULL CHECK (bucket IN ('available', 'authors')),
    kind          TEXT NOT NULL CHECK (kind IN ('credit', 'authors_set_aside', 'reversal', 'draw', 'lapse')),
    amount        numeric(18,2) NOT NULL,
    effective_on  date NOT NULL,
    source_id     TEXT NOT NULL,
    article       TEXT NOT NULL
);
CREATE INDEX ledger_entries_credit ON ledger_entries (credit_id);

CREATE FUNCTION ledger_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END;
$$;
CREATE TRIGGER ledger_operations_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON ledger_operations FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER ledger_postings_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON ledger_postings FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER ledger_credits_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON ledger_credits FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER ledger_draws_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON ledger_draws FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER ledger_entries_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON ledger_entries FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();
