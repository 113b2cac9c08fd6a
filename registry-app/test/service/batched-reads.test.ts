import assert from "node:assert/strict";
import { BatchedReads } from "../../src/service/batched-reads";

/** A read function whose statements the test completes by hand. */
function manualReads() {
  const statements: Array<{ ids: readonly string[]; done: () => void; fail: (error: Error) => void }> = [];
  const read = (ids: readonly string[]) =>
    new Promise<ReadonlyMap<string, string>>((resolve, reject) => {
      statements.push({
        ids,
        done: () => resolve(new Map(ids.filter((id) => id !== "gone").map((id) => [id, `row ${id}`]))),
        fail: reject,
      });
    });
  return { statements, read };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe("service: reads by id shared by concurrent requests", function () {
  it("sends a request at once while statements are free, and the ones arriving meanwhile together", async () => {
    const { statements, read } = manualReads();
    const reads = new BatchedReads(read, 2, 100);
    const first = reads.get(["1", "2"]);
    const second = reads.get(["3"]);
    const waiting = [reads.get(["4", "5"]), reads.get(["5", "6"]), reads.get(["7", "gone"])];
    assert.deepEqual(
      statements.map((s) => s.ids),
      [["1", "2"], ["3"]],
      "two in flight, three waiting",
    );
    statements[1]?.done();
    await settle();
    assert.deepEqual(statements[2]?.ids, ["4", "5", "6", "7", "gone"], "one statement, each id once");
    statements[0]?.done();
    statements[2]?.done();
    assert.deepEqual([...(await first).keys()], ["1", "2"]);
    assert.equal((await second).get("3"), "row 3");
    const [a, b, c] = await Promise.all(waiting);
    assert.equal(a?.get("4"), "row 4");
    assert.equal(b?.get("6"), "row 6");
    assert.equal(c?.get("gone"), undefined, "an id that no longer exists is simply absent");
  });

  it("fails the requests a statement carried, and only those", async () => {
    const { statements, read } = manualReads();
    const reads = new BatchedReads(read, 1, 100);
    const first = reads.get(["1"]);
    const carried = [reads.get(["2"]), reads.get(["3"])];
    statements[0]?.done();
    await first;
    await settle();
    const later = reads.get(["4"]);
    statements[1]?.fail(new Error("connection terminated"));
    for (const request of carried) await assert.rejects(request, /connection terminated/);
    await settle();
    assert.deepEqual(statements[2]?.ids, ["4"], "the next request gets a statement of its own");
    statements[2]?.done();
    assert.equal((await later).get("4"), "row 4");
  });

  it("keeps a statement within maxKeys; a larger request goes alone", async () => {
    const { statements, read } = manualReads();
    const reads = new BatchedReads(read, 1, 4);
    const requests = [
      reads.get(["0"]),
      reads.get(["1", "2"]),
      reads.get(["3", "4"]),
      reads.get(["5", "6", "7", "8", "9"]),
    ];
    statements[0]?.done();
    await settle();
    assert.deepEqual(statements[1]?.ids, ["1", "2", "3", "4"]);
    statements[1]?.done();
    await settle();
    assert.deepEqual(statements[2]?.ids, ["5", "6", "7", "8", "9"]);
    statements[2]?.done();
    assert.equal((await Promise.all(requests)).length, 4);
  });
});
