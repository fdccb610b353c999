-- Placeholder on branch mlflow only: number 0011 belongs to another branch.
-- The lead drops this file when that branch's 0011 lands.
SELECT 1;
