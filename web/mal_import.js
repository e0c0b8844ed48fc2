// Importing a list from MyAnimeList: its own export ("Export my list" on
// myanimelist.net: animelist_<...>.xml.gz) and pasted titles or MAL links.
//
// Reading the file (gzip, XML) needs a browser; what the entries become is plain
// JavaScript (mapMalEntries, parsePastedLines), so tests/web/mal_import_test.js runs it
// in Node. app.js asks the catalogue about the ids, previews and applies.
"use strict";

const MalImport = (() => {
  // MAL writes a status's name; some tools write its number (there is no 5).
  const STATUSES = {
    "watching": "watching", "1": "watching",
    "completed": "completed", "2": "completed",
    "on-hold": "on_hold", "3": "on_hold",
    "dropped": "dropped", "4": "dropped",
    "plan to watch": "planned", "6": "planned",
  };
  const MAX_TITLE = 300;     // as app.js's MAX_TEXT: a longer title is cut
  const MAX_PASTED = 200;    // lines looked up at once
  const MAX_ID = 2 ** 31 - 1;  // MAL ids are 32-bit

  // The default rule, said in the preview too (RULES). The score is MAL's 1-10, 0 for
  // unscored. Finishing or watching an anime without scoring it is taken as liking it;
  // a middling 5-6 says neither. On hold says nothing without a clear score. Dropping
  // says dislike, unless the score says otherwise (then we cannot tell). Planned
  // anime were not watched.
  //   Completed, Watching: 0 or 7-10 like, 5-6 left out ("lukewarm"), 1-4 dislike
  //   On-Hold:             7-10 like, 1-4 dislike, 0 or 5-6 left out ("on_hold")
  //   Dropped:             0-6 dislike, 7-10 left out ("dropped_scored")
  //   Plan to Watch:       left out ("planned")
  // Returns { verdict: "like" | "dislike" } or { reason }.
  function malVerdict(status, score) {
    const high = score >= 7, low = score >= 1 && score <= 4;
    switch (status) {
      case "completed":
      case "watching":
        return score === 0 || high ? { verdict: "like" } : low ? { verdict: "dislike" } : { reason: "lukewarm" };
      case "on_hold":
        return high ? { verdict: "like" } : low ? { verdict: "dislike" } : { reason: "on_hold" };
      case "dropped":
        return high ? { reason: "dropped_scored" } : { verdict: "dislike" };
      default:
        return { reason: "planned" };
    }
  }

  const RULES = "Completed or watching: liked when scored 7\u201310 or not scored, disliked when scored 1\u20134, " +
    "left out when scored 5\u20136. On hold: liked when scored 7\u201310, disliked when scored 1\u20134, otherwise " +
    "left out. Dropped: disliked, unless scored 7\u201310 (then left out). Plan to watch: left out.";

  // A positive whole number from MAL's text, or 0.
  function parseId(text) {
    const s = String(text === undefined || text === null ? "" : text).trim();
    if (!/^\d{1,10}$/.test(s)) return 0;
    const id = Number(s);
    return id > 0 && id <= MAX_ID ? id : 0;
  }

  // What MAL's entries (the strings of series_animedb_id, series_title, my_status and
  // my_score) become. An entry that cannot be read is counted as malformed and named;
  // an id listed twice keeps its first entry. Returns
  //   { total, items: [{id, title, verdict}], left: {planned, lukewarm, on_hold,
  //     dropped_scored}, malformed: ["entry 3 (\u201cTitle\u201d): ...", ...] }
  function mapMalEntries(entries) {
    const out = { total: entries.length, items: [], left: { planned: 0, lukewarm: 0, on_hold: 0, dropped_scored: 0 },
      malformed: [] };
    const seen = new Set();
    entries.forEach((e, i) => {
      const title = String(e.title || "").trim().slice(0, MAX_TITLE);
      const bad = (problem) => out.malformed.push(`entry ${i + 1}${title ? ` (\u201c${title}\u201d)` : ""}: ${problem}`);
      const id = parseId(e.id);
      if (!id) return bad(`the anime id \u201c${String(e.id || "").trim()}\u201d is not a positive whole number`);
      const status = STATUSES[String(e.status || "").trim().toLowerCase()];
      if (!status) return bad(`the status \u201c${String(e.status || "").trim()}\u201d is not one of MyAnimeList's`);
      const scoreText = String(e.score === undefined || e.score === null ? "0" : e.score).trim() || "0";
      const score = /^\d{1,2}$/.test(scoreText) ? Number(scoreText) : -1;
      if (score < 0 || score > 10) return bad(`the score \u201c${scoreText}\u201d is not 0 to 10`);
      if (seen.has(id)) return bad(`anime ${id} is listed twice`);
      seen.add(id);
      const v = malVerdict(status, score);
      if (v.reason) out.left[v.reason]++;
      else out.items.push({ id, title: title || `Anime ${id}`, verdict: v.verdict });
    });
    return out;
  }

  // The entries of a MAL export's XML text, for mapMalEntries. Throws an Error that says
  // what is wrong and what to do: not XML, not a MAL export, a manga list, no anime.
  function parseMalXml(text) {
    const doc = new DOMParser().parseFromString(text.replace(/^[\s\uFEFF]+/, ""), "application/xml");
    const error = doc.getElementsByTagName("parsererror")[0];
    if (error) {
      // Chromium's message is in a <div>: "error on line 5 at column 30: ..."
      const detail = (error.querySelector("div") || error).textContent.trim().split("\n")[0];
      throw new Error(`The file is not well-formed XML (${detail}). Export your list from MyAnimeList again ` +
        "and import the downloaded file as it is.");
    }
    const root = doc.documentElement;
    if (root.localName !== "myanimelist") {
      throw new Error(`The XML file is not a MyAnimeList export (it starts with <${root.localName}>, ` +
        "not <myanimelist>). On myanimelist.net use \u201cExport my list\u201d and import its .xml.gz file.");
    }
    const entries = [];
    let manga = 0, type = "";
    for (const el of root.children) {
      if (el.localName === "anime") entries.push(entryOf(el));
      else if (el.localName === "manga") manga++;
      else if (el.localName === "myinfo") {
        const t = el.getElementsByTagName("user_export_type")[0];
        type = t ? t.textContent.trim() : "";
      }
    }
    if (type === "2" || (manga && !entries.length)) {
      throw new Error("This is a MyAnimeList manga list. Export your anime list instead " +
        "(\u201cExport my list\u201d, list type: anime) and import that file.");
    }
    if (!entries.length) {
      throw new Error("The export lists no anime. Check that your anime list on MyAnimeList is not empty, " +
        "export it again and import the new file.");
    }
    return entries;
  }

  // One <anime>'s four fields, by a walk over its children (no selector per field: an
  // export can have thousands of entries).
  function entryOf(el) {
    const e = {};
    for (const c of el.children) {
      switch (c.localName) {
        case "series_animedb_id": e.id = c.textContent; break;
        case "series_title": e.title = c.textContent; break;
        case "my_status": e.status = c.textContent; break;
        case "my_score": e.score = c.textContent; break;
        default: break;
      }
    }
    return e;
  }

  // The text of a picked file, unpacked when it is gzipped (told by its first two bytes,
  // 1f 8b, not by its name: browsers sometimes unpack downloads and keep the .gz).
  async function readListFile(file) {
    const head = new Uint8Array(await file.slice(0, 2).arrayBuffer());
    if (head.length < 2 || head[0] !== 0x1f || head[1] !== 0x8b) return file.text();
    if (typeof DecompressionStream === "undefined") {
      throw new Error("This browser cannot unpack .gz files. Unpack it first (double-click it, or gunzip) " +
        "and import the .xml file inside.");
    }
    try {
      return await new Response(file.stream().pipeThrough(new DecompressionStream("gzip"))).text();
    } catch (e) {
      throw new Error("The .gz file is damaged or incomplete and cannot be unpacked. Download the export " +
        "from MyAnimeList again and import the new file.");
    }
  }

  // True when `text` is XML (a MAL export), false when it may be this site's JSON.
  function looksLikeXml(text) {
    return /^[\s\uFEFF]*</.test(text);
  }

  // A MAL anime link anywhere in a line: https://myanimelist.net/anime/5114/Slug, without
  // the scheme or with www., or the older anime.php?id=5114.
  const LINK = /(?:^|[\s(<])(?:https?:\/\/)?(?:www\.)?myanimelist\.net\/anime(?:\/|\.php\?id=)(\d+)(?:\/([^\s/?#)>]*))?/i;

  // Pasted text, one anime a line. Returns { links: [{line, id, title}], titles: [line] }:
  // a line with a MAL link gives its id (and a title from the link's slug, until the
  // catalogue says better); any other non-empty line is a title to look up. Repeated
  // lines count once. Throws when there are more than MAX_PASTED lines.
  function parsePastedLines(text) {
    const lines = [...new Set(String(text).split(/\r?\n/).map((l) => l.trim()).filter(Boolean))];
    if (lines.length > MAX_PASTED) {
      throw new Error(`You pasted ${lines.length} lines; at most ${MAX_PASTED} are looked up at once. ` +
        `Paste the first ${MAX_PASTED}, add them to your list, then paste the rest.`);
    }
    const links = [], titles = [];
    for (const line of lines) {
      const m = line.match(LINK);
      const id = m ? parseId(m[1]) : 0;
      if (id) links.push({ line, id, title: slugTitle(m[2]) || `Anime ${id}` });
      else titles.push(line);
    }
    return { links, titles };
  }

  // "Fullmetal_Alchemist__Brotherhood" -> "Fullmetal Alchemist Brotherhood".
  function slugTitle(slug) {
    let s = "";
    try { s = decodeURIComponent(slug || ""); } catch (e) { s = slug || ""; }
    return s.replace(/_+/g, " ").trim().slice(0, MAX_TITLE);
  }

  return { malVerdict, mapMalEntries, parseMalXml, readListFile, looksLikeXml, parsePastedLines, RULES,
    MAX_PASTED };
})();

if (typeof module !== "undefined") module.exports = MalImport;
