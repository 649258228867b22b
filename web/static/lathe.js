// Lathe's one script: the live parts of the pages. Run pages follow the
// run's event stream (GET /api/v1/runs/{run}/events) and update statuses in
// place; job pages follow the log stream (GET /api/v1/jobs/{job}/log/stream,
// resumed by the browser with Last-Event-ID after a dropped connection),
// render ANSI colours, put lines in their step's section and render a long
// log a frame at a time so the tab never freezes. Every page works without
// it, only without live updates (and without the log, which links to raw).
"use strict";

(function () {
  const SYMBOLS = {pending: "○", waiting_for_approval: "‖", queued: "◷", running: "▶", success: "✓",
    failed: "✗", canceled: "⊘", skipped: "↷", lost: "?", timed_out: "⊠"};
  const TERMINAL = new Set(["success", "failed", "canceled", "skipped", "lost", "timed_out"]);
  const word = (s) => s.replace(/_/g, " ");

  function setStatus(el, status) {
    if (!el) return;
    const badge = el.classList.contains("status") ? el : el.querySelector(".status");
    if (!badge) return;
    badge.className = "status st-" + status;
    badge.dataset.status = status;
    badge.querySelector(".sym").textContent = SYMBOLS[status] || "·";
    badge.querySelector(".word").textContent = word(status);
  }

  function fmtDuration(ms) {
    if (ms == null) return "";
    if (ms < 1000) return ms + "ms";
    const s = ms / 1000;
    if (s < 60) return s.toFixed(1) + "s";
    const m = Math.floor(s / 60);
    if (m < 60) return m + "m" + String(Math.floor(s % 60)).padStart(2, "0") + "s";
    return Math.floor(m / 60) + "h" + String(m % 60).padStart(2, "0") + "m";
  }

  // ---- run page ----
  function followRun(root) {
    const url = root.dataset.live;
    if (!url) return;
    // The page's buttons depend on the run's and gates' statuses: when
    // those change the page is fetched again, otherwise updated in place.
    const shape = (run) => TERMINAL.has(run.status) + "|" + (run.jobs || []).filter((j) => j.status === "waiting_for_approval").map((j) => j.id).join(",");
    const waitingRows = Array.from(root.querySelectorAll('tr[data-job][data-status="waiting_for_approval"]')).map((el) => el.dataset.job);
    const initial = TERMINAL.has(root.dataset.status) + "|" + waitingRows.join(",");
    const es = new EventSource(url);
    es.addEventListener("run", (ev) => {
      const run = JSON.parse(ev.data);
      if (shape(run) !== initial) { es.close(); location.reload(); return; }
      setStatus(root.querySelector("[data-run-status]"), run.status);
      root.querySelector("[data-run-duration]").textContent = fmtDuration(run.duration_ms);
      for (const s of run.stages || []) setStatus(root.querySelector('[data-stage="' + s.id + '"]'), s.status);
      for (const j of run.jobs || []) {
        for (const el of root.querySelectorAll('[data-job="' + j.id + '"]')) {
          if (el.tagName.toLowerCase() === "a") { // the graph's node
            el.setAttribute("class", "node st-" + j.status);
            el.dataset.status = j.status;
            el.querySelector("[data-sym]").textContent = SYMBOLS[j.status] || "·";
            el.querySelector("[data-word]").textContent = word(j.status);
            el.querySelector("[data-dur]").textContent = fmtDuration(j.duration_ms);
            el.querySelector("title").textContent = j.name + ": " + word(j.status);
          } else {
            el.dataset.status = j.status;
            setStatus(el.querySelector("[data-job-status]"), j.status);
            el.querySelector("[data-dur]").textContent = fmtDuration(j.duration_ms);
          }
        }
      }
      if (TERMINAL.has(run.status)) es.close();
    });
  }

  // ---- ANSI colours ----
  // State carries across lines; each run of text gets a span whose classes
  // say its colours (classes, not inline styles: the CSP allows none).
  function Ansi() { this.fg = -1; this.bg = -1; this.b = false; this.d = false; this.i = false; this.u = false; }
  Ansi.prototype.apply = function (params) {
    const p = params === "" ? [0] : params.split(";").map((x) => parseInt(x || "0", 10));
    for (let k = 0; k < p.length; k++) {
      const c = p[k];
      if (c === 0) { this.fg = -1; this.bg = -1; this.b = this.d = this.i = this.u = false; }
      else if (c === 1) this.b = true;
      else if (c === 2) this.d = true;
      else if (c === 3) this.i = true;
      else if (c === 4) this.u = true;
      else if (c === 22) this.b = this.d = false;
      else if (c === 23) this.i = false;
      else if (c === 24) this.u = false;
      else if (c >= 30 && c <= 37) this.fg = c - 30;
      else if (c === 39) this.fg = -1;
      else if (c >= 40 && c <= 47) this.bg = c - 40;
      else if (c === 49) this.bg = -1;
      else if (c >= 90 && c <= 97) this.fg = c - 90 + 8;
      else if (c >= 100 && c <= 107) this.bg = c - 100;
      else if (c === 38 || c === 48) {
        // 256 colours (5;N) and true colour (2;R;G;B) show as the nearest
        // of the 16 the classes have.
        let n = -1;
        if (p[k + 1] === 5) { n = color256(p[k + 2]); k += 2; }
        else if (p[k + 1] === 2) { n = nearest16(p[k + 2], p[k + 3], p[k + 4]); k += 4; }
        if (n >= 0) { if (c === 38) this.fg = n; else this.bg = n % 8; }
      }
    }
  };
  // The 16 colours as xterm draws them, to match others against.
  const PALETTE = [[0, 0, 0], [205, 0, 0], [0, 205, 0], [205, 205, 0], [0, 0, 238], [205, 0, 205], [0, 205, 205], [229, 229, 229],
    [127, 127, 127], [255, 0, 0], [0, 255, 0], [255, 255, 0], [92, 92, 255], [255, 0, 255], [0, 255, 255], [255, 255, 255]];
  function nearest16(r, g, b) {
    if (![r, g, b].every((v) => v >= 0 && v <= 255)) return -1;
    let best = 0, dist = Infinity;
    PALETTE.forEach(([pr, pg, pb], i) => {
      const d = (r - pr) ** 2 + (g - pg) ** 2 + (b - pb) ** 2;
      if (d < dist) { dist = d; best = i; }
    });
    return best;
  }
  // color256 is colour n of the 256 as one of the 16.
  function color256(n) {
    if (!(n >= 0 && n <= 255)) return -1;
    if (n < 16) return n;
    if (n >= 232) { const v = 8 + (n - 232) * 10; return nearest16(v, v, v); }
    const cube = [0, 95, 135, 175, 215, 255], i = n - 16;
    return nearest16(cube[Math.floor(i / 36)], cube[Math.floor(i / 6) % 6], cube[i % 6]);
  }
  Ansi.prototype.cls = function () {
    let s = "";
    if (this.fg >= 0) s += " f" + this.fg;
    if (this.bg >= 0) s += " b" + this.bg;
    if (this.b) s += " a-b";
    if (this.d) s += " a-d";
    if (this.i) s += " a-i";
    if (this.u) s += " a-u";
    return s.trim();
  };
  // CSI sequences (colours, cursor moves), charset and keypad modes, and
  // OSC sequences (a terminal's title, hyperlinks: ESC ] … BEL or ESC \),
  // which show nothing in a terminal and so nothing here.
  const ESC = /\x1b\[([0-9;?]*)([A-Za-z])|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()][0-9A-Za-z]|\x1b[=>]|\r/g;
  const COLUMN1 = /\x1b\[1?G/g;
  const escapes = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"};
  const escapeHTML = (t) => t.replace(/[&<>"]/g, (c) => escapes[c]);
  // lineHTML is line's text as HTML, coloured by classes.
  function lineHTML(line, ansi) {
    const span = (text) => {
      if (!text) return "";
      const c = ansi.cls();
      return c ? '<span class="' + c + '">' + escapeHTML(text) + "</span>" : escapeHTML(text);
    };
    if (line.indexOf("\x1b") < 0 && line.indexOf("\r") < 0) return span(line);
    // A carriage return, or a move to column 1 (ESC [ G, as progress bars
    // that erase their line send it), starts the line over: what follows
    // the last one shows, in the colours set before it.
    line = line.replace(COLUMN1, "\r");
    let end = line.length;
    while (end > 0 && line[end - 1] === "\r") end--;
    const cr = line.lastIndexOf("\r", end - 1);
    if (cr >= 0) {
      let m;
      const before = line.slice(0, cr);
      ESC.lastIndex = 0;
      while ((m = ESC.exec(before)) !== null) if (m[2] === "m") ansi.apply(m[1]);
      line = line.slice(cr + 1);
    }
    let out = "", last = 0, m;
    ESC.lastIndex = 0;
    while ((m = ESC.exec(line)) !== null) {
      out += span(line.slice(last, m.index));
      last = ESC.lastIndex;
      if (m[2] === "m") ansi.apply(m[1]);
    }
    return out + span(line.slice(last));
  }

  // ---- job page: the log ----
  function followLog(root) {
    const state = document.getElementById("log-state");
    const sections = Array.from(root.querySelectorAll("details.step"));
    const enc = new TextEncoder();
    const ascii = /^[\x00-\x7f]*$/;
    const BLOCK = 200, BIG = 2000; // lines a block holds; a log past BIG skips off-screen blocks
    const lines = [];      // every line: {off, text, plain (lower case, for search)}
    let rendered = 0;      // lines[0:rendered] are in the page
    let partial = "", partialOff = 0, nextOff = 0;
    const ansi = new Ansi();
    const want = /^#L(\d+)$/.exec(location.hash);
    let wantLine = want ? parseInt(want[1], 10) : 0;
    let refreshing = false, lastRefresh = 0, ended = false;
    let decoder = null;
    // A job still running when the page was made is followed as a terminal
    // shows it: while the page is scrolled to its end, new lines keep the
    // end in view; scrolled up (or opened on a line), it stays put.
    const jobBadge = document.querySelector("[data-job-status] .status");
    const liveAtLoad = !!jobBadge && !TERMINAL.has(jobBadge.dataset.status);
    const atEnd = () => window.innerHeight + window.scrollY >= document.documentElement.scrollHeight - 40;

    for (const s of sections) s.dataset.empty = "";
    const startOf = (s) => (s.dataset.start === undefined ? Infinity : parseInt(s.dataset.start, 10));
    // The section a log byte belongs to: the last one started at or before it.
    let starts = sections.map(startOf);
    function sectionFor(off) {
      let best = 0;
      for (let k = 1; k < sections.length; k++) if (starts[k] <= off && starts[k] >= starts[best]) best = k;
      return sections[best];
    }

    function addText(text, off) {
      // off is the byte offset of text's first byte.
      if (partial === "") partialOff = off;
      let data = partial + text;
      let pos = 0, lineOff = partialOff;
      for (;;) {
        const nl = data.indexOf("\n", pos);
        if (nl < 0) break;
        const line = data.slice(pos, nl);
        lines.push({off: lineOff, text: line, plain: null});
        lineOff += (ascii.test(line) ? line.length : enc.encode(line).length) + 1;
        pos = nl + 1;
      }
      partial = data.slice(pos);
      partialOff = lineOff;
      schedule();
    }

    let scheduled = false;
    function schedule() {
      if (!scheduled) { scheduled = true; requestAnimationFrame(renderSome); }
    }
    // renderSome adds lines for at most ~12 ms per frame, so scrolling and
    // typing stay smooth while a 200,000-line log fills in. Lines go into
    // blocks of BLOCK lines, each made from one HTML string (the browser's
    // parser builds nodes faster than script can), and a block off screen
    // is skipped by layout (content-visibility in the stylesheet).
    let openBlock = null, openCount = 0;
    function renderSome() {
      scheduled = false;
      const began = performance.now(), until = began + 12;
      const stick = liveAtLoad && !wantLine && rendered < lines.length && atEnd();
      starts = sections.map(startOf);
      if (lines.length > BIG) root.classList.add("big");
      while (rendered < lines.length && performance.now() < until) {
        const sec = sectionFor(lines[rendered].off);
        const box = sec.querySelector(".lines");
        if (!openBlock || openBlock.parentNode !== box || openCount >= BLOCK) {
          openBlock = document.createElement("div");
          openBlock.className = "block";
          box.appendChild(openBlock);
          openCount = 0;
          delete sec.dataset.empty;
        }
        let html = "";
        const end = Math.min(lines.length, rendered + BLOCK - openCount);
        let i = rendered;
        for (; i < end; i++) {
          const l = lines[i];
          if (i > rendered && sectionFor(l.off) !== sec) break;
          html += '<div class="line" id="L' + (i + 1) + '" data-n="' + (i + 1) + '" data-off="' + l.off + '">' + lineHTML(l.text, ansi) + "</div>";
        }
        openBlock.insertAdjacentHTML("beforeend", html);
        openCount += i - rendered;
        // Until it is first laid out, a block off screen counts as its lines'
        // height (a line is about 18 px), not as a fixed guess.
        openBlock.style.containIntrinsicSize = "auto " + openCount * 18 + "px";
        rendered = i;
      }
      // What the benchmarks read: when the first line showed, and the
      // longest this script held the main thread at once.
      window.__latheMaxBlock = Math.max(window.__latheMaxBlock || 0, performance.now() - began);
      window.__latheJS = (window.__latheJS || 0) + performance.now() - began;
      window.__latheFrames = (window.__latheFrames || 0) + 1;
      if (rendered > 0 && !window.__latheFirstLine) window.__latheFirstLine = performance.now() + performance.timeOrigin;
      if (stick) window.scrollTo(0, document.documentElement.scrollHeight);
      if (wantLine && rendered >= wantLine) {
        const el = document.getElementById("L" + wantLine);
        if (el) { el.closest("details").open = true; el.scrollIntoView({block: "center"}); el.classList.add("hit"); }
        wantLine = 0;
      }
      if (rendered < lines.length) schedule();
      else if (ended) done();
    }

    function done() {
      root.dataset.complete = "true";
      root.dataset.lines = String(lines.length);
      state.textContent = lines.length + " lines.";
      window.__latheLogDone = performance.now() + performance.timeOrigin;
    }

    // refresh reads the job again for the steps' boundaries (steps start
    // while the log is followed), then moves lines that landed in an
    // earlier section than theirs.
    let refreshTimer = null, again = false;
    function wantRefresh() {
      if (refreshTimer) return;
      refreshTimer = setTimeout(() => { refreshTimer = null; refresh(); }, Math.max(0, 500 - (performance.now() - lastRefresh)));
    }
    function refresh() {
      if (!root.dataset.job) return;
      if (refreshing) { again = true; return; }
      refreshing = true; lastRefresh = performance.now();
      fetch(root.dataset.job, {headers: {Accept: "application/json"}, credentials: "same-origin"})
        .then((r) => (r.ok ? r.json() : null))
        .then((job) => {
          refreshing = false;
          if (again) { again = false; wantRefresh(); }
          if (!job || !job.attempts || !job.attempts.length) return;
          const want = root.dataset.attempt ? parseInt(root.dataset.attempt, 10) : 0;
          const att = job.attempts.find((a) => a.number === want) || job.attempts[job.attempts.length - 1];
          for (const st of att.steps || []) {
            let sec = sections.find((s) => s.dataset.index === String(st.index));
            if (!sec) sec = addSection(st);
            sec.dataset.start = st.log_start;
            const meta = sec.querySelector("[data-step-meta]");
            let txt = (SYMBOLS[st.status] || "") + " " + word(st.status);
            if (st.exit_code != null) txt += " · exit code " + st.exit_code;
            if (st.duration_ms != null) txt += " · " + fmtDuration(st.duration_ms);
            meta.textContent = txt;
          }
          rebucket();
        }, () => { refreshing = false; if (again) { again = false; wantRefresh(); } });
    }
    // addSection adds the section of a step that started after the page was made.
    function addSection(st) {
      const sec = document.createElement("details");
      sec.className = "step";
      sec.open = true;
      sec.dataset.index = st.index;
      sec.dataset.empty = "";
      const sum = document.createElement("summary");
      const name = document.createElement("span");
      name.className = "step-name";
      name.textContent = st.name;
      const meta = document.createElement("span");
      meta.className = "step-meta";
      meta.dataset.stepMeta = "";
      sum.append(name, " ", meta);
      const lines = document.createElement("div");
      lines.className = "lines";
      sec.append(sum, lines);
      root.appendChild(sec);
      sections.push(sec);
      return sec;
    }

    function rebucket() {
      starts = sections.map(startOf);
      openBlock = null; // new lines start a fresh block
      for (let i = 0; i + 1 < sections.length; i++) {
        const box = sections[i].querySelector(".lines");
        for (;;) {
          const block = box.lastElementChild;
          if (!block) break;
          const el = block.lastElementChild;
          if (!el) { block.remove(); continue; }
          const right = sectionFor(parseInt(el.dataset.off, 10));
          if (right === sections[i]) break;
          const dst = right.querySelector(".lines");
          let first = dst.firstElementChild;
          if (!first) { first = document.createElement("div"); first.className = "block"; dst.appendChild(first); }
          first.insertBefore(el, first.firstChild);
          delete right.dataset.empty;
        }
        if (!box.querySelector(".line")) sections[i].dataset.empty = "";
      }
    }

    const es = new EventSource(root.dataset.stream);
    es.addEventListener("log", (ev) => {
      const c = JSON.parse(ev.data);
      if (c.offset < nextOff) return; // already have it (a resumed stream)
      let text = c.text || "";
      let size;
      if (c.base64) {
        const bin = atob(c.base64);
        const bytes = new Uint8Array(bin.length);
        for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
        decoder = decoder || new TextDecoder("utf-8");
        text = decoder.decode(bytes, {stream: true});
        size = bytes.length;
      } else {
        size = ascii.test(text) ? text.length : enc.encode(text).length;
      }
      addText(text, c.offset);
      nextOff = c.offset + size;
      // Steps start while the log is followed: read the job again (at most
      // twice a second, and always once after the latest chunk) to learn
      // where each begins.
      wantRefresh();
    });
    es.addEventListener("end", (ev) => {
      es.close();
      const end = JSON.parse(ev.data);
      if (end.status) setStatus(document.querySelector("[data-job-status]"), end.status);
      if (partial !== "") { lines.push({off: partialOff, text: partial, plain: null}); partial = ""; }
      ended = true;
      refresh();
      if (rendered >= lines.length) done(); else schedule();
      nextAttempt();
    });
    // nextAttempt: the stream follows one attempt; when it ends and the job
    // goes on (it is queued again to retry), the page shows the job's own
    // status and, unless a particular attempt was asked for, loads again
    // to follow the next attempt. When the job ended while the page was
    // open, its facts, actions (cancel gives way to re-run) and attempts
    // are read again from the page, and the log is kept.
    function nextAttempt() {
      if (!root.dataset.job) return;
      fetch(root.dataset.job, {headers: {Accept: "application/json"}, credentials: "same-origin"})
        .then((r) => (r.ok ? r.json() : null))
        .then((job) => {
          if (!job) return;
          if (TERMINAL.has(job.status)) { if (liveAtLoad) refreshParts(); return; }
          if (new URLSearchParams(location.search).has("attempt")) return;
          setStatus(document.querySelector("[data-job-status]"), job.status);
          state.textContent = "This attempt ended and the job runs again; following its next attempt…";
          setTimeout(() => location.reload(), 1000);
        }, () => {});
    }
    function refreshParts() {
      fetch(location.pathname + location.search, {credentials: "same-origin"})
        .then((r) => (r.ok ? r.text() : null))
        .then((html) => {
          if (!html) return;
          const doc = new DOMParser().parseFromString(html, "text/html");
          for (const el of document.querySelectorAll("[data-part]")) {
            const fresh = doc.querySelector('[data-part="' + el.dataset.part + '"]');
            if (fresh) el.replaceWith(document.importNode(fresh, true));
          }
        }, () => {});
    }
    es.onerror = () => {
      window.__latheDrops = (window.__latheDrops || 0) + 1; // what the tests read
      if (!ended) state.textContent = "Connection lost; reconnecting…";
    };
    es.onopen = () => { if (!ended && state.textContent.startsWith("Connection")) state.textContent = "Following the log live…"; };

    // #L123 in the address shows that line (at load, or when it changes).
    window.addEventListener("hashchange", () => {
      const m = /^#L(\d+)$/.exec(location.hash);
      if (!m) return;
      for (const h of root.querySelectorAll(".line.hit")) h.classList.remove("hit");
      wantLine = parseInt(m[1], 10);
      schedule();
    });

    // A click on a line's number links it: the address becomes #L123.
    root.addEventListener("click", (e) => {
      const line = e.target.closest && e.target.closest(".line");
      if (!line || e.offsetX > 5.2 * parseFloat(getComputedStyle(line).fontSize)) return;
      history.replaceState(null, "", "#L" + line.dataset.n);
      for (const h of root.querySelectorAll(".line.hit")) h.classList.remove("hit");
      line.classList.add("hit");
    });

    // Search: find the next (or previous) line holding the text.
    const form = document.getElementById("log-search");
    const q = document.getElementById("log-q");
    const hits = document.getElementById("log-hits");
    let cur = -1, marked = null;
    function find(dir) {
      const needle = q.value.toLowerCase();
      if (!needle) { hits.textContent = ""; return; }
      const plainOf = (i) => {
        const l = lines[i];
        if (l.plain === null) l.plain = l.text.replace(ESC, "").toLowerCase();
        return l.plain;
      };
      let total = 0, found = -1;
      for (let k = 1; k <= lines.length; k++) {
        const i = ((cur + dir * k) % lines.length + lines.length) % lines.length;
        if (plainOf(i).includes(needle)) { found = i; break; }
      }
      for (let i = 0; i < lines.length; i++) if (plainOf(i).includes(needle)) total++;
      if (found < 0) { hits.textContent = "No match."; return; }
      while (rendered <= found) renderSome();
      if (marked) marked.classList.remove("hit");
      cur = found;
      marked = document.getElementById("L" + (found + 1));
      marked.classList.add("hit");
      marked.closest("details").open = true;
      marked.scrollIntoView({block: "center"});
      let nth = 0;
      for (let i = 0; i <= found; i++) if (plainOf(i).includes(needle)) nth++;
      hits.textContent = "Match " + nth + " of " + total + " (line " + (found + 1) + ")";
    }
    form.addEventListener("submit", (e) => { e.preventDefault(); find(1); });
    document.getElementById("log-prev").addEventListener("click", () => find(-1));
  }

  document.addEventListener("DOMContentLoaded", () => {
    // A deep link to a line (/jobs/7#L120) came here through the sign-in
    // page, which the fragment reaches but the server never sees: it goes
    // on with the form, so the user lands on the line.
    const next = document.querySelector('form[action="/login"] input[name="next"]');
    if (next && location.hash && !next.value.includes("#")) next.value += location.hash;
    const run = document.getElementById("run");
    if (run) followRun(run);
    const log = document.getElementById("log");
    if (log) followLog(log);
  });
})();
