import zlib from "node:zlib";

/** Thrown when an archive is not what it claims to be; the caller reports it against the registry. */
export class ArchiveError extends Error {}

const EOCD = 0x06054b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;

interface ZipEntry {
  name: string;
  method: number;
  compressedSize: number;
  size: number;
  localOffset: number;
}

function zipEntries(zip: Buffer): ZipEntry[] {
  // The end-of-central-directory record sits within the last 64 KiB + 22 bytes (its comment is at most 64 KiB).
  const floor = Math.max(0, zip.length - 65_557);
  let eocd = -1;
  for (let i = zip.length - 22; i >= floor; i -= 1) {
    if (zip.readUInt32LE(i) === EOCD) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new ArchiveError("not a zip archive");
  const count = zip.readUInt16LE(eocd + 10);
  let offset = zip.readUInt32LE(eocd + 16);
  const entries: ZipEntry[] = [];
  for (let i = 0; i < count; i += 1) {
    if (offset + 46 > zip.length || zip.readUInt32LE(offset) !== CENTRAL)
      throw new ArchiveError("corrupt zip central directory");
    const nameLength = zip.readUInt16LE(offset + 28);
    const extraLength = zip.readUInt16LE(offset + 30);
    const commentLength = zip.readUInt16LE(offset + 32);
    entries.push({
      method: zip.readUInt16LE(offset + 10),
      compressedSize: zip.readUInt32LE(offset + 20),
      size: zip.readUInt32LE(offset + 24),
      localOffset: zip.readUInt32LE(offset + 42),
      name: zip.toString("utf8", offset + 46, offset + 46 + nameLength),
    });
    offset += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

function readZipEntry(zip: Buffer, entry: ZipEntry, maxBytes: number): Buffer {
  const at = entry.localOffset;
  if (at + 30 > zip.length || zip.readUInt32LE(at) !== LOCAL) throw new ArchiveError("corrupt zip entry");
  const start = at + 30 + zip.readUInt16LE(at + 26) + zip.readUInt16LE(at + 28);
  const data = zip.subarray(start, start + entry.compressedSize);
  if (entry.size > maxBytes) throw new ArchiveError(`${entry.name} is larger than ${maxBytes} bytes`);
  if (entry.method === 0) return data;
  if (entry.method !== 8) throw new ArchiveError(`${entry.name} uses an unsupported compression method`);
  try {
    return zlib.inflateRawSync(data, { maxOutputLength: maxBytes });
  } catch {
    throw new ArchiveError(`${entry.name} cannot be decompressed`);
  }
}

/** The text of the first zip entry whose name `pick` chooses, or undefined when there is none. */
export function zipText(zip: Buffer, pick: (name: string) => boolean, maxBytes: number): string | undefined {
  const entry = zipEntries(zip).find((candidate) => pick(candidate.name));
  return entry === undefined ? undefined : readZipEntry(zip, entry, maxBytes).toString("utf8");
}

/** Every entry name of a zip archive. */
export function zipNames(zip: Buffer): string[] {
  return zipEntries(zip).map((entry) => entry.name);
}

function tarString(block: Buffer, start: number, length: number): string {
  const field = block.subarray(start, start + length);
  const end = field.indexOf(0);
  return field.toString("utf8", 0, end < 0 ? field.length : end);
}

/** The text of the first regular file in a .tar.gz whose path `pick` chooses. */
export function tarGzText(
  archive: Buffer,
  pick: (path: string) => boolean,
  maxBytes: number,
): string | undefined {
  let tar: Buffer;
  try {
    tar = zlib.gunzipSync(archive, { maxOutputLength: maxBytes });
  } catch {
    throw new ArchiveError("not a gzip archive, or larger than this registry reads");
  }
  for (let offset = 0; offset + 512 <= tar.length;) {
    const header = tar.subarray(offset, offset + 512);
    if (header.every((byte) => byte === 0)) return undefined;
    const name = tarString(header, 0, 100);
    const prefix = tarString(header, 345, 155);
    const size = Number.parseInt(tarString(header, 124, 12).trim() || "0", 8);
    const type = String.fromCharCode(header[156] ?? 0);
    if (!Number.isFinite(size) || size < 0) throw new ArchiveError("corrupt tar header");
    const path = prefix === "" ? name : `${prefix}/${name}`;
    const dataStart = offset + 512;
    if ((type === "0" || type === "\0") && pick(path)) {
      return tar.toString("utf8", dataStart, Math.min(tar.length, dataStart + size));
    }
    offset = dataStart + Math.ceil(size / 512) * 512;
  }
  return undefined;
}
