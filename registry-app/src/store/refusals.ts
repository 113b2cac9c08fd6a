import { ProblemError } from "../errors";

/**
 * SQLSTATEs that mean PostgreSQL refused a value of the request, not that it failed: each is a 400.
 * The edge (src/schema/storable.ts, the server.json rules) should refuse such values first, so one
 * reaching the database is a bug there; the HTTP layer and ingestion log it at error level.
 */
const REFUSALS: Record<string, string> = {
  "22P05": "a string holds a character the database cannot store (a NUL, \\u0000)",
  "22P02": "a value is not valid input for the database (for example an unpaired surrogate escape in JSON)",
  "22021": "a string holds a NUL character or bytes that are not UTF-8",
  "22001": "a value is longer than the database allows",
  "22003": "a number is out of the range the database can store",
  "54000": "a value exceeds a size limit of the database (too long to index or search)",
};

/** The database refused a value of the request; `sqlState` and `cause` are for the log only. */
export class StoreRefusedValueError extends ProblemError {
  constructor(
    readonly sqlState: string,
    reason: string,
    cause: unknown,
  ) {
    // No errors[]: the database does not say which field held the value.
    super(400, "Bad Request", `The request holds a value the registry cannot store: ${reason}.`);
    this.cause = cause;
  }
}

/** The 400 for a refusal SQLSTATE; undefined for any other error. */
export function refusedValueError(error: unknown): StoreRefusedValueError | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== "string" || !Object.hasOwn(REFUSALS, code)) return undefined;
  return new StoreRefusedValueError(code, REFUSALS[code] as string, error);
}
