import assert from "node:assert/strict";
import {
  decodeUtf8,
  findUnstorable,
  locationOf,
  MAX_REPORTED,
  parseStorableJson,
  UnstorableInputError,
} from "../../src/schema/storable";

const bytes = (...parts: Array<string | number[]>): Buffer =>
  Buffer.concat(
    parts.map((part) => (typeof part === "string" ? Buffer.from(part, "utf8") : Buffer.from(part))),
  );

function refusal(run: () => unknown): UnstorableInputError {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof UnstorableInputError, String(error));
    return error;
  }
  assert.fail("expected an UnstorableInputError");
}

describe("schema: values PostgreSQL cannot keep exactly", () => {
  describe("strict UTF-8 decoding", () => {
    it("decodes valid UTF-8 as is, including non-BMP characters, U+FFFD and noncharacters", () => {
      const text = "plain, é, 日本, 🦊, \uFFFD, \uFFFF";
      const decoded = decodeUtf8(Buffer.from(text, "utf8"));
      assert.equal(decoded.text, text);
      assert.equal(decoded.invalid, undefined);
    });

    it("replaces each run of invalid bytes by a numbered marker, never by U+FFFD, and keeps its byte offset", () => {
      const cases: Array<{ name: string; input: Buffer; offsets: number[] }> = [
        { name: "a stray continuation byte", input: bytes("ab", [0x80], "cd"), offsets: [2] },
        { name: "an overlong NUL (C0 80)", input: bytes("a", [0xc0, 0x80]), offsets: [1] },
        { name: "a CESU-8 surrogate (ED A0 80)", input: bytes([0xed, 0xa0, 0x80], "z"), offsets: [0] },
        { name: "beyond U+10FFFF (F4 90 80 80)", input: bytes("x", [0xf4, 0x90, 0x80, 0x80]), offsets: [1] },
        { name: "a truncated sequence at the end", input: bytes("xyz", [0xe6, 0x97]), offsets: [3] },
        { name: "two separate runs", input: bytes([0xff], "ok", [0xfe, 0xfd], "!"), offsets: [0, 3] },
      ];
      for (const { name, input, offsets } of cases) {
        const decoded = decodeUtf8(input);
        assert.ok(decoded.invalid, name);
        assert.deepEqual(decoded.invalid.offsets, offsets, name);
        assert.ok(!decoded.text.includes("\uFFFD"), name);
        assert.ok(decoded.text.includes(`${decoded.invalid.marker}0.`), name);
        assert.ok(!input.includes(decoded.invalid.marker), `${name}: the marker is not in the input`);
      }
    });

    it("keeps the valid text around invalid bytes intact", () => {
      const decoded = decodeUtf8(bytes("é", [0xff], "🦊"));
      assert.equal(decoded.text, `é${decoded.invalid?.marker}0.🦊`);
    });
  });

  describe("the walk over parsed JSON", () => {
    it("finds NUL and unpaired surrogates in values and keys, naming each path, in document order", () => {
      const value = {
        description: "a\u0000b",
        packages: [{ environmentVariables: [{ name: "OK" }, { name: "X\ud800" }] }],
        "key\udfff": "fine",
        _meta: { nested: ["\udc00 low first"] },
      };
      const { found, total } = findUnstorable(value);
      assert.equal(total, 4);
      assert.deepEqual(
        found.map((finding) => [locationOf("body", finding.path), finding.kind, finding.inKey]),
        [
          ["body.description", "nul", false],
          ["body.packages[0].environmentVariables[1].name", "unpaired-surrogate", false],
          ['body["key\\udfff"]', "unpaired-surrogate", true],
          ["body._meta.nested[0]", "unpaired-surrogate", false],
        ],
      );
      assert.match(found[0]?.message ?? "", /NUL character \(\\u0000\) at character 1/);
      assert.match(found[2]?.message ?? "", /^this key contains an unpaired UTF-16 surrogate \(\\udfff\)/);
    });

    it("accepts surrogate pairs, U+FFFD and ordinary control characters", () => {
      assert.equal(findUnstorable({ a: "🦊\uFFFD\t\u0001\u001f", b: ["\ud83e\udd8a"] }).total, 0);
    });

    it("refuses numbers that overflowed to infinity (JSON.stringify would store null)", () => {
      const { found } = findUnstorable(JSON.parse('{"a": [1, 1e400, -1e400]}'));
      assert.deepEqual(
        found.map((finding) => [locationOf("body", finding.path), finding.kind]),
        [
          ["body.a[1]", "number-out-of-range"],
          ["body.a[2]", "number-out-of-range"],
        ],
      );
    });

    it("walks nesting of any depth without recursion", () => {
      const depth = 200_000;
      const deep = JSON.parse(`${"[".repeat(depth)}"\\u0000"${"]".repeat(depth)}`) as unknown;
      const { found, total } = findUnstorable(deep);
      assert.equal(total, 1);
      assert.equal(found[0]?.path.length, depth);
    });

    it("lists at most a bounded number of findings but counts them all", () => {
      const { found, total } = findUnstorable(Array.from({ length: 500 }, () => "\u0000"));
      assert.equal(total, 500);
      assert.equal(found.length, MAX_REPORTED);
    });
  });

  describe("parseStorableJson (the edge of every body)", () => {
    it("names the JSON path of invalid UTF-8 inside a string, and the byte offset in the body", () => {
      const before = '{"title":"ok","description":"caf';
      const error = refusal(() => parseStorableJson(bytes(before, [0xe9], '"}'), JSON.parse));
      assert.equal(before.length, 32);
      assert.equal(error.status, 400);
      assert.deepEqual(error.errors, [
        {
          location: "body.description",
          message: "contains bytes that are not UTF-8 (at byte 32 of the body)",
        },
      ]);
      assert.deepEqual(error.issues, [
        {
          type: "json",
          path: "description",
          message: "description contains bytes that are not UTF-8 (at byte 32 of the body)",
          severity: "error",
          reference: "invalid-utf8",
        },
      ]);
    });

    it("shows a key with invalid UTF-8 with U+FFFD in its location", () => {
      const error = refusal(() => parseStorableJson(bytes('{"k', [0xff], '":1}'), JSON.parse));
      assert.equal(error.errors?.[0]?.location, 'body["k\uFFFD"]');
    });

    it("reports invalid UTF-8 outside any string as invalid UTF-8 at its offset, not as bad JSON", () => {
      const error = refusal(() => parseStorableJson(bytes('{"a":1,', [0xff], '"b":2}'), JSON.parse));
      assert.deepEqual(error.errors, [
        { location: "body", message: "is not valid UTF-8 (the first invalid byte is at offset 7)" },
      ]);
    });

    it("leaves malformed but valid-UTF-8 JSON to the caller's parser", () => {
      assert.throws(() => parseStorableJson(Buffer.from("{bad"), JSON.parse), SyntaxError);
    });

    it("returns the parsed value when everything can be stored", () => {
      assert.deepEqual(parseStorableJson(Buffer.from('{"a":"🦊"}'), JSON.parse), { a: "🦊" });
    });
  });
});
