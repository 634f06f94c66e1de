-- 4: a screenshot's image is dropped once the server has it (or it was dropped or refused);
-- its size is kept for "My tickets".
ALTER TABLE screenshots ADD COLUMN size INTEGER;
UPDATE screenshots SET size = length(bytes);
UPDATE screenshots SET bytes = X'' WHERE state <> 'queued';
