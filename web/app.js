// simsearch website: plain JavaScript, no build step. Views are addressed by the URL's
// hash so every view has a deep link that works on any static host:
//   #/                              home: this season's anime and the top rated, as covers
//   #/search?q=TEXT&type=&genre=    titles matching TEXT, and stories like it
//   #/anime/ID?type=&genre=         an anime and its neighbours in every collection
//   #/season                        this season (or the latest one with anime)
//   #/season/YEAR/SEASON?sort=      a season's anime (winter, spring, summer, fall), by
//                                   popularity, score or date
//   #/top?genre=&type=&min_year=&max_year=&rating=&sort=   the best rated (or most popular, or
//                                   newest) anime, filtered
//   #/list?recommend=1&type=&genre= the visitor's watch list, and recommendations for it
// The watch list lives in localStorage. Every request goes through api(), which turns
// network failures, timeouts and API errors into one message with a retry.
"use strict";

const CONFIG = Object.assign({ apiBase: "", timeoutMs: 15000 }, window.SIMSEARCH_CONFIG || {});

// The lists an anime page shows, side by side.
const LISTS = [
  { collection: "ncf", title: "Viewers also watched",
    missing: "No viewing data for this anime: nobody in our users' lists watched it." },
  { collection: "synopsis", title: "A story like this", missing: "We have no synopsis for this anime." },
  { collection: "genres", title: "Same genres", missing: "This anime has no genres in our catalogue." },
];
// MAL's seasons in order, by start month: winter January-March, spring April-June,
// summer July-September, fall October-December.
const SEASONS = ["winter", "spring", "summer", "fall"];
// MAL's age ratings: the badge, and what it means (read out, and shown on hover).
const AGE_RATINGS = {
  g: ["G", "All ages"], pg: ["PG", "Children"], pg_13: ["PG-13", "Teens 13 or older"],
  r: ["R-17+", "17 or older: violence and profanity"], "r+": ["R+", "Mild nudity"], rx: ["Rx", "Hentai"],
};
// Genres of adult titles only: the API always leaves those titles out (the site never
// asks for include_adult), so a menu offering them would only ever find nothing.
const ADULT_GENRES = ["Hentai", "Erotica"];
const TINTS = 8;           // placeholder cover colours: .tint-0 .. .tint-7 in style.css
const GRID_PAGE = 24;      // anime per page of a cover grid: whole rows of 2, 3, 4 or 6
const SHELF = 12;          // anime in a home page row
// MAL's mean score of an anime few people rated says little (a 10.0 from three votes):
// lists by score leave out anime with fewer members than this (GET /browse's min_members,
// so the API's pages and total already leave them out).
const TOP_MIN_MEMBERS = 5000;
const LIST_KEY = "simsearch.watchlist.v1";
const SAFE_KEY = "simsearch.familySafe";  // "1": every list is family safe (no R+, nsfw, Yaoi, Yuri)
let importNotice = "";  // what the last import did, shown once on the list page

// ---------------------------------------------------------------- small DOM helpers

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") el.className = v;
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

function announce(text) {
  const el = document.getElementById("announce");
  el.textContent = "";
  setTimeout(() => { el.textContent = text; }, 50);
}

function displayTitle(item) {
  return item.english_title && item.english_title !== item.title ? item.english_title : item.title;
}

function capitalize(text) {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function plural(n, one, many) {
  return `${n} ${n === 1 ? one : many}`;
}

// ---------------------------------------------------------------- seasons and dates

// The season `date` falls in: { year, season }.
function seasonOf(date) {
  return { year: date.getFullYear(), season: SEASONS[Math.floor(date.getMonth() / 3)] };
}

// The season `by` seasons after `s` (before it when negative).
function shiftSeason(s, by) {
  const n = s.year * 4 + SEASONS.indexOf(s.season) + by;
  return { year: Math.floor(n / 4), season: SEASONS[((n % 4) + 4) % 4] };
}

function seasonName(s) {
  return `${capitalize(s.season)} ${s.year}`;
}

function seasonHref(s) {
  return `#/season/${s.year}/${s.season}`;
}

// The season an anime started in ("Fall 2023"), its year alone, or null.
function itemSeason(item) {
  if (item.season && item.start_year) return { year: item.start_year, season: item.season };
  return null;
}

// "3 April 1998", "April 1998" or "1998": as much of a start date as MAL knows.
function formatDate(date) {
  const [y, m, d] = String(date || "").split("-").map(Number);
  if (!y) return "";
  if (!m) return String(y);
  return new Date(Date.UTC(y, m - 1, d || 1)).toLocaleDateString("en-GB",
    { timeZone: "UTC", year: "numeric", month: "long", day: d ? "numeric" : undefined });
}

// ---------------------------------------------------------------- the API

class ApiError extends Error {
  constructor(status, message, body) {
    super(message);
    this.status = status;  // 0: no answer (network, timeout)
    this.body = body || {};  // the JSON error: {error, status, reason, field, ...}
  }
}

// An answer's ranked list ("hits") and a title lookup's ("matches"); an API deployed
// before 2026-12-08 names both "results" (the site may be hosted apart from it).
const hitsOf = (data) => data.hits ?? data.results;
const matchesOf = (data) => data.matches ?? data.results;

async function api(path, { method = "GET", body, signal } = {}) {
  const ctrl = new AbortController();
  const timer = setTimeout(() => ctrl.abort("timeout"), CONFIG.timeoutMs);
  if (signal) signal.addEventListener("abort", () => ctrl.abort("superseded"));
  let res;
  try {
    res = await fetch(CONFIG.apiBase + path, {
      method,
      headers: body ? { "Content-Type": "application/json" } : {},
      body: body ? JSON.stringify(body) : undefined,
      signal: ctrl.signal,
    });
  } catch (e) {
    if (signal && signal.aborted) throw new ApiError(-1, "superseded");
    throw new ApiError(0, ctrl.signal.aborted
      ? `It did not answer within ${Math.round(CONFIG.timeoutMs / 1000)} seconds.`
      : "It cannot be reached: it may be restarting, or your connection is down.");
  } finally {
    clearTimeout(timer);
  }
  let data = null;
  try { data = await res.json(); } catch (e) { data = null; }
  if (!res.ok) {
    const message = data && data.error ? data.error : `The recommendation service answered ${res.status}.`;
    throw new ApiError(res.status, message, data);
  }
  return data;
}

// GET /collections, asked once per page load (a failed answer is asked again next time).
let collectionsAnswer = null;
function collections() {
  if (!collectionsAnswer) {
    collectionsAnswer = api("/collections").then((data) => data.collections || []);
    collectionsAnswer.catch(() => { collectionsAnswer = null; });
  }
  return collectionsAnswer;
}

// The genres or the types (`key`) any served collection knows, sorted: the filter menus.
async function menuValues(key) {
  const all = new Set();
  for (const c of await collections()) for (const v of c[key] || []) all.add(v);
  for (const g of ADULT_GENRES) all.delete(g);
  return [...all].sort((a, b) => a.localeCompare(b, "en"));
}

// The API leaves adult titles out by default; family safe leaves out mature ones too.
let safeChoice = null;  // the choice made on this page (kept even where storage refuses it)
function familySafe() {
  if (safeChoice !== null) return safeChoice;
  try { return localStorage.getItem(SAFE_KEY) === "1"; } catch (e) { return false; }
}

function policyQuery() {
  return familySafe() ? "&family_safe=true" : "";
}

function filterBody(f) {
  const b = {};
  if (familySafe()) b.family_safe = true;
  if (f.type) b.types = [f.type];
  if (f.genre) b.genres = [f.genre];
  return b;
}

function filterQuery(f) {
  const p = new URLSearchParams();
  if (familySafe()) p.set("family_safe", "true");
  if (f.type) p.set("types", f.type);
  if (f.genre) p.set("genres", f.genre);
  return p.toString();
}

// ---------------------------------------------------------------- the watch list

const WatchList = {
  read() {
    try {
      const data = JSON.parse(localStorage.getItem(LIST_KEY) || "null");
      return data && Array.isArray(data.items) ? data.items : [];
    } catch (e) {
      return [];
    }
  },
  write(items) {
    localStorage.setItem(LIST_KEY, JSON.stringify({ version: 1, items }));
    updateListCount();
  },
  verdict(id) {
    const it = this.read().find((x) => x.id === id);
    return it ? it.verdict : null;
  },
  set(item, verdict) {
    const items = this.read().filter((x) => x.id !== item.id);
    if (verdict) {
      items.push({ id: item.id, title: item.title, english_title: item.english_title || "", type: item.type || "",
        verdict });
    }
    this.write(items);
  },
  // Accepts what export() wrote. An entry that is not a valid anime is skipped and
  // named; a file with no valid entry is an error and changes nothing. Returns
  // { imported, skipped: ["entry 3: ...", ...] }.
  import(text) {
    let data;
    try { data = JSON.parse(text); } catch (e) {
      throw new Error("The file is neither a list exported here (.json) nor a MyAnimeList export (.xml or .xml.gz).");
    }
    const items = Array.isArray(data) ? data : isPlainObject(data) ? data.items : undefined;
    if (!Array.isArray(items)) throw new Error("The file has no list of anime (\"items\").");
    const out = [], skipped = [], seen = new Set();
    items.forEach((x, i) => {
      const problem = importProblem(x, seen, out.length);
      if (problem) {
        skipped.push(`entry ${i + 1}: ${problem}`);
        return;
      }
      seen.add(x.id);
      out.push({ id: x.id, title: x.title || `Anime ${x.id}`, english_title: x.english_title || "",
        type: x.type || "", verdict: x.verdict });
    });
    if (!out.length) {
      throw new Error(`No entry could be imported${skipped.length ? ` (${summarize(skipped)})` : " (the list is empty)"}.`);
    }
    this.write(out);
    return { imported: out.length, skipped };
  },
};

const MAX_LIST = 5000, MAX_TEXT = 300;

function isPlainObject(x) {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

// Why entry `x` of an imported file cannot be taken, or "" when it can.
function importProblem(x, seen, taken) {
  if (!isPlainObject(x)) return "not an object";
  if (!Number.isSafeInteger(x.id) || x.id <= 0) return "\"id\" must be a positive whole number";
  if (x.verdict !== "like" && x.verdict !== "dislike") return "\"verdict\" must be \"like\" or \"dislike\"";
  for (const key of ["title", "english_title", "type"]) {
    const v = x[key];
    if (v === undefined || v === null) continue;
    if (typeof v !== "string") return `"${key}" must be text`;
    if (v.length > MAX_TEXT) return `"${key}" is longer than ${MAX_TEXT} characters`;
  }
  if (seen.has(x.id)) return `id ${x.id} is listed twice`;
  if (taken >= MAX_LIST) return `a list holds at most ${MAX_LIST} anime`;
  return "";
}

// The first few problems, and how many more.
function summarize(problems) {
  const shown = problems.slice(0, 3).join("; ");
  return problems.length > 3 ? `${shown}; and ${problems.length - 3} more` : shown;
}

function updateListCount() {
  document.getElementById("list-count").textContent = String(WatchList.read().length);
}

// Like / dislike toggles for one anime; they update in place.
function verdictButtons(item) {
  const wrap = h("span", { class: "verdict", role: "group", "aria-label": `Your verdict on ${displayTitle(item)}` });
  const render = () => {
    const v = WatchList.verdict(item.id);
    wrap.replaceChildren(
      h("button", { type: "button", class: "like", "aria-pressed": v === "like" ? "true" : "false",
        title: "Add to my list as liked", onclick: () => toggle("like") }, "Like"),
      h("button", { type: "button", class: "dislike", "aria-pressed": v === "dislike" ? "true" : "false",
        title: "Add to my list as disliked", onclick: () => toggle("dislike") }, "Dislike"));
  };
  const toggle = (verdict) => {
    const now = WatchList.verdict(item.id) === verdict ? null : verdict;
    WatchList.set(item, now);
    render();
    announce(now ? `${displayTitle(item)} ${now}d` : `${displayTitle(item)} removed from your list`);
  };
  render();
  return wrap;
}

// ---------------------------------------------------------------- cards

// Up to two letters for a cover placeholder: the initials of the title's capitalised
// words but a leading article ("Sousou no Frieren": SF, "The Eminence in Shadow": ES),
// else its first words'.
function initials(title) {
  const words = String(title || "?").match(/[\p{L}\p{N}]+/gu) || ["?"];
  const main = words.filter((w, i) => /^[\p{Lu}\p{N}]/u.test(w) && !(i === 0 && words.length > 1 && /^(the|a|an)$/i.test(w)));
  return (main.length ? main : words).slice(0, 2).map((w) => [...w][0]).join("").toUpperCase();
}

// An anime's cover in a box of a cover's shape (style.css), so nothing moves when it
// loads. The box is its own placeholder, the title's initials on a colour picked by the
// id: it shows while the image loads, and stays when there is none or it fails.
function cover(item, { large = false } = {}) {
  const box = h("div", { class: `cover tint-${item.id % TINTS}${large ? " large" : ""}` },
    h("span", { class: "initials", "aria-hidden": "true" }, initials(displayTitle(item))));
  if (/^https:\/\//.test(item.image_url || "")) {
    const img = h("img", { alt: `Cover of ${displayTitle(item)}`, width: 225, height: 318,
      loading: large ? "eager" : "lazy", decoding: "async",
      onload: () => img.classList.add("loaded"), onerror: () => img.remove() });
    img.src = item.image_url;  // set after the listeners, which must see a quick failure
    box.append(img);
  }
  return box;
}

// "★ 8.75", read out as "MAL score 8.75". A search hit's `score` is its similarity, not this.
function scoreBadge(item) {
  if (!(item.mal_score > 0)) return null;
  return h("span", { class: "score" }, h("span", { class: "star", "aria-hidden": "true" }, "\u2605"), " ",
    h("span", { class: "visually-hidden" }, "MAL score "), item.mal_score.toFixed(2));
}

// The age rating as a badge ("PG-13"), read out as "Rated PG-13", its meaning on hover.
function ageBadge(item) {
  const rating = AGE_RATINGS[item.age_rating];
  if (!rating) return null;
  const tone = ["g", "pg"].includes(item.age_rating) ? "all" : item.age_rating === "pg_13" ? "teen" : "mature";
  return h("span", { class: `age age-${tone}`, title: rating[1] }, h("span", { class: "visually-hidden" }, "Rated "), rating[0]);
}

// "TV · 12 ep" (episodes when MAL knows them and there is more than a film's one).
function kindText(item) {
  const episodes = item.episodes > 0 && !(item.type === "Movie" && item.episodes === 1) ? `${item.episodes} ep` : null;
  return [item.type, episodes].filter(Boolean).join(" \u00b7 ");
}

// "Because you liked K-On! and Hibike! Euphonium": the liked anime that weigh most in a
// recommendation (POST /recommend's `because`, largest share first), each a link.
function becauseLine(item) {
  const liked = (item.because || []).filter((x) => x && Number.isSafeInteger(x.id));
  if (!liked.length) return null;
  const parts = [];
  liked.forEach((x, i) => {
    if (i) parts.push(i === liked.length - 1 ? " and " : ", ");
    parts.push(h("a", { href: `#/anime/${x.id}`, title: x.share > 0 ? `${Math.round(x.share * 100)}% of this recommendation` : null },
      displayTitle(x) || `#${x.id}`));
  });
  return h("p", { class: "because" }, "Because you liked ", parts);
}

// One anime as a card: cover, titles, facts (MAL score, season, type and episodes, age
// rating), why it is recommended, and the like and dislike buttons (or `actions`). The
// title's link stretches over the card (style.css), so the cover opens the anime too.
function card(item, { actions, extra } = {}) {
  const season = itemSeason(item);
  return h("li", { class: "hit card" },
    cover(item),
    h("div", { class: "card-body" },
      h("a", { href: `#/anime/${item.id}`, class: "hit-title" }, displayTitle(item)),
      item.english_title && item.english_title !== item.title ? h("span", { class: "alt" }, item.title) : null,
      h("p", { class: "card-facts" },
        scoreBadge(item), " ",
        season ? h("span", { class: "season" }, seasonName(season)) : item.start_year ? h("span", { class: "season" }, item.start_year) : null,
        " ", kindText(item) ? h("span", { class: "kind" }, kindText(item)) : null, " ",
        ageBadge(item)),
      item.genres && item.genres.length ? h("p", { class: "genres" }, item.genres.slice(0, 3).join(", ")) : null,
      becauseLine(item),
      actions || verdictButtons(item),
      extra));
}

// Results of one franchise (seasons, films, OVAs) after its best-ranked entry fold under
// that entry: [{ item, others }], in the order of the first entries.
function groupFranchises(results) {
  const groups = [], byFranchise = new Map();
  for (const r of results) {
    const group = r.franchise_id ? byFranchise.get(r.franchise_id) : null;
    if (group) {
      group.others.push(r);
      continue;
    }
    const fresh = { item: r, others: [] };
    groups.push(fresh);
    if (r.franchise_id) byFranchise.set(r.franchise_id, fresh);
  }
  return groups;
}

// The cards of `results`; with `group`, an entry of a franchise already listed goes into
// "and N more in the franchise" under the first one.
function cards(results, { group = false } = {}) {
  if (!group) return results.map((r) => card(r));
  return groupFranchises(results).map(({ item, others }) => card(item, { extra: others.length
    ? h("details", { class: "franchise-more" },
      h("summary", {}, `and ${others.length} more in the franchise`,
        h("span", { class: "visually-hidden" }, ` of ${displayTitle(item)}`)),
      h("ol", { class: "hits", "aria-label": `More of the franchise of ${displayTitle(item)}` }, others.map((r) => card(r))))
    : null }));
}

// A list of anime: rows of cards with small covers, or with layout "grid" a grid of covers.
// With `ranked`, the grid's covers are numbered (style.css).
function hitsList(results, { label, layout = "rows", group = false, ranked = false }) {
  if (!results.length) return h("p", { class: "empty" }, "Nothing here with these filters.");
  return h("ol", { class: layout === "grid" ? `grid${ranked ? " ranked" : ""}` : "hits", "aria-label": label },
    cards(results, { group }));
}

// ---------------------------------------------------------------- pages of anime

// Anime handed out a page of `size` at a time. `read(token)` asks the API for a page
// (token null: the first) and answers { items, token } (token null after the last). A
// page the API answers short takes another read (at most 5 at once).
function feed(read, size) {
  let buffer = [], token = null, done = false;
  return {
    async next() {
      for (let reads = 0; buffer.length < size && !done && reads < 5; reads++) {
        const page = await read(token);
        buffer.push(...page.items);
        token = page.token || null;
        done = !token;
      }
      return buffer.splice(0, size);
    },
    more() { return buffer.length > 0 || !done; },
  };
}

// A reader of GET /browse pages for feed(): `query` plus the family-safe choice; `first`
// sees the first page's whole answer (its total).
function browseReader(query, size, signal, first) {
  return async (token) => {
    const data = await api(`/browse?${query}&page_size=${size}${policyQuery()}` +
      (token ? `&page_token=${encodeURIComponent(token)}` : ""), { signal });
    if (!token && first) first(data);
    return { items: data.items || [], token: data.next_page_token };
  };
}

// The first page of `pages` as a list, and "Show more" under it while there is more. It
// appends the next page (grouped on its own: cards shown stay as they are), moves focus to
// the first anime added (the button may go) and announces how many came.
async function growingList(pages, { label, layout, group, ranked, empty }) {
  const first = await pages.next();
  if (!first.length) return h("p", { class: "empty" }, empty || "Nothing here with these filters.");
  const list = hitsList(first, { label, layout, group, ranked });
  if (!pages.more()) return list;
  let shown = first.length;
  const button = h("button", { type: "button", class: "more" }, "Show more");
  const status = h("div", { class: "more-status" });
  const foot = h("div", { class: "show-more" }, button, status);
  button.addEventListener("click", async () => {
    button.disabled = true;
    status.replaceChildren(loading("Loading more…"));
    try {
      const items = await pages.next();
      status.replaceChildren();
      const added = cards(items, { group });
      list.append(...added);
      shown += items.length;
      if (!pages.more()) foot.remove();
      if (added.length) added[0].querySelector(".hit-title").focus();
      else button.focus();
      announce(items.length ? `${items.length} more shown, ${shown} in all.` : "No more found.");
    } catch (err) {
      if (err.status === -1) return;
      // A page token outlives neither a new catalogue version nor a changed request.
      const stale = err.body.reason === "PAGE_TOKEN_EXPIRED" || err.body.reason === "PAGE_TOKEN_INVALID";
      status.replaceChildren(stale
        ? h("div", { class: "error", role: "alert" }, h("p", {}, "The catalogue changed since this list was loaded. "),
          h("button", { type: "button", class: "retry", onclick: route }, "Load it again"))
        : errorBox(err, () => button.click()));
    } finally {
      button.disabled = false;
    }
  });
  return h("div", {}, list, foot);
}

// ---------------------------------------------------------------- views

function loading(text) {
  return h("p", { class: "loading", role: "status" }, h("span", { class: "spinner", "aria-hidden": "true" }), text || "Loading…");
}

function errorBox(err, retry) {
  const offline = err.status === 0 || err.status >= 500;
  return h("div", { class: "error", role: "alert" },
    h("p", {}, h("strong", {}, offline ? "The recommendation service is not answering. " : "That did not work: "),
      err.message),
    retry ? h("button", { type: "button", class: "retry", onclick: retry }, "Try again") : null);
}

// ---------------------------------------------------------------- placeholders

// While a view's content loads it shows placeholders of that content's size (skeletons):
// covers, and bars where titles and facts will be, laid out by the same rules as the
// cards. What is below them does not move when the content arrives. They are hidden
// from assistive technology; the loading message over them (role=status) says what is
// awaited.
function placeholder(...content) {
  return h("div", { class: "skeleton", "aria-hidden": "true" }, ...content);
}

// A bar where text will be: `text` is not shown, it gives the bar the height and width
// (and the line breaks) of such text.
function bar(text, kind) {
  return h("span", { class: kind ? `bar ${kind}` : "bar" }, text);
}

// A card's placeholder, in rows or a grid as card() lays it out. `entry` (a watch list
// entry) gives its titles, so it takes the lines the card will; `actions` "remove" stands
// for a list's Remove button, else the like and dislike buttons; `because` for a
// recommendation's reason.
function cardSkeleton({ layout = "rows", entry, actions, because } = {}) {
  const rows = layout !== "grid";
  const alt = rows && entry && entry.english_title && entry.english_title !== entry.title;
  return h("div", { class: "card" },
    h("div", { class: "cover" }),
    h("div", { class: "card-body" },
      h("span", { class: "hit-title" }, bar(entry ? displayTitle(entry) : "The title of an anime")),
      alt ? h("span", { class: "alt" }, bar(entry.title)) : null,
      h("p", { class: "card-facts" }, bar("\u2605 8.00"), " ", bar("Spring 2009"), " ", bar("TV \u00b7 24 ep")),
      rows ? h("p", { class: "genres" }, bar("Action, Drama, Fantasy")) : null,
      because ? h("p", { class: "because" }, bar("Because you liked an anime")) : null,
      h("span", { class: "verdict" }, actions === "remove" ? bar("Remove", "bar-button")
        : [bar("Like", "bar-button"), bar("Dislike", "bar-button")])));
}

// `n` card placeholders (or one per watch list entry of `entries`) as hitsList() lays
// out cards: rows, or a grid.
function listSkeleton(n, { layout = "rows", entries, actions, because } = {}) {
  // A long watch list: the first rows stand for it (they fill more than a screen).
  const all = entries ? entries.slice(0, 30) : Array.from({ length: n }, () => null);
  return h("div", { class: layout === "grid" ? "grid" : "hits" },
    all.map((entry) => cardSkeleton({ layout, entry, actions, because })));
}

// An anime page's head while it loads: a large cover, the title, stats and facts.
function animeSkeleton() {
  const stat = (value, label) => h("span", { class: "stat" },
    h("span", { class: "stat-value" }, bar(value)), h("span", { class: "stat-label" }, bar(label)));
  const fact = (term, value) => [h("dt", {}, bar(term)), h("dd", {}, bar(value))];
  return h("div", { class: "anime-layout" },
    h("div", { class: "cover" }),
    h("div", { class: "anime-head" },
      h("p", { class: "title-bar" }, bar("The title of an anime")),
      h("p", { class: "stats" }, stat("\u2605 8.00", "MAL score"), " ", stat("100,000", "members"))),
    h("div", { class: "anime-body" },
      h("dl", { class: "facts" }, fact("Season", "Spring 2009"), fact("Started", "5 April 2009"), fact("Type", "TV"),
        fact("Episodes", "24"), fact("Studio", "A studio"), fact("Age rating", "PG-13 (teens 13 or older)"),
        fact("Genres", "Action, Adventure, Drama")),
      h("p", { class: "synopsis" }, bar("A synopsis of a few lines: who the story follows, where it takes place, and " +
        "what sets it going. Most run to a paragraph or two, and a long one says how the story turns as it goes on, " +
        "who its heroes meet, and what they are after. Some add where it was adapted from, or when it aired.")),
      h("p", { class: "actions" }, bar("Like", "bar-button"), " ", bar("Dislike", "bar-button"))));
}

// Runs `load` into `box`, showing loading (over `skeleton`, a placeholder of the content,
// when given), then its content or an error with a retry.
async function fill(box, load, text, skeleton) {
  box.replaceChildren(skeleton ? h("div", { class: "loading-over" }, loading(text), skeleton) : loading(text));
  const slow = setTimeout(() => box.querySelector(".loading") &&
    box.querySelector(".loading").append(" (still waiting for the server)"), 3000);
  try {
    const content = await load();
    box.replaceChildren(content);
  } catch (err) {
    if (err.status === -1) return;
    // A genre or type the catalogue has but this collection never uses: nothing matches.
    const reason = err.body.reason;
    if (reason === "UNKNOWN_GENRE" || reason === "UNKNOWN_TYPE") {
      box.replaceChildren(h("p", { class: "empty" }, "Nothing here with these filters."));
      return;
    }
    box.replaceChildren(errorBox(err, () => fill(box, load, text, skeleton)));
  } finally {
    clearTimeout(slow);
  }
}

// A menu of the catalogue's genres or types (`key`), filled from GET /collections. Until
// that answers, and if it fails, it holds "Any" and the value chosen (from the URL), so a
// deep link works either way.
function menuSelect(name, key, any, value, onchange) {
  const option = (v) => h("option", { value: v, selected: v === value }, v);
  const select = h("select", { name, onchange }, h("option", { value: "" }, any), value ? option(value) : null);
  menuValues(key).then((values) => {
    if (value && !values.includes(value)) values.push(value);
    select.replaceChildren(h("option", { value: "" }, any), ...values.map(option));
  }, () => { /* the menu keeps "Any" and the value chosen */ });
  return select;
}

function filtersForm(route, params) {
  const f = { type: params.get("type") || "", genre: params.get("genre") || "" };
  const change = () => {
    const p = new URLSearchParams(params);
    for (const key of ["type", "genre"]) {
      const v = form.elements[key].value;
      if (v) p.set(key, v); else p.delete(key);
    }
    location.hash = `${route}?${p.toString()}`.replace(/\?$/, "");
  };
  const form = h("form", { class: "filters", "aria-label": "Filters", onsubmit: (e) => e.preventDefault() },
    h("label", {}, "Type ", menuSelect("type", "types", "Any type", f.type, change)),
    h("label", {}, "Genre ", menuSelect("genre", "genres", "Any genre", f.genre, change)));
  return { form, filter: f };
}

// A titled row of covers on the home page, with a link to all of them.
function shelf(id, title, href, link) {
  const heading = h("h2", { id }, title);
  const all = h("a", { class: "see-all", href }, link);
  const box = h("div", {});
  return { heading, all, box, section: h("section", { class: "shelf", "aria-labelledby": id },
    h("div", { class: "section-head" }, heading, all), box) };
}

function renderHome(main, signal) {
  // Headings and links say this season by the visitor's clock from the start (so they
  // take their final lines at once); the rare fallback to an earlier season renames them.
  const now = seasonOf(new Date());
  const season = shelf("season-h", `This season: ${seasonName(now)}`, seasonHref(now), `All ${seasonName(now)} anime`);
  const top = shelf("top-h", "Top rated", "#/top", "All top anime");
  main.replaceChildren(
    h("section", { class: "intro" },
      h("h1", {}, "Find your next anime"),
      h("p", {}, "Type a title you liked, or describe a story (\u201ca girl who works in a bathhouse for spirits\u201d). ",
        "Open an anime to see what its viewers also watched, which stories are alike and what shares its genres. ",
        "Like and dislike anime to build your list, then ask for recommendations."),
      h("ul", { class: "examples", "aria-label": "Examples" },
        ["Cowboy Bebop", "K-On!", "bounty hunters drifting through space", "high school volleyball team"]
          .map((q) => h("li", {}, h("a", { href: `#/search?q=${encodeURIComponent(q)}` }, q))))),
    season.section, top.section);
  fill(season.box, async () => {
    const found = await latestSeason(SHELF, signal);
    if (!found.data.items.length) {
      season.all.hidden = true;
      return h("p", { class: "empty" }, seasonFallbackNote(found));
    }
    const name = seasonName(found.season);
    if (found.back) {
      season.heading.textContent = `Latest season: ${name}`;
      season.all.href = seasonHref(found.season);
      season.all.textContent = `All ${name} anime`;
    }
    return h("div", {}, found.back ? h("p", { class: "note" }, seasonFallbackNote(found)) : null,
      hitsList(found.data.items, { label: `${name}, most popular first`, layout: "grid" }));
  }, "Loading this season…", placeholder(listSkeleton(SHELF, { layout: "grid" })));
  fill(top.box, async () => {
    const data = await api(`/browse?sort=score&min_members=${TOP_MIN_MEMBERS}&page_size=${SHELF}${policyQuery()}`, { signal });
    return hitsList(data.items || [], { label: "Top rated anime", layout: "grid", ranked: true });
  }, "Loading the top rated…", placeholder(listSkeleton(SHELF, { layout: "grid" })));
}

// This season by the visitor's clock or, while it has no anime in the catalogue, the
// latest of the four before it that has: { season, back (seasons skipped), now, data (its
// first `size` by popularity) }.
async function latestSeason(size, signal) {
  const now = seasonOf(new Date());
  for (let back = 0; ; back++) {
    const s = shiftSeason(now, -back);
    const data = await api(`/browse?year=${s.year}&season=${s.season}&sort=popularity&page_size=${size}${policyQuery()}`,
      { signal });
    if (data.items.length || back === 4) return { season: s, back, now, data };
  }
}

function seasonFallbackNote(found) {
  return found.data.items.length
    ? `Nothing from ${seasonName(found.now)} is in our catalogue yet: this is ${seasonName(found.season)}, the latest season that has anime.`
    : `Our catalogue has nothing from ${seasonName(found.now)} or the four seasons before it.`;
}

// A <select> of sort orders: [[value, label], ...].
function sortSelect(value, orders, onchange) {
  return h("label", {}, "Sort by ",
    h("select", { name: "sort", onchange }, orders.map(([v, text]) => h("option", { value: v, selected: v === value }, text))));
}

const SEASON_SORTS = [["popularity", "Popularity"], ["score", "MAL score"], ["date", "Start date"]];

// "#/season": this season, or the latest one with anime, with a note saying so.
function renderThisSeason(main, params, signal) {
  main.replaceChildren(loading("Finding this season…"));
  latestSeason(1, signal).then((found) => {
    // With nothing in reach, this season (empty, and said so) and the links around it.
    const shown = found.data.items.length ? found.season : found.now;
    renderSeason(main, shown, params, signal, found.back && found.data.items.length ? seasonFallbackNote(found) : "");
  }, (err) => {
    if (err.status !== -1) main.replaceChildren(errorBox(err, () => renderThisSeason(main, params, signal)));
  });
}

// A season's anime as a grid: by popularity (the default), MAL score or start date
// (earliest first, as a season's chart runs), "Show more" for the rest.
function renderSeason(main, s, params, signal, note) {
  const sort = SEASON_SORTS.some(([v]) => v === params.get("sort")) ? params.get("sort") : "popularity";
  const name = seasonName(s), prev = shiftSeason(s, -1), next = shiftSeason(s, 1);
  document.title = `${name} anime: simsearch`;
  const total = h("p", { class: "note total" });
  const grid = h("div", {});
  const change = (e) => {
    location.hash = `${seasonHref(s)}${e.target.value === "popularity" ? "" : `?sort=${e.target.value}`}`;
  };
  main.replaceChildren(
    h("div", { class: "page-head" },
      h("h1", {}, `${name} anime`),
      h("nav", { class: "season-nav", "aria-label": "Other seasons" },
        h("a", { href: seasonHref(prev), rel: "prev" }, h("span", { "aria-hidden": "true" }, "\u2190 "), seasonName(prev)),
        h("a", { href: seasonHref(next), rel: "next" }, seasonName(next), h("span", { "aria-hidden": "true" }, " \u2192")))),
    ...[note ? h("p", { class: "note" }, note) : null,  // (replaceChildren would write a null out)
      h("form", { class: "filters", "aria-label": "Sort", onsubmit: (e) => e.preventDefault() }, sortSelect(sort, SEASON_SORTS, change),
        total),
      grid].filter(Boolean));
  const query = `year=${s.year}&season=${s.season}&sort=${sort}${sort === "date" ? "&order=asc" : ""}`;
  fill(grid, () => growingList(feed(browseReader(query, GRID_PAGE, signal, (data) => {
    total.textContent = data.total ? plural(data.total, "anime", "anime") : "";
  }), GRID_PAGE), { label: `${name} anime`, layout: "grid", empty: `Our catalogue has no anime that started in ${name}.` }),
  `Loading ${name}…`, placeholder(listSkeleton(GRID_PAGE, { layout: "grid" })));
}

// The age-rating bounds #/top offers (the API's max_age_rating): anime rated at most
// this by MAL; anime whose rating MAL does not give are left out.
const RATING_BOUNDS = [["g", "G (all ages)"], ["pg", "PG or lower"], ["pg_13", "PG-13 or lower"],
  ["r", "R-17+ or lower"], ["r+", "R+ or lower"]];

const TOP_SORTS = [["score", "MAL score"], ["popularity", "Popularity"], ["date", "Newest"]];

// A year from the URL, or "" when there is none or it is not a plausible one.
function yearParam(params, key) {
  const v = Number(params.get(key));
  return Number.isInteger(v) && v >= 1900 && v <= 2100 ? v : "";
}

// "Top anime": the catalogue by MAL score (or popularity, or newest first), filtered by
// genre, type and years.
function renderTop(main, params, signal) {
  const f = { genre: params.get("genre") || "", type: params.get("type") || "",
    min_year: yearParam(params, "min_year"), max_year: yearParam(params, "max_year"),
    rating: RATING_BOUNDS.some(([v]) => v === params.get("rating")) ? params.get("rating") : "",
    sort: TOP_SORTS.some(([v]) => v === params.get("sort")) ? params.get("sort") : "score" };
  const apply = () => {
    const p = new URLSearchParams();
    for (const key of ["genre", "type", "min_year", "max_year", "rating", "sort"]) {
      const v = form.elements[key].value.trim();
      if (v && !(key === "sort" && v === "score")) p.set(key, v);
    }
    location.hash = `#/top?${p}`.replace(/\?$/, "");
  };
  const year = (name, label, value) => h("label", {}, label, " ",
    h("input", { type: "number", name, min: 1900, max: 2100, inputmode: "numeric", value, class: "year" }));
  const form = h("form", { class: "filters", "aria-label": "Filters", onsubmit: (e) => { e.preventDefault(); apply(); } },
    h("label", {}, "Genre ", menuSelect("genre", "genres", "Any genre", f.genre, apply)),
    h("label", {}, "Type ", menuSelect("type", "types", "Any type", f.type, apply)),
    year("min_year", "From", f.min_year), year("max_year", "to", f.max_year),
    h("label", {}, "Age rating ",
      h("select", { name: "rating", onchange: apply },
        h("option", { value: "" }, "Any"),
        RATING_BOUNDS.map(([v, text]) => h("option", { value: v, selected: v === f.rating }, text)))),
    sortSelect(f.sort, TOP_SORTS, apply),
    h("button", { type: "submit" }, "Show"));
  const lead = { score: "Top rated", popularity: "Most popular", date: "Newest" }[f.sort];
  const years = f.min_year && f.max_year ? (f.min_year === f.max_year ? `, ${f.min_year}` : `, ${f.min_year}\u2013${f.max_year}`)
    : f.min_year ? ` since ${f.min_year}` : f.max_year ? ` until ${f.max_year}` : "";
  const rated = f.rating ? `, rated ${AGE_RATINGS[f.rating][0]} or lower` : "";
  const title = `${lead}${f.genre ? ` ${f.genre}` : ""}${f.type ? ` ${f.type}` : ""} anime${years}${rated}`;
  document.title = `${title}: simsearch`;
  const grid = h("div", {});
  const total = h("p", { class: "note total" });
  form.append(total);
  main.replaceChildren(...[h("h1", {}, title), form,
    f.sort === "score" ? h("p", { class: "note" }, `Anime with fewer than ${TOP_MIN_MEMBERS.toLocaleString("en")} members on `,
      "MyAnimeList are left out: a score from a handful of votes says little.") : null,
    grid].filter(Boolean));
  if (f.min_year && f.max_year && f.min_year > f.max_year) {
    grid.replaceChildren(h("p", { class: "empty" }, `\u201cFrom\u201d (${f.min_year}) is after \u201cto\u201d (${f.max_year}).`));
    return;
  }
  const q = new URLSearchParams({ sort: f.sort });
  if (f.genre) q.set("genres", f.genre);
  if (f.type) q.set("types", f.type);
  if (f.min_year) q.set("min_year", f.min_year);
  if (f.max_year) q.set("max_year", f.max_year);
  if (f.rating) q.set("max_age_rating", f.rating);
  // By score, the API leaves out anime with few members (from its pages and its total).
  if (f.sort === "score") q.set("min_members", TOP_MIN_MEMBERS);
  fill(grid, () => growingList(feed(browseReader(q.toString(), GRID_PAGE, signal, (data) => {
    total.textContent = data.total ? plural(data.total, "anime", "anime") : "";
  }), GRID_PAGE), { label: title, layout: "grid", ranked: true }), "Loading…",
  placeholder(listSkeleton(GRID_PAGE, { layout: "grid" })));
}

function renderSearch(main, params, signal) {
  const q = (params.get("q") || "").trim();
  const { form, filter } = filtersForm("#/search", params);
  const titles = h("section", { class: "panel", "aria-labelledby": "titles-h" });
  const stories = h("section", { class: "panel", "aria-labelledby": "stories-h" });
  main.replaceChildren(h("h1", {}, "Results for \u201c", q, "\u201d"), form, h("div", { class: "columns two" }, titles, stories));
  document.getElementById("q").value = q;
  if (!q) {
    main.replaceChildren(h("p", { class: "empty" }, "Type a title or a story in the search box."));
    return;
  }
  fill(titles, async () => {
    const data = await api(`/titles?q=${encodeURIComponent(q)}&top_k=20${policyQuery()}`, { signal });
    // Title lookup has no filters in the API: the same type and genre rule, applied here.
    const kept = matchesOf(data).filter((r) => (!filter.type || r.type === filter.type) &&
      (!filter.genre || (r.genres || []).includes(filter.genre)));
    const strong = kept.filter((r) => r.score >= 0.7).slice(0, 8);
    const body = [h("h2", { id: "titles-h" }, "Titles")];
    if (strong.length) {
      body.push(hitsList(strong, { label: "Matching titles" }));
    } else {
      body.push(h("p", { class: "empty" }, "No anime is titled \u201c", q, "\u201d."));
      if (kept.length) {
        body.push(h("p", {}, "Did you mean:"), hitsList(kept.slice(0, 5), { label: "Closest titles" }));
      }
    }
    return h("div", {}, body);
  }, "Looking up titles…", placeholder(h("h2", {}, "Titles"), listSkeleton(4)));
  fill(stories, async () => {
    const fq = filterQuery(filter);
    const data = await api(`/search?q=${encodeURIComponent(q)}&top_k=12${fq ? `&${fq}` : ""}`, { signal });
    return h("div", {}, h("h2", { id: "stories-h" }, "Stories like your description"),
      hitsList(hitsOf(data), { label: "Stories like your description" }));
  }, "Searching synopses…", placeholder(h("h2", {}, "Stories like your description"), listSkeleton(6)));
}

// The facts of an anime's page: its cover, MAL score, season, dates, studios and more.
function animeHead(item) {
  const season = itemSeason(item);
  const rating = AGE_RATINGS[item.age_rating];
  const fact = (term, ...value) => [h("dt", {}, term), h("dd", {}, ...value)];
  return h("div", { class: "anime-layout" },
    cover(item, { large: true }),
    h("div", { class: "anime-head" },
      h("h1", {}, displayTitle(item)),
      item.english_title && item.english_title !== item.title ? h("p", { class: "alt" }, item.title) : null,
      h("p", { class: "stats" },
        item.mal_score > 0 ? h("span", { class: "stat" }, h("span", { class: "stat-value" },
          h("span", { class: "star", "aria-hidden": "true" }, "\u2605"), " ", item.mal_score.toFixed(2)),
        h("span", { class: "stat-label" }, "MAL score")) : null, " ",
        item.members ? h("span", { class: "stat" }, h("span", { class: "stat-value" }, item.members.toLocaleString("en")),
          h("span", { class: "stat-label" }, "members")) : null, " ",
        ageBadge(item))),
    h("div", { class: "anime-body" },
      h("dl", { class: "facts" },
        season ? fact("Season", h("a", { href: seasonHref(season) }, seasonName(season)))
          : item.start_year ? fact("Year", item.start_year) : null,
        item.start_date && item.start_date.length > 4 ? fact("Started", formatDate(item.start_date)) : null,
        item.type ? fact("Type", item.type) : null,
        item.episodes ? fact("Episodes", item.episodes) : null,
        item.studios && item.studios.length ? fact(item.studios.length > 1 ? "Studios" : "Studio", item.studios.join(", ")) : null,
        rating ? fact("Age rating", `${rating[0]} (${rating[1].charAt(0).toLowerCase()}${rating[1].slice(1)})`) : null,
        item.genres && item.genres.length ? fact("Genres", h("ul", { class: "chips", "aria-label": "Genres: top anime of each" },
          item.genres.map((g) => h("li", {}, h("a", { href: `#/top?genre=${encodeURIComponent(g)}` }, g))))) : null),
      item.synopsis ? h("p", { class: "synopsis" }, item.synopsis) : h("p", { class: "empty" }, "No synopsis."),
      h("p", { class: "actions" }, verdictButtons(item), " ",
        h("a", { href: `https://myanimelist.net/anime/${item.id}`, rel: "noopener noreferrer", target: "_blank" },
          "On MyAnimeList"))));
}

function renderAnime(main, id, params, signal) {
  const { form, filter } = filtersForm(`#/anime/${id}`, params);
  const head = h("section", { class: "anime", "aria-label": "Anime" });
  const lists = h("div", { class: "columns three" });
  const more = h("section", { "aria-labelledby": "more-h", hidden: true },
    h("h2", { class: "section-h", id: "more-h" }, "More like this"), form, lists);
  // The anime's own seasons, films and OVAs: listed apart by the API, so they neither
  // fill the lists below nor vanish from them. Every list's answer carries the group;
  // the first answer that has entries fills it.
  const franchiseList = h("div", {});
  const franchise = h("section", { class: "panel franchise", "aria-labelledby": "franchise-h", hidden: true },
    h("h2", { class: "section-h", id: "franchise-h" }, "In the same franchise"), franchiseList);
  const showFranchise = (group) => {
    if (!franchise.hidden || !group || !hitsOf(group) || !hitsOf(group).length) return;
    franchiseList.replaceChildren(hitsList(hitsOf(group), { label: "In the same franchise" }));
    franchise.hidden = false;
  };
  main.replaceChildren(head, franchise, more);
  fill(head, async () => {
    const item = await api(`/items/${id}`, { signal });
    document.title = `${displayTitle(item)}: simsearch`;
    more.hidden = false;
    lists.replaceChildren(...LISTS.map((l) => {
      const box = h("section", { class: "panel", "aria-label": l.title, "data-collection": l.collection });
      if (!(item.collections || []).includes(l.collection)) {
        box.append(h("h3", {}, l.title), h("p", { class: "empty" }, l.missing));
        return box;
      }
      const origin = (item.vectors || {})[l.collection];
      // Too new or too rare for viewing data: the list comes from a vector predicted
      // from the anime's content, and says so.
      const predicted = () => (origin && origin.source === "predicted"
        ? h("p", { class: "note predicted" }, origin.viewers > 0
          ? `Only ${origin.viewers} of our users watched it: this list is predicted from its story, genres, franchise and popularity.`
          : "Nobody in our users' lists watched it yet: this list is predicted from its story, genres, franchise and popularity.")
        : null);
      fill(box, async () => {
        let first = null;
        const body = Object.assign({ id: item.id, top_k: 50, page_size: 10, collection: l.collection }, filterBody(filter));
        const read = async (token) => {
          const data = await api("/recommend", { method: "POST", signal, body: token ? Object.assign({ page_token: token }, body) : body });
          first = first || data;
          return { items: hitsOf(data), token: data.next_page_token };
        };
        const list = await growingList(feed(read, 10), { label: l.title, group: true });
        // An adult anime's lists are left empty by the API's content policy, which says why.
        if (first.notice && !hitsOf(first).length) {
          return h("div", {}, h("h3", {}, l.title), h("p", { class: "empty" }, "This anime is for adults: its lists are not shown."));
        }
        showFranchise(first.franchise);
        return h("div", {}, h("h3", {}, l.title), predicted(), list);
      }, `Loading ${l.title.toLowerCase()}…`, placeholder(h("h3", {}, l.title), predicted(), listSkeleton(10)));
      return box;
    }));
    return animeHead(item);
  }, "Loading the anime…", placeholder(animeSkeleton()));
}

// The list's anime as cards, with the catalogue's facts where it has them (`known`: a Map
// from catalogueCheck(), or null when it could not say).
function listCards(entries, known, label, none) {
  if (!entries.length) return h("p", { class: "empty" }, none);
  return h("ol", { class: "hits", "aria-label": label }, entries.map((x) => {
    const item = Object.assign({}, x, known && known.get(x.id));
    return card(item, { actions: [
      known && !known.has(x.id) ? h("p", { class: "note missing" }, "Not in our catalogue: recommendations leave it out.") : null,
      h("button", { type: "button", class: "remove", "aria-label": `Remove ${displayTitle(item)}`,
        onclick: () => { WatchList.set(x, null); route(); } }, "Remove")] });
  }));
}

function renderList(main, params, signal) {
  const items = WatchList.read();
  const { form, filter } = filtersForm("#/list", params);
  const recs = h("section", { class: "panel wide", "aria-labelledby": "recs-h" });
  const status = h("div", {});  // an import's progress, preview, error or outcome
  const fileInput = h("input", { type: "file", accept: IMPORT_ACCEPT, class: "visually-hidden", id: "import-file",
    onchange: (e) => importFile(e.target, status, signal) });
  if (importNotice) {
    status.replaceChildren(h("p", { class: "notice", role: "status", tabindex: "-1" }, importNotice));
    importNotice = "";
  }
  const liked = items.filter((x) => x.verdict === "like"), disliked = items.filter((x) => x.verdict === "dislike");
  const likedBox = h("div", {}), dislikedBox = h("div", {});
  main.replaceChildren(
    h("h1", {}, "My list"),
    status,
    items.length
      ? h("div", { class: "columns two" },
        h("section", { class: "panel", "aria-labelledby": "liked-h" }, h("h2", { id: "liked-h" }, `Liked (${liked.length})`), likedBox),
        h("section", { class: "panel", "aria-labelledby": "disliked-h" }, h("h2", { id: "disliked-h" }, `Disliked (${disliked.length})`),
          dislikedBox))
      : h("p", { class: "empty" }, "Your list is empty. Open an anime and press Like or Dislike; the list stays in this browser."),
    h("p", { class: "actions" },
      h("button", { type: "button", class: "primary", id: "recommend", disabled: liked.length === 0,
        onclick: () => { const p = new URLSearchParams(params); p.set("recommend", "1"); location.hash = `#/list?${p}`; } },
      "Recommend for my list"), " ",
      h("button", { type: "button", onclick: exportList, disabled: items.length === 0 }, "Export"), " ",
      h("label", { for: "import-file", class: "button", tabindex: "0", id: "import-button", "aria-describedby": "import-help",
        onkeydown: (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); fileInput.click(); } } }, "Import"),
      fileInput, " ",
      h("button", { type: "button", disabled: items.length === 0,
        onclick: () => { if (confirm("Remove every anime from your list?")) { WatchList.write([]); route(); } } }, "Clear")),
    h("p", { class: "note", id: "import-help" }, "Import takes a list exported here (.json) or your MyAnimeList ",
      "export: on myanimelist.net, \u201cExport my list\u201d, then pick the downloaded .xml.gz file as it is."),
    pasteForm(status, signal),
    ...(params.get("recommend") === "1" && liked.length ? [form, recs] : []));
  if (items.length) {
    // The list keeps ids and titles; covers and facts come from the catalogue. Without
    // an answer the cards show what the list keeps.
    const known = catalogueCheck(items.map((x) => x.id), signal).then((check) => check && check.known);
    fill(likedBox, async () => listCards(liked, await known, "Liked", "Nothing liked yet."), "Loading your list…",
      liked.length ? placeholder(listSkeleton(0, { entries: liked, actions: "remove" })) : null);
    fill(dislikedBox, async () => listCards(disliked, await known, "Disliked", "Nothing disliked."), "Loading your list…",
      disliked.length ? placeholder(listSkeleton(0, { entries: disliked, actions: "remove" })) : null);
  }
  if (params.get("recommend") !== "1" || !liked.length) return;
  fill(recs, async () => {
    let first = null;
    const body = Object.assign({ like: liked.map((x) => x.id), dislike: disliked.map((x) => x.id), dislike_weight: 0.25,
      top_k: 100, page_size: 20, collection: "ncf" }, filterBody(filter));
    const read = async (token) => {
      const data = await api("/recommend", { method: "POST", signal, body: token ? Object.assign({ page_token: token }, body) : body });
      first = first || data;
      return { items: hitsOf(data), token: data.next_page_token };
    };
    const list = await growingList(feed(read, 20), { label: "Recommended for your list", group: true });
    // Every catalogue anime counts (learned or predicted vector); only ids the catalogue
    // does not know are left out, and named.
    const ignored = first.ignored || [];
    const byId = new Map(items.map((i) => [i.id, i]));
    const names = ignored.slice(0, 10).map((id) => (byId.has(id) ? displayTitle(byId.get(id)) : `#${id}`));
    const more = ignored.length > names.length ? ` and ${ignored.length - names.length} more` : "";
    return h("div", {}, h("h2", { id: "recs-h" }, "Recommended for your list"),
      ignored.length ? h("p", { class: "note" }, `Left out, not in our catalogue: ${names.join(", ")}${more}.`) : null,
      // A long list (an imported export) is asked with its most recently added anime.
      first.notice ? h("p", { class: "note" }, first.notice) : null,
      list);
  }, "Finding anime for your list…",
  placeholder(h("h2", {}, "Recommended for your list"), listSkeleton(20, { because: true })));
}

function exportList() {
  const blob = new Blob([JSON.stringify({ version: 1, items: WatchList.read() }, null, 2)], { type: "application/json" });
  const a = h("a", { href: URL.createObjectURL(blob), download: "my-anime-list.json" });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

// ---------------------------------------------------------------- importing a list

// The one Import control takes this site's JSON and MyAnimeList's export (.xml, .xml.gz),
// told apart by their content: names are not reliable (browsers unpack some downloads
// and keep the ".gz").
const IMPORT_ACCEPT = ".json,.xml,.gz,application/json,application/xml,text/xml,application/gzip";
const CATALOGUE_BATCH = 5000;  // ids per POST /items, its limit
const TITLE_MATCH = 0.7;       // a title lookup's score that counts as found, as on the search page
const LOOKUPS_AT_ONCE = 4;     // pasted titles looked up in parallel: a few, not 200 at once

function importError(err) {
  return h("div", { class: "error", role: "alert" },
    h("p", {}, "Import failed: ", err.message, " Your list is unchanged."));
}

// The picked file. This site's JSON replaces the list at once, as it always has; a
// MyAnimeList export is previewed, and changes nothing until the visitor confirms.
async function importFile(input, status, signal) {
  const file = input.files[0];
  input.value = "";  // the same file picked again is a new import
  if (!file) return;
  performance.mark("import:start");
  status.replaceChildren(loading("Reading the file…"));
  try {
    const text = await MalImport.readListFile(file);
    if (signal.aborted) return;
    if (!MalImport.looksLikeXml(text)) {
      const { imported, skipped } = WatchList.import(text);
      importNotice = skipped.length
        ? `Imported ${imported} anime; skipped ${plural(skipped.length, "entry", "entries")} (${summarize(skipped)}).`
        : `Imported ${imported} anime.`;
      announce(importNotice);
      route();
      return;
    }
    const mapped = MalImport.mapMalEntries(MalImport.parseMalXml(text));
    status.replaceChildren(loading("Checking your anime against our catalogue…"));
    const check = await catalogueCheck(mapped.items.map((x) => x.id), signal);
    showPreview(status, malPlan(mapped, check));
  } catch (err) {
    if (err.status !== -1) status.replaceChildren(importError(err));
  }
}

// Which of `ids` the catalogue holds: { known: Map id -> {id, title, english_title, type},
// missing: [id] }, or null when the server cannot say (one older than POST /items
// answers 404 ROUTE_NOT_FOUND, or it is down): an import goes on without the check.
async function catalogueCheck(ids, signal) {
  const known = new Map(), missing = [];
  try {
    for (let i = 0; i < ids.length; i += CATALOGUE_BATCH) {
      const data = await api("/items", { method: "POST", body: { ids: ids.slice(i, i + CATALOGUE_BATCH) }, signal });
      for (const item of data.items || []) known.set(item.id, item);
      missing.push(...(data.missing_ids || []));
    }
  } catch (err) {
    if (err.status === -1) throw err;
    return null;
  }
  return { known, missing };
}

// A list entry for a catalogue anime: the catalogue's titles, not the ones pasted or MAL's.
function catalogueItem(k, verdict) {
  return { id: k.id, title: k.title, english_title: k.english_title || "", type: k.type || "", verdict };
}

function fact(name, ...content) {
  return h("li", { "data-fact": name }, ...content);
}

// The preview of a MyAnimeList export: what each of its entries becomes.
function malPlan(mapped, check) {
  const items = mapped.items.map((x) => {
    const k = check && check.known.get(x.id);
    return k ? catalogueItem(k, x.verdict) : { id: x.id, title: x.title, english_title: "", type: "", verdict: x.verdict };
  });
  const left = mapped.left;
  const reasons = [[left.planned, "planned to watch"], [left.lukewarm, "lukewarm (scored 5\u20136)"],
    [left.on_hold, "on hold without a score of 7\u201310 or 1\u20134"], [left.dropped_scored, "dropped though scored 7\u201310"]]
    .filter(([n]) => n > 0).map(([n, why]) => `${n} ${why}`);
  const leftOut = left.planned + left.lukewarm + left.on_hold + left.dropped_scored;
  const liked = items.filter((x) => x.verdict === "like").length;
  return {
    heading: "Import your MyAnimeList list", source: "your MyAnimeList export", from: "import-button", items,
    facts: [
      fact("like", `${liked} to like`),
      fact("dislike", `${items.length - liked} to dislike`),
      fact("left", `${leftOut} not imported${reasons.length ? `: ${reasons.join(", ")}` : ""}.`),
      mapped.malformed.length ? fact("malformed", `${plural(mapped.malformed.length, "entry", "entries")} could not be read: ` +
        `${summarize(mapped.malformed)}.`) : null,
      catalogueFact(items, check)],
    rules: MalImport.RULES,
  };
}

// Which of `items` the catalogue does not hold: they are imported all the same (the list
// keeps them; recommendations leave them out and name them).
function catalogueFact(items, check) {
  if (!check) {
    return fact("catalogue", "Catalogue check not available: this server cannot say which of these anime our catalogue " +
      "holds. Any it does not hold are still imported; recommendations leave them out and name them.");
  }
  const missing = new Set(check.missing);
  const names = items.filter((x) => missing.has(x.id)).map((x) => `${x.title} (#${x.id})`);
  return fact("catalogue", names.length
    ? `${names.length} not in our catalogue: ${summarize(names)}. They are still imported; recommendations leave them out.`
    : "All are in our catalogue.");
}

// What Replace and Add would do to the list as it is now.
function mergeFact(items) {
  const mine = new Map(WatchList.read().map((x) => [x.id, x.verdict]));
  if (!mine.size) return fact("merge", "Your list is empty: Replace and Add do the same.");
  const both = items.filter((x) => mine.has(x.id));
  const changed = both.filter((x) => mine.get(x.id) !== x.verdict).length;
  const overlap = both.length
    ? `; for the ${both.length} anime in both, the imported verdict wins (${changed} would change)`
    : " (none of these is in it yet)";
  return fact("merge", `Your list has ${mine.size} anime. \u201cReplace my list\u201d removes ${mine.size === 1 ? "it" : "them"}; ` +
    `\u201cAdd to my list\u201d keeps ${mine.size === 1 ? "it" : "them"} and adds these${overlap}.`);
}

// The preview of an import, at the top of the list page: what it would do, and the
// choice. Nothing changes until Replace or Add is pressed.
function showPreview(status, plan) {
  const heading = h("h2", { id: "import-h", tabindex: "-1" }, plan.heading);
  const liked = plan.items.filter((x) => x.verdict === "like").length, none = plan.items.length === 0;
  status.replaceChildren(h("section", { class: "panel import-preview", "aria-labelledby": "import-h" },
    heading,
    h("p", {}, "Nothing changes until you choose below."),
    h("ul", { class: "import-facts" }, plan.facts, mergeFact(plan.items),
      none ? fact("none", "There is nothing here to add to your list.") : null),
    plan.rules ? h("p", { class: "note" }, h("strong", {}, "How verdicts are chosen. "), plan.rules) : null,
    plan.details || null,
    h("p", { class: "actions" },
      h("button", { type: "button", class: "primary", disabled: none, onclick: () => applyImport(status, plan, "replace") },
        "Replace my list"),
      h("button", { type: "button", disabled: none, onclick: () => applyImport(status, plan, "add") }, "Add to my list"),
      h("button", { type: "button", onclick: () => cancelImport(status, plan) }, "Cancel"))));
  performance.mark("import:preview");
  heading.focus();
  announce(`${plan.heading}: ${liked} to like, ${plan.items.length - liked} to dislike. ` +
    "Nothing changes until you choose Replace, Add or Cancel.");
}

function cancelImport(status, plan) {
  status.replaceChildren();
  announce("Import cancelled: your list is unchanged.");
  const back = document.getElementById(plan.from);
  if (back) back.focus();
}

// Replace: the list becomes the plan's anime. Add: they join the list, and an anime
// already listed keeps its place and takes the imported verdict. A list holds at most
// MAX_LIST anime; the rest are left out, and counted.
function applyImport(status, plan, mode) {
  const byId = new Map(mode === "add" ? WatchList.read().map((x) => [x.id, x]) : []);
  for (const x of plan.items) byId.set(x.id, x);
  const all = [...byId.values()], kept = all.slice(0, MAX_LIST);
  try {
    WatchList.write(kept);
  } catch (err) {
    status.replaceChildren(importError(new Error("This browser's storage refused the list (it is full, or disabled).")));
    return;
  }
  const liked = plan.items.filter((x) => x.verdict === "like").length;
  importNotice = mode === "add"
    ? `Added ${plan.items.length} anime from ${plan.source}; your list now has ${kept.length}.`
    : `Your list is now the ${kept.length} anime from ${plan.source} (${liked} liked, ${plan.items.length - liked} disliked).`;
  if (all.length > kept.length) importNotice += ` ${all.length - kept.length} left out: a list holds at most ${MAX_LIST} anime.`;
  announce(importNotice);
  route();
  const notice = document.querySelector("main .notice");
  if (notice) notice.focus();
}

// The "Paste titles or MAL links" form: one anime a line, each to be liked.
function pasteForm(status, signal) {
  const text = h("textarea", { id: "paste-text", name: "pasted", rows: "6", spellcheck: "false",
    "aria-describedby": "paste-help" });
  return h("details", { class: "paste" },
    h("summary", {}, "Paste titles or MAL links"),
    h("form", { onsubmit: (e) => { e.preventDefault(); importPasted(text.value, status, signal); } },
      h("label", { for: "paste-text" }, "Anime you liked, one a line"),
      h("p", { id: "paste-help", class: "note" }, "A title, or a MyAnimeList link such as ",
        "https://myanimelist.net/anime/5114; at most ", MalImport.MAX_PASTED, " lines. ",
        "You see what each line found before your list changes."),
      text,
      h("p", {}, h("button", { type: "submit" }, "Look up"))));
}

// Pasted lines: a link gives its id; any other line is looked up by title, a few at a
// time, then the same preview as a MAL export.
async function importPasted(text, status, signal) {
  try {
    const { links, titles } = MalImport.parsePastedLines(text);
    if (!links.length && !titles.length) throw new Error("Paste at least one title or MyAnimeList link, one a line.");
    status.replaceChildren(loading(`Looking up ${plural(links.length + titles.length, "line", "lines")}…`));
    const [found, check] = await Promise.all([
      inPool(titles, LOOKUPS_AT_ONCE, (line) => lookUpTitle(line, signal)),
      catalogueCheck(links.map((x) => x.id), signal)]);
    showPreview(status, pastePlan(links, found, check));
  } catch (err) {
    if (err.status !== -1) status.replaceChildren(importError(err));
  }
}

// `task` over every element of `xs`, at most `width` at once; the results in order.
async function inPool(xs, width, task) {
  const out = new Array(xs.length);
  let next = 0;
  const worker = async () => {
    while (next < xs.length) {
      const i = next++;
      out[i] = await task(xs[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, xs.length) }, worker));
  return out;
}

// The best title match of one pasted line: { line, item } when it is close enough,
// { line, closest } when not, { line, failed } when the lookup failed. The page's
// family-safe choice applies, as it does to the suggestions.
async function lookUpTitle(line, signal) {
  try {
    const data = await api(`/titles?q=${encodeURIComponent(line)}&top_k=1${policyQuery()}`, { signal });
    const r = matchesOf(data)[0];
    return r && r.score >= TITLE_MATCH ? { line, item: r } : { line, closest: r ? displayTitle(r) : "" };
  } catch (err) {
    if (err.status === -1) throw err;
    return { line, failed: err.message };
  }
}

// The preview of pasted lines: the anime found (each once), the lines that found
// nothing, and what each line found.
function pastePlan(links, found, check) {
  const byId = new Map(), matched = [];
  const take = (line, item) => {
    if (!byId.has(item.id)) byId.set(item.id, item);
    matched.push([line, byId.get(item.id)]);
  };
  for (const l of links) {
    const k = check && check.known.get(l.id);
    take(l.line, k ? catalogueItem(k, "like") : { id: l.id, title: l.title, english_title: "", type: "", verdict: "like" });
  }
  for (const f of found) if (f.item) take(f.line, catalogueItem(f.item, "like"));
  const items = [...byId.values()], linkIds = new Set(links.map((l) => l.id));
  const unmatched = found.filter((f) => !f.item && !f.failed), failed = found.filter((f) => f.failed);
  const lines = (fs, note) => h("ul", {}, fs.map((f) => h("li", {}, `\u201c${f.line}\u201d`, note(f))));
  return {
    heading: "Add the pasted anime", source: "the pasted lines", from: "paste-text", items,
    facts: [
      fact("like", `${items.length} to like`),
      unmatched.length ? fact("unmatched", `${plural(unmatched.length, "line", "lines")} matched no title:`,
        lines(unmatched, (f) => (f.closest ? ` (the closest is ${f.closest})` : ""))) : null,
      failed.length ? fact("failed", `${plural(failed.length, "line", "lines")} could not be looked up; paste them again later:`,
        lines(failed, (f) => ` (${f.failed})`)) : null,
      links.length ? catalogueFact(items.filter((x) => linkIds.has(x.id)), check) : null],
    details: matched.length ? h("details", { class: "matched" }, h("summary", {}, "What each line found"),
      h("ul", {}, matched.map(([line, x]) => h("li", {}, `\u201c${line}\u201d \u2192 ${displayTitle(x)}`)))) : null,
  };
}

// ---------------------------------------------------------------- routing

let current = null;  // AbortController of the view on screen

function route() {
  if (current) current.abort();
  current = new AbortController();
  const hash = location.hash.replace(/^#/, "") || "/";
  const [path, query] = hash.split("?");
  const params = new URLSearchParams(query || "");
  const main = document.getElementById("main");
  closeSuggestions();
  document.title = "simsearch: anime recommendations";
  markCurrentLink(path);
  const anime = path.match(/^\/anime\/(\d+)$/);
  const season = path.match(/^\/season\/(\d{4})\/(winter|spring|summer|fall)$/);
  if (anime) renderAnime(main, Number(anime[1]), params, current.signal);
  else if (season && season[1] >= 1900 && season[1] <= 2100) {
    renderSeason(main, { year: Number(season[1]), season: season[2] }, params, current.signal);
  } else if (path === "/season") renderThisSeason(main, params, current.signal);
  else if (path === "/top") renderTop(main, params, current.signal);
  else if (path === "/search") renderSearch(main, params, current.signal);
  else if (path === "/list") renderList(main, params, current.signal);
  else if (path === "/" || path === "") renderHome(main, current.signal);
  else main.replaceChildren(h("h1", {}, "Page not found"), h("p", {}, h("a", { href: "#/" }, "Start again")));
  window.scrollTo(0, 0);
}

// The header's link to the view on screen (or to its section: any season for "Seasons")
// says so.
function markCurrentLink(path) {
  for (const a of document.querySelectorAll(".top nav a[href^='#/']")) {
    const target = a.getAttribute("href").slice(1);
    if (path === target || path.startsWith(`${target}/`)) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
}

// ---------------------------------------------------------------- the search box

let suggestTimer = null, suggestController = null, activeIndex = -1;

function closeSuggestions() {
  const list = document.getElementById("suggestions");
  const input = document.getElementById("q");
  list.hidden = true;
  list.replaceChildren();
  input.setAttribute("aria-expanded", "false");
  input.removeAttribute("aria-activedescendant");
  activeIndex = -1;
}

function setActive(i) {
  const options = [...document.querySelectorAll("#suggestions [role=option]")];
  if (!options.length) return;
  activeIndex = (i + options.length) % options.length;
  options.forEach((o, j) => o.setAttribute("aria-selected", j === activeIndex ? "true" : "false"));
  document.getElementById("q").setAttribute("aria-activedescendant", options[activeIndex].id);
  options[activeIndex].scrollIntoView({ block: "nearest" });
}

async function suggest(text) {
  if (suggestController) suggestController.abort();
  suggestController = new AbortController();
  const list = document.getElementById("suggestions");
  const input = document.getElementById("q");
  try {
    const data = await api(`/titles?q=${encodeURIComponent(text)}&top_k=8${policyQuery()}`, { signal: suggestController.signal });
    if (input.value.trim() !== text) return;
    list.replaceChildren(...matchesOf(data).map((r, i) => h("li", {
      id: `suggestion-${i}`, role: "option", "aria-selected": "false", class: "suggestion",
      onmousedown: (e) => { e.preventDefault(); pick(r.id); },
    }, h("span", {}, displayTitle(r)), h("span", { class: "meta" }, [r.type, r.english_title && r.english_title !== r.title ? r.title : null].filter(Boolean).join(" · ")))));
    list.hidden = matchesOf(data).length === 0;
    input.setAttribute("aria-expanded", matchesOf(data).length ? "true" : "false");
    activeIndex = -1;
    window.performance.mark(`suggestions:${text}`);
  } catch (err) {
    if (err.status !== -1) closeSuggestions();
  }
}

function pick(id) {
  closeSuggestions();
  document.getElementById("q").value = "";
  location.hash = `#/anime/${id}`;
}

function setUpSearchBox() {
  const input = document.getElementById("q");
  const form = document.getElementById("search-form");
  input.addEventListener("input", () => {
    clearTimeout(suggestTimer);
    const text = input.value.trim();
    if (text.length < 2) { closeSuggestions(); return; }
    suggestTimer = setTimeout(() => suggest(text), 120);
  });
  input.addEventListener("keydown", (e) => {
    const open = !document.getElementById("suggestions").hidden;
    if (e.key === "ArrowDown" && open) { e.preventDefault(); setActive(activeIndex + 1); }
    else if (e.key === "ArrowUp" && open) { e.preventDefault(); setActive(activeIndex - 1); }
    else if (e.key === "Escape") closeSuggestions();
    else if (e.key === "Enter" && open && activeIndex >= 0) {
      e.preventDefault();
      const option = document.querySelectorAll("#suggestions [role=option]")[activeIndex];
      option.dispatchEvent(new MouseEvent("mousedown", { bubbles: true }));
    }
  });
  input.addEventListener("blur", () => setTimeout(closeSuggestions, 150));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    closeSuggestions();
    location.hash = `#/search?q=${encodeURIComponent(text)}`;
  });
}

window.addEventListener("hashchange", route);
window.addEventListener("storage", updateListCount);
document.addEventListener("DOMContentLoaded", () => {
  const safe = document.getElementById("family-safe");
  safe.checked = familySafe();
  safe.addEventListener("change", () => {
    safeChoice = safe.checked;
    try { localStorage.setItem(SAFE_KEY, safe.checked ? "1" : "0"); } catch (e) { /* not kept for the next visit */ }
    route();
  });
  setUpSearchBox();
  updateListCount();
  route();
});
