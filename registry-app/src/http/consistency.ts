import { ProblemError } from "../errors";

/**
 * Read-your-writes across a streaming standby. A write's response carries the primary's WAL position
 * in this header once the write is committed; a read that sends it back is answered by a server that
 * has replayed at least that far (a standby that has, else the primary).
 */
export const LSN_HEADER = "mcp-registry-lsn";

/** PostgreSQL's text form of a WAL position: two hexadecimal halves. */
const LSN_FORMAT = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/;

/** The position a read must reach, from its request header; 400 naming the header when malformed. */
export function readAfterHeader(value: string | string[] | undefined): string | undefined {
  if (value === undefined) return undefined;
  const text = (Array.isArray(value) ? value.join(",") : value).trim();
  if (!LSN_FORMAT.test(text)) {
    throw new ProblemError(
      400,
      "Bad Request",
      `header ${LSN_HEADER}: expected a WAL position such as 0/3000148 (the value a write answered with)`,
      {
        errors: [
          { location: `header.${LSN_HEADER}`, message: "expected two hexadecimal numbers separated by /" },
        ],
      },
    );
  }
  return text.toUpperCase();
}
