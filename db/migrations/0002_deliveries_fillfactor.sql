-- Custom SQL migration file, put your code below! --
-- drizzle-kit has no table storage parameters, hence a custom migration. A delivery row is written
-- once and then updated by each attempt; with room left on its page the update stays on the page
-- (a HOT update) and writes none of the table's five index entries again.
ALTER TABLE "deliveries" SET (fillfactor = 70);
