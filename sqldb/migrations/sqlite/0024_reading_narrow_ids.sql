-- PostgreSQL narrows the id columns of readings to 4-byte integers here.
-- SQLite stores integers in as few bytes as they need already.
SELECT 1;
