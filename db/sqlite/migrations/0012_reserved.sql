-- Placeholder on branch mlflow only: number 0012 belongs to another branch.
-- The lead drops this file when that branch's 0012 lands.
SELECT 1;
