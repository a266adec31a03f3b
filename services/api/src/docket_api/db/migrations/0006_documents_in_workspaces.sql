-- phase: contract
-- Runs after every pod runs the release that writes workspace_id itself: documents the previous
-- release inserted got theirs from the trigger, so nothing is left to fill. Drop what no one reads.

UPDATE documents SET workspace_id = docket_personal_workspace(owner_id) WHERE workspace_id IS NULL;
INSERT INTO workspaces (name, personal_of)
    SELECT 'Personal', u.id FROM users u WHERE NOT EXISTS (SELECT 1 FROM workspaces w WHERE w.personal_of = u.id);
INSERT INTO memberships (workspace_id, user_id, role)
    SELECT id, personal_of, 'owner' FROM workspaces WHERE personal_of IS NOT NULL ON CONFLICT DO NOTHING;
ALTER TABLE documents ALTER COLUMN workspace_id SET NOT NULL;
DROP TRIGGER documents_default_workspace ON documents;
DROP FUNCTION docket_document_workspace();
DROP INDEX documents_owner_recent_idx, documents_owner_title_idx, documents_owner_status_idx;
