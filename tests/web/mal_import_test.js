// web/mal_import.js's pure parts in Node: what MyAnimeList's entries become (the
// default like / dislike / left-out rule) and what pasted lines give. Plain node and
// assert, no packages; the browser half (gzip, DOMParser, the preview) is checked by
// browser_test.js.
//
//   node tests/web/mal_import_test.js
"use strict";

const assert = require("assert");
const fs = require("fs");
const path = require("path");
const MalImport = require("../../web/mal_import.js");

let passed = 0;
function test(name, fn) {
  try {
    fn();
    passed++;
    console.log(`ok    ${name}`);
  } catch (e) {
    console.log(`FAIL  ${name}\n${e.stack}`);
    process.exitCode = 1;
  }
}

// The fixture's entries, as parseMalXml reads them in the browser. A regex is enough
// for this one known file (no DOMParser in Node).
function fixtureEntries(file) {
  const xml = fs.readFileSync(path.join(__dirname, "fixtures", file), "utf8");
  const field = (block, tag) => {
    const m = block.match(new RegExp(`<${tag}>(?:<!\\[CDATA\\[([\\s\\S]*?)\\]\\]>|([^<]*))</${tag}>`));
    return m ? (m[1] !== undefined ? m[1] : m[2]) : undefined;
  };
  return [...xml.matchAll(/<anime>([\s\S]*?)<\/anime>/g)].map(([, b]) => ({
    id: field(b, "series_animedb_id"), title: field(b, "series_title"),
    status: field(b, "my_status"), score: field(b, "my_score"),
  }));
}

test("the rule, for every status and score", () => {
  const table = {
    // score:      0          1-4        5-6         7-10
    completed: ["like", "dislike", "lukewarm", "like"],
    watching: ["like", "dislike", "lukewarm", "like"],
    on_hold: ["on_hold", "dislike", "on_hold", "like"],
    dropped: ["dislike", "dislike", "dislike", "dropped_scored"],
    planned: ["planned", "planned", "planned", "planned"],
  };
  for (const [status, row] of Object.entries(table)) {
    for (let score = 0; score <= 10; score++) {
      const want = row[score === 0 ? 0 : score <= 4 ? 1 : score <= 6 ? 2 : 3];
      const got = MalImport.malVerdict(status, score);
      assert.strictEqual(got.verdict || got.reason, want, `${status} scored ${score}`);
    }
  }
});

// Hand-counted from tests/web/fixtures/mal_export.xml (24 entries):
//   like (10):    5114 C10, 1 C9, 21 W0, 1535 C0, 9253 C8, 37435 W7, 813 H8, 20583 "2"7,
//                 99999999 C9, 121 "1"0
//   dislike (6):  9756 C3, 269 H2, 16498 D0, 30 D4, 88888888 "4"1, 6 C1
//   left out:     planned 52991 P0, 199 "6"0; lukewarm 20 C6, 34104 W5;
//                 on hold 527 H0, 918 H5; dropped but scored 11061 D8
//   malformed:    entry 21, no id
test("the fixture export: counts by hand", () => {
  const entries = fixtureEntries("mal_export.xml");
  assert.strictEqual(entries.length, 24);
  const r = MalImport.mapMalEntries(entries);
  assert.strictEqual(r.total, 24);
  const likes = r.items.filter((x) => x.verdict === "like").map((x) => x.id);
  const dislikes = r.items.filter((x) => x.verdict === "dislike").map((x) => x.id);
  assert.deepStrictEqual(likes, [5114, 1, 21, 1535, 9253, 37435, 813, 20583, 99999999, 121]);
  assert.deepStrictEqual(dislikes, [9756, 269, 16498, 30, 88888888, 6]);
  assert.deepStrictEqual(r.left, { planned: 2, lukewarm: 2, on_hold: 2, dropped_scored: 1 });
  assert.strictEqual(r.malformed.length, 1);
  assert.match(r.malformed[0], /^entry 21 \(\u201cEntry Without An Id\u201d\): the anime id/);
  // CDATA titles arrive as written: '&', '<', non-ASCII.
  const title = (id) => r.items.find((x) => x.id === id).title;
  assert.strictEqual(title(37435), "Carole & Tuesday");
  assert.strictEqual(title(9756), "Mahou Shoujo Madoka\u2605Magica");
  assert.strictEqual(title(88888888), "Kakuu no Anime <Gaiden>");
});

test("the gzipped fixture is the same file", () => {
  const zlib = require("zlib");
  const gz = fs.readFileSync(path.join(__dirname, "fixtures", "mal_export.xml.gz"));
  assert.deepStrictEqual([gz[0], gz[1]], [0x1f, 0x8b]);
  assert.strictEqual(zlib.gunzipSync(gz).toString("utf8"),
    fs.readFileSync(path.join(__dirname, "fixtures", "mal_export.xml"), "utf8"));
});

test("statuses by name or number, any case and spacing; scores as MAL writes them", () => {
  const r = MalImport.mapMalEntries([
    { id: "1", status: " completed ", score: "9" },
    { id: "2", status: "PLAN TO WATCH", score: "0" },
    { id: "3", status: "3", score: " 8 " },
    { id: " 4 ", status: "Dropped" },  // no <my_score>: unscored
    { id: "5", status: "Watching", score: "" },
  ]);
  assert.deepStrictEqual(r.items.map((x) => [x.id, x.verdict]), [[1, "like"], [3, "like"], [4, "dislike"], [5, "like"]]);
  assert.strictEqual(r.items[0].title, "Anime 1");  // no title: named by its id
  assert.strictEqual(r.left.planned, 1);
  assert.deepStrictEqual(r.malformed, []);
});

test("malformed entries are named, counted, and taken no further", () => {
  const r = MalImport.mapMalEntries([
    { id: "", title: "No id", status: "Completed", score: "9" },
    { id: "-5", status: "Completed", score: "9" },
    { id: "1e3", status: "Completed", score: "9" },
    { id: "99999999999", status: "Completed", score: "9" },
    { id: "7", title: "Odd", status: "Rewatching", score: "9" },
    { id: "8", status: "Completed", score: "11" },
    { id: "9", status: "Completed", score: "7.5" },
    { id: "10", title: "First", status: "Completed", score: "9" },
    { id: "10", title: "Again", status: "Dropped", score: "1" },
  ]);
  assert.deepStrictEqual(r.items.map((x) => x.id), [10]);
  assert.strictEqual(r.items[0].verdict, "like");  // the first of a repeated id
  assert.strictEqual(r.malformed.length, 8);
  assert.match(r.malformed[0], /^entry 1 \(\u201cNo id\u201d\): the anime id \u201c\u201d/);
  assert.match(r.malformed[4], /^entry 5 \(\u201cOdd\u201d\): the status \u201cRewatching\u201d is not one of/);
  assert.match(r.malformed[5], /^entry 6: the score \u201c11\u201d is not 0 to 10/);
  assert.match(r.malformed[7], /^entry 9 \(\u201cAgain\u201d\): anime 10 is listed twice/);
});

test("pasted lines: MAL links in every spelling, titles, repeats", () => {
  const { links, titles } = MalImport.parsePastedLines([
    "https://myanimelist.net/anime/5114/Fullmetal_Alchemist__Brotherhood",
    "  myanimelist.net/anime/1  ",
    "",
    "www.myanimelist.net/anime/20/Naruto?q=x",
    "http://www.MyAnimeList.net/anime.php?id=21",
    "Naruto - https://myanimelist.net/anime/20",
    "https://myanimelist.net/manga/2/Berserk",
    "Cowboy Bebop",
    "Cowboy Bebop",
    "k-on!\r",
  ].join("\n"));
  assert.deepStrictEqual(links.map((x) => [x.id, x.title]), [[5114, "Fullmetal Alchemist Brotherhood"],
    [1, "Anime 1"], [20, "Naruto"], [21, "Anime 21"], [20, "Anime 20"]]);
  assert.deepStrictEqual(titles, ["https://myanimelist.net/manga/2/Berserk", "Cowboy Bebop", "k-on!"]);
});

test("at most 200 pasted lines", () => {
  const lines = (n) => Array.from({ length: n }, (_, i) => `title ${i}`).join("\n");
  assert.strictEqual(MalImport.parsePastedLines(lines(200)).titles.length, 200);
  assert.throws(() => MalImport.parsePastedLines(lines(201)), /You pasted 201 lines; at most 200/);
});

test("XML or not, by content", () => {
  assert.ok(MalImport.looksLikeXml("\uFEFF  <?xml version=\"1.0\"?><myanimelist/>"));
  assert.ok(!MalImport.looksLikeXml('{"version": 1, "items": []}'));
});

test("the rule's text in the preview names every status", () => {
  for (const word of ["Completed", "On hold", "Dropped", "Plan to watch", "7\u201310", "1\u20134", "5\u20136"]) {
    assert.ok(MalImport.RULES.includes(word), word);
  }
});

console.log(process.exitCode ? "mal_import: some tests failed" : `mal_import: all ${passed} tests passed`);
