// The website in a real browser: Debian's Chromium, headless, driven by puppeteer-core,
// against simsearch-lambda --serve-http over real bundles (tests/web/make_bundles.sh).
//
//   node browser_test.js LAMBDA_BIN INDEX_ROOT WEB_ROOT OUT_DIR
//
// Walks what a visitor does (suggestions by keyboard, an anime's lists, a watch list kept
// across reloads and recommendations for it, free-text search, filters, deep links, the
// API going away and coming back, a phone-sized screen), checks accessibility with
// axe-core, saves screenshots to OUT_DIR and writes timings to OUT_DIR/web_perf.json.
// Exits 1 naming the first failed check; a browser that cannot start is a failure.
"use strict";

const fs = require("fs");
const path = require("path");
const puppeteer = require("puppeteer-core");
const { freePort, startGateway } = require("../testing/gateway.js");

const [lambdaBin, indexRoot, webRoot, outDir] = process.argv.slice(2);
if (!outDir) {
  console.error("usage: node browser_test.js LAMBDA_BIN INDEX_ROOT WEB_ROOT OUT_DIR");
  process.exit(2);
}
fs.mkdirSync(outDir, { recursive: true });
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const AXE = fs.readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

let failures = 0;
function check(ok, what) {
  if (ok) {
    console.log(`ok    ${what}`);
  } else {
    failures++;
    console.log(`FAIL  ${what}`);
  }
  return ok;
}
function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

// Starts the gateway on `port`; resolves once it logs that it serves.
function startServer(port) {
  return startGateway(lambdaBin, port, indexRoot, webRoot);
}
function stopServer(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.removeAllListeners("exit");
    child.on("exit", () => resolve());
    child.kill("SIGTERM");
  });
}

// Every list on an anime page has finished (hits, an empty note or an error).
async function waitForLists(page) {
  await page.waitForFunction(() => {
    const panels = [...document.querySelectorAll(".columns.three .panel")];
    return panels.length === 3 && panels.every((p) => !p.querySelector(".loading"));
  }, { timeout: 20000 });
}
async function listIds(page, selector) {
  return page.$$eval(`${selector} .hit-title`, (as) => as.map((a) => Number(a.getAttribute("href").split("/").pop())));
}
async function noHorizontalScroll(page) {
  return page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
}
async function axeCheck(page, view) {
  await page.evaluate(AXE);
  const result = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ["violations"] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length, help: v.help }));
  });
  const bad = result.filter((v) => v.impact === "serious" || v.impact === "critical");
  check(bad.length === 0, `axe: no serious or critical violations on ${view}` +
    (bad.length ? `: ${bad.map((v) => `${v.id} (${v.impact}, ${v.nodes} nodes: ${v.help})`).join("; ")}` : ""));
}

async function main() {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  let server = await startServer(port);
  let browser;
  try {
    browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"],
    });
  } catch (e) {
    console.log(`FAIL  Chromium (${CHROMIUM}) did not start: ${e.message}`);
    await stopServer(server);
    process.exit(1);
  }
  const perf = {};
  const consoleErrors = [];
  let expectErrors = false;
  try {
    const page = await browser.newPage();
    page.on("pageerror", (e) => consoleErrors.push(`page error: ${e.message}`));
    page.on("console", (m) => {
      if (m.type() === "error" && !expectErrors) consoleErrors.push(m.text());
    });
    await page.setViewport({ width: 1280, height: 900 });
    await page.goto(`${base}/`, { waitUntil: "networkidle0" });
    await page.evaluate(() => localStorage.clear());
    check(await page.$eval("h1", (e) => e.textContent) === "Find your next anime", "the home page renders");
    await axeCheck(page, "home");

    // Suggestions by keyboard: type, arrow down, Enter.
    await page.focus("#q");
    await page.keyboard.type("cowboy beb", { delay: 20 });
    await page.waitForSelector("#suggestions [role=option]", { visible: true, timeout: 10000 });
    const first = await page.$eval("#suggestions [role=option]", (e) => e.textContent);
    check(first.startsWith("Cowboy Bebop"), `"cowboy beb" suggests Cowboy Bebop first (got "${first}")`);
    await page.keyboard.press("ArrowDown");
    check(await page.$eval("#q", (e) => e.getAttribute("aria-activedescendant")) === "suggestion-0",
      "ArrowDown selects the first suggestion");
    await page.keyboard.press("Enter");
    await page.waitForFunction(() => location.hash === "#/anime/1", { timeout: 10000 });
    await waitForLists(page);
    for (const c of ["ncf", "synopsis", "genres"]) {
      const ids = await listIds(page, `.panel[data-collection=${c}]`);
      check(ids.length === 10 && !ids.includes(1), `the anime page lists 10 neighbours from ${c}, not itself`);
    }
    // Its own films and sessions are listed apart, and in no list below.
    await page.waitForSelector("section.franchise:not([hidden]) .hits", { timeout: 10000 });
    const franchise = await listIds(page, "section.franchise");
    check(franchise.includes(5), `"In the same franchise" lists Cowboy Bebop: The Movie (got ${franchise})`);
    for (const c of ["ncf", "synopsis", "genres"]) {
      const ids = await listIds(page, `.panel[data-collection=${c}]`);
      check(!ids.some((id) => franchise.includes(id)), `the ${c} list holds none of the franchise's entries`);
    }
    check((await page.$eval(".anime", (e) => e.textContent)).includes("Spike"), "the anime page shows the synopsis");
    check(await page.$eval(".anime a[href^='https://myanimelist.net/anime/1']", (e) => !!e), "and links to MyAnimeList");
    await page.screenshot({ path: path.join(outDir, "desktop-anime.png"), fullPage: true });
    await axeCheck(page, "an anime page");
    check(!(await page.$(".panel[data-collection=ncf] .predicted")), "an anime with viewers has no 'predicted' note");
    // An anime newer than the lists: its "viewers also watched" comes from a vector
    // predicted from its content, and the page says so.
    await page.evaluate(() => { location.hash = "#/anime/52991"; });
    await page.waitForSelector('.anime a[href="https://myanimelist.net/anime/52991"]', { timeout: 10000 });
    await waitForLists(page);
    const frieren = await listIds(page, ".panel[data-collection=ncf]");
    const note = await page.$eval(".panel[data-collection=ncf]", (e) => (e.querySelector(".predicted") || {}).textContent || "");
    check(frieren.length === 10 && note.includes("predicted from its story, genres, franchise and popularity"),
      `a new anime (Frieren) lists 10 anime, saying they are predicted (${note})`);

    // Time from opening an anime's page to all its lists shown.
    const pageTimes = [];
    for (const id of [5, 6, 30, 121, 199, 1535, 5114, 9253, 16498, 20583, 1, 47]) {
      const ms = await page.evaluate(async (target) => {
        const t0 = performance.now();
        location.hash = `#/anime/${target}`;
        await new Promise((resolve) => {
          const tick = () => {
            const panels = [...document.querySelectorAll(".columns.three .panel")];
            // This anime's page (not the previous one), with every list finished.
            if (document.querySelector(`.anime a[href="https://myanimelist.net/anime/${target}"]`) &&
                panels.length === 3 && panels.every((p) => !p.querySelector(".loading"))) resolve();
            else requestAnimationFrame(tick);
          };
          tick();
        });
        return performance.now() - t0;
      }, id);
      pageTimes.push(ms);
    }
    perf.anime_page_ms = { median: median(pageTimes), runs: pageTimes.length, samples: pageTimes };

    // Time from a keystroke to its suggestions (includes the page's 120 ms debounce).
    const keyTimes = [];
    for (const text of ["naruto", "death no", "one pie", "k-on", "steins", "haikyu", "bebop", "totoro", "akira", "evangelion"]) {
      await page.$eval("#q", (e) => { e.value = ""; });
      await page.focus("#q");
      await page.keyboard.type(text.slice(0, -1));
      await page.evaluate(() => { window.__t0 = 0; });
      await page.evaluate(() => document.getElementById("q").addEventListener("keydown", () => {
        window.__t0 = performance.now();
      }, { once: true }));
      await page.keyboard.type(text.slice(-1));
      const ms = await page.waitForFunction((t) => {
        const m = performance.getEntriesByName(`suggestions:${t}`).pop();
        return m && window.__t0 ? m.startTime - window.__t0 : false;
      }, { timeout: 10000 }, text).then((r) => r.jsonValue());
      keyTimes.push(ms);
    }
    perf.keystroke_to_suggestions_ms = { median: median(keyTimes), runs: keyTimes.length, samples: keyTimes,
      note: "includes the page's 120 ms debounce" };
    await page.keyboard.press("Escape");

    // A watch list: like two, dislike one; it survives a reload; recommendations exclude it.
    await page.evaluate(() => { location.hash = "#/anime/1"; });
    await waitForLists(page);
    await page.click(".anime .verdict .like");
    await page.click(".panel[data-collection=ncf] .hit .verdict .like");
    await page.click(".panel[data-collection=genres] .hit .verdict .dislike");
    const listed = await page.evaluate(() => JSON.parse(localStorage.getItem("simsearch.watchlist.v1")).items);
    check(listed.length === 3 && listed.filter((x) => x.verdict === "like").length === 2, "two liked and one disliked are in the list");
    await page.reload({ waitUntil: "networkidle0" });
    check(await page.$eval("#list-count", (e) => e.textContent) === "3", "the list count is 3 after a reload");
    await page.evaluate(() => { location.hash = "#/list"; });
    await page.waitForSelector("#recommend");
    check((await page.$$("main .hits li")).length === 3, "the list page shows the 3 anime after a reload");
    await axeCheck(page, "the list page");
    await page.click("#recommend");
    await page.waitForFunction(() => location.hash.includes("recommend=1"));
    await page.waitForSelector("section[aria-labelledby=recs-h] .hits li", { timeout: 20000 });
    const recs = await listIds(page, "section[aria-labelledby=recs-h]");
    const mine = listed.map((x) => x.id);
    check(recs.length === 20 && recs.every((id) => !mine.includes(id)), "recommend for my list shows 20 anime, none of the listed");
    await page.screenshot({ path: path.join(outDir, "desktop-list.png"), fullPage: true });

    // Import: a valid file replaces the list; a broken one says why and changes nothing.
    await page.evaluate(() => { location.hash = "#/list"; });
    await page.waitForSelector("#import-file");
    const good = path.join(outDir, "import-good.json"), bad = path.join(outDir, "import-bad.json");
    fs.writeFileSync(good, JSON.stringify({ version: 1, items: [{ id: 20, title: "Naruto", verdict: "like" },
      { id: 21, title: "One Piece", verdict: "dislike" }] }));
    fs.writeFileSync(bad, JSON.stringify({ items: [{ id: "x", verdict: "maybe" }] }));
    await (await page.$("#import-file")).uploadFile(bad);
    await page.waitForSelector("main [role=alert]");
    check((await page.$eval("main [role=alert]", (e) => e.textContent)).includes("Import failed") &&
      await page.$eval("#list-count", (e) => e.textContent) === "3", "a broken import file is refused with a reason");
    await (await page.$("#import-file")).uploadFile(good);
    await page.waitForFunction(() => document.getElementById("list-count").textContent === "2");
    check((await page.$$("main .hits li")).length === 2, "a valid import file replaces the list");
    // A hostile file: bad entries are skipped and named, the good one is taken. A title
    // that is an object once failed the whole file with a raw JavaScript error, and ids
    // such as 1e300, -5 and 2^53+1 were accepted.
    const mixed = path.join(outDir, "import-mixed.json");
    fs.writeFileSync(mixed, '{"items": [{"id": 20, "title": {"toString": 1}, "verdict": "like"}, ' +
      '{"id": 1e300, "verdict": "like"}, {"id": -5, "verdict": "like"}, {"id": 9007199254740993, "verdict": "like"}, ' +
      '{"id": 1, "title": "Cowboy Bebop", "verdict": "like"}, {"id": 1, "verdict": "dislike"}, "x"]}');
    await (await page.$("#import-file")).uploadFile(mixed);
    await page.waitForFunction(() => document.getElementById("list-count").textContent === "1");
    const notice = await page.$eval("main .notice", (e) => e.textContent);
    check(notice.includes("Imported 1 anime; skipped 6 entries") && notice.includes('entry 1: "title" must be text') &&
      notice.includes('entry 2: "id" must be a positive whole number') && notice.includes("and 3 more"),
      `a hostile import file: bad entries skipped and named (${notice})`);

    // Free-text search: Enter without picking a suggestion.
    await page.$eval("#q", (e) => { e.value = ""; });
    await page.focus("#q");
    await page.keyboard.type("bounty hunters drifting through space");
    await page.keyboard.press("Escape");
    await page.keyboard.press("Enter");
    await page.waitForFunction(() => location.hash.startsWith("#/search?q=bounty"));
    await page.waitForSelector("section[aria-labelledby=stories-h] .hits li", { timeout: 20000 });
    const stories = await listIds(page, "section[aria-labelledby=stories-h]");
    check(stories.length === 12, `free-text search shows 12 stories (got ${stories.length})`);
    await page.screenshot({ path: path.join(outDir, "desktop-search.png"), fullPage: true });
    await axeCheck(page, "search results");

    // A filter changes the results as the API says.
    await page.select("select[name=type]", "Movie");
    await page.waitForFunction(() => location.hash.includes("type=Movie"));
    await page.waitForFunction(() => {
      const box = document.querySelector("section[aria-labelledby=stories-h]");
      return box && !box.querySelector(".loading") && box.querySelector(".hits li");
    }, { timeout: 20000 });
    const filtered = await listIds(page, "section[aria-labelledby=stories-h]");
    const api = await page.evaluate(async () => {
      const r = await fetch("/search?q=bounty%20hunters%20drifting%20through%20space&k=12&types=Movie");
      return (await r.json()).results.map((x) => ({ id: x.id, type: x.type }));
    });
    check(JSON.stringify(filtered) === JSON.stringify(api.map((x) => x.id)) && api.every((x) => x.type === "Movie") &&
      JSON.stringify(filtered) !== JSON.stringify(stories), "type Movie shows exactly the API's filtered answer, all movies");

    // A deep link opens the same view in a fresh page.
    const deep = await browser.newPage();
    await deep.setViewport({ width: 1280, height: 900 });
    await deep.goto(`${base}/#/anime/1?type=TV`, { waitUntil: "networkidle0" });
    await waitForLists(deep);
    check(await deep.$eval("select[name=type]", (e) => e.value) === "TV", "a deep link restores the filter");
    const tvOnly = await deep.$$eval(".panel[data-collection=genres] .hit .meta", (ms) => ms.map((m) => m.textContent));
    check(tvOnly.length > 0 && tvOnly.every((t) => t.startsWith("TV")), "and the lists it shows are filtered");
    // A genre the lists' collections do not know: the API answers 400 with the reason
    // UNKNOWN_GENRE, which the page shows as an empty list, not as an error.
    expectErrors = true;  // the browser logs the 400s
    await deep.goto(`${base}/#/anime/1?genre=NoSuchGenre`, { waitUntil: "networkidle0" });
    await waitForLists(deep);
    const panels = await deep.$$eval(".columns.three .panel", (ps) => ps.map((p) => ({
      empty: p.querySelector(".empty") ? p.querySelector(".empty").textContent : "",
      alert: !!p.querySelector("[role=alert]"),
    })));
    expectErrors = false;
    check(panels.length === 3 && panels.every((p) => p.empty === "Nothing here with these filters." && !p.alert),
      `an unknown genre empties every list without an error (${JSON.stringify(panels)})`);
    await deep.goBack().catch(() => {});
    await deep.close();

    // The API goes away: a clear message and a retry that works once it is back.
    expectErrors = true;
    await stopServer(server);
    await page.evaluate(() => { location.hash = "#/anime/5"; });
    await page.waitForSelector("main [role=alert] .retry", { timeout: 20000 });
    const message = await page.$eval("main [role=alert]", (e) => e.textContent);
    check(message.includes("not answering"), `with the API stopped the page says so ("${message.trim()}")`);
    await page.screenshot({ path: path.join(outDir, "desktop-api-down.png") });
    server = await startServer(port);
    expectErrors = false;
    await page.click("main [role=alert] .retry");
    await page.waitForSelector(".anime h1", { timeout: 20000 });
    check((await page.$eval(".anime h1", (e) => e.textContent)).includes("Cowboy Bebop"), "Try again recovers once the API is back");
    await waitForLists(page);

    // An unknown title: "did you mean".
    await page.evaluate(() => { location.hash = "#/search?q=cowboy%20bebob"; });
    await page.waitForFunction(() => {
      const box = document.querySelector("section[aria-labelledby=titles-h]");
      return box && !box.querySelector(".loading");
    }, { timeout: 20000 });
    const titles = await page.$eval("section[aria-labelledby=titles-h]", (e) => e.textContent);
    check(titles.includes("Cowboy Bebop"), "a misspelt title still offers Cowboy Bebop");

    // A phone: 375 px wide, no horizontal scroll on any view.
    const phone = await browser.newPage();
    await phone.setViewport({ width: 375, height: 740, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
    for (const [view, hash] of [["home", "#/"], ["anime", "#/anime/1"], ["search", "#/search?q=space%20pirates"], ["list", "#/list?recommend=1"]]) {
      await phone.goto(`${base}/${hash}`, { waitUntil: "networkidle0" });
      await phone.waitForFunction(() => !document.querySelector("main .loading"), { timeout: 20000 });
      check(await noHorizontalScroll(phone), `no horizontal scroll at 375 px on ${view}`);
      if (view === "anime") await phone.screenshot({ path: path.join(outDir, "phone-anime.png") });
    }
    await phone.close();

    check(consoleErrors.length === 0, `no console errors while the API was up${consoleErrors.length ? `: ${consoleErrors.join(" | ")}` : ""}`);
  } catch (e) {
    for (const p of await browser.pages()) {
      const text = await p.evaluate(() => document.querySelector("main") && document.querySelector("main").innerText)
        .catch(() => "");
      console.log(`page ${p.url()} shows:\n${(text || "").slice(0, 1500)}`);
      await p.screenshot({ path: path.join(outDir, "failure.png") }).catch(() => {});
    }
    throw e;
  } finally {
    await browser.close();
    await stopServer(server);
  }
  let bytes = 0;
  for (const f of ["index.html", "app.js", "style.css", "config.js"]) bytes += fs.statSync(path.join(webRoot, f)).size;
  perf.page_weight_kib = Math.round(bytes / 102.4) / 10;
  perf.page_weight_bytes = bytes;
  perf.chromium = CHROMIUM;
  fs.writeFileSync(path.join(outDir, "web_perf.json"), JSON.stringify(perf, null, 2));
  console.log(`anime page to all lists: median ${perf.anime_page_ms.median.toFixed(1)} ms over ${perf.anime_page_ms.runs}; ` +
    `keystroke to suggestions: median ${perf.keystroke_to_suggestions_ms.median.toFixed(1)} ms over ` +
    `${perf.keystroke_to_suggestions_ms.runs}; page weight ${perf.page_weight_kib} KiB (HTML+CSS+JS, uncompressed)`);
  console.log(failures ? `${failures} check(s) failed` : "all browser checks passed");
  process.exit(failures ? 1 : 0);
}

main().catch((e) => {
  console.log(`FAIL  ${e.stack || e}`);
  process.exit(1);
});
