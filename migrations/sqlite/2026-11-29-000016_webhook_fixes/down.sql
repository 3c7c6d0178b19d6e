-- The detailed errors are gone for good; nothing to undo.
SELECT 1;
