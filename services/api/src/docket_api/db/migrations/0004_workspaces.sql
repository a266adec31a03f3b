-- phase: expand
-- Workspaces with members, and every document in one. Expand: new tables, a nullable column, the
-- backfill, and a trigger that keeps the previous release (which inserts documents without a
-- workspace) correct while both releases run; 0006 (contract) drops the trigger and tightens.

-- personal_of is set for each user's personal workspace (exactly one per user).
CREATE TABLE workspaces (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name         text NOT NULL,
    personal_of  uuid UNIQUE REFERENCES users (id) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE memberships (
    workspace_id  uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    user_id       uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role          text NOT NULL CHECK (role IN ('viewer', 'editor', 'admin', 'owner')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, user_id)
);
CREATE UNIQUE INDEX memberships_one_owner_idx ON memberships (workspace_id) WHERE role = 'owner';
CREATE INDEX memberships_user_idx ON memberships (user_id);

-- Invitation links: only the SHA-256 of the secret is stored; single use, expiring, revocable.
CREATE TABLE invitations (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    token_hash   bytea NOT NULL UNIQUE,
    role         text NOT NULL CHECK (role IN ('viewer', 'editor', 'admin')),
    created_by   uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    accepted_at  timestamptz,
    accepted_by  uuid REFERENCES users (id) ON DELETE SET NULL,
    revoked_at   timestamptz
);
CREATE INDEX invitations_workspace_idx ON invitations (workspace_id, created_at DESC);

-- The same function the previous release's inserts reach through the trigger below, and the
-- backfill uses: the user's personal workspace, created (with its owner membership) when missing.
CREATE FUNCTION docket_personal_workspace(owner uuid) RETURNS uuid
LANGUAGE plpgsql AS $$
DECLARE found uuid;
BEGIN
    INSERT INTO workspaces (name, personal_of) VALUES ('Personal', owner)
        ON CONFLICT (personal_of) DO NOTHING;
    SELECT id INTO found FROM workspaces WHERE personal_of = owner;
    INSERT INTO memberships (workspace_id, user_id, role) VALUES (found, owner, 'owner')
        ON CONFLICT DO NOTHING;
    RETURN found;
END $$;

INSERT INTO workspaces (name, personal_of) SELECT 'Personal', id FROM users;
INSERT INTO memberships (workspace_id, user_id, role) SELECT id, personal_of, 'owner' FROM workspaces;

ALTER TABLE documents ADD COLUMN workspace_id uuid REFERENCES workspaces (id) ON DELETE CASCADE;
UPDATE documents d SET workspace_id = w.id FROM workspaces w WHERE w.personal_of = d.owner_id;

CREATE FUNCTION docket_document_workspace() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.workspace_id := docket_personal_workspace(NEW.owner_id);
    RETURN NEW;
END $$;
CREATE TRIGGER documents_default_workspace BEFORE INSERT ON documents
    FOR EACH ROW WHEN (NEW.workspace_id IS NULL) EXECUTE FUNCTION docket_document_workspace();

-- Duplicates are per workspace now. The per-owner key goes already in expand: the previous release
-- still looks a duplicate up by owner before it inserts (so it still answers 409), and a race it
-- loses trips the workspace key instead, which it handles the same way.
ALTER TABLE documents DROP CONSTRAINT documents_owner_id_sha256_key;
CREATE UNIQUE INDEX documents_workspace_sha256_key ON documents (workspace_id, sha256);
CREATE INDEX documents_workspace_recent_idx ON documents (workspace_id, created_at DESC, id DESC);
CREATE INDEX documents_workspace_status_idx ON documents (workspace_id, status, created_at DESC, id DESC);
CREATE INDEX documents_workspace_title_idx ON documents (workspace_id, lower(title) text_pattern_ops);
