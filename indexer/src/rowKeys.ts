// Keys of the rows that grow with every event (balances, claims, redemptions): one text column made
// only of values the event carries, joined by "-". Why: during a backfill Ponder keeps rows in memory
// until its cache is full; then, before each batch of events, it reads the rows the batch will need
// in one query per table. It can predict a row only if every part of its key is one of the event's
// values (a constant, like points' token id 0, defeats it: one query per row), and its query is an
// OR of one condition per row, which PostgreSQL answers from the index for a one-column key but not
// for a key of several columns (the claim table's three-column key cost a scan of the table per
// batch: 49 minutes of 57 into a backfill of a million claims). The columns stay, for readers,
// with a unique index on them.
export const eventKey = (...parts: (string | number | bigint)[]) => parts.join("-");
