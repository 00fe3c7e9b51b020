// <tl-spans>: labelled spans over a text (NER), by mouse or keyboard.
//
// Keyboard: the text is cut into tokens (words, punctuation marks, emoji; in Chinese,
// Japanese or Thai the words the browser's segmenter finds). With the text focused, ←/→
// move a token cursor (the visual way: in right-to-left text ← goes to the next token),
// Shift+←/→ (and Shift+Home/End, Shift+↑/↓) grow a selection from where it started, and a
// label key labels the selection (or the token under the cursor). ` switches between words
// and single characters (graphemes). Delete/Backspace removes the spans under the cursor or
// selection; Escape drops the selection.
// Mouse: select text (it snaps to whole tokens) or click a token, then press a label key or
// click a label button.
//
// Texts of any length: the text is drawn in chunks and only the chunks near the viewport
// are tokens (items/token-view.js), so a 5 MB text opens as fast as a short one.
//
// Offsets are Unicode code points, as the server counts them (Python str indices), not the
// UTF-16 units JavaScript strings use; the two differ for emoji and other astral characters.
// A letter with a combining mark is two code points and one grapheme: a span never cuts it.
import { append, h } from "../dom.js";
import { KeyTyper, TlField, cpSlice, optionTitle, plainKey, showKey } from "./base.js";
import { registerField } from "./registry.js";
import { TokenView } from "../items/token-view.js";

export { tokenize } from "../items/segment.js";

const GRANULARITY_KEY = "`"; // words/characters (a page key: domain/hotkeys.py)
const N_COLORS = 8;
const QUOTE_MAX = 160;

/** A quote of ``text`` short enough for a status line. */
const quote = (text) => (text.length > QUOTE_MAX
  ? `${text.slice(0, QUOTE_MAX - 40)} … ${text.slice(-30)}` : text);

export class TlSpans extends TlField {
  static renderValue(spec, value, data = {}) {
    if (!Array.isArray(value) || !value.length) return h("span", { class: "muted" }, "(no spans)");
    const source = data[spec.source || "text"];
    const labels = (spec.labels || []).map((l) => l.value);
    return h("ul", { class: "span-list value-spans" }, value.map((s) =>
      h("li", {}, h("span", { class: `chip lab-${Math.max(labels.indexOf(s.label), 0) % 8}` },
        optionTitle(spec.labels, s.label)), " ",
      h("span", { dir: "auto" }, quote(cpSlice(source, s.start, s.end))))));
  }

  itemKeys() { return [this.spec.source || "text"]; }

  render() {
    const raw = this.item[this.spec.source || "text"];
    this.text = typeof raw === "string" ? raw : "";
    this.labels = this.spec.labels;
    // the keys the server gave the labels (domain/hotkeys.py), else their own hotkeys
    this.keys = Array.isArray(this.spec.keys) ? this.spec.keys : this.labels.map((l) => (l.hotkey || "").toLowerCase() || null);
    this.typer = new KeyTyper(this.keys);
    this.spans = [];
    this.anchor = null;
    this.cursor = null;

    const titleId = `${this.uid}-title`;
    const statusId = `${this.uid}-status`;
    this.labelButtons = this.labels.map((l, i) => h("button", {
      type: "button", class: `span-label lab-${i % N_COLORS}`, tabIndex: -1,
      "aria-keyshortcuts": this.keys[i] || undefined, dataset: { label: l.value },
      on: { mousedown: (e) => e.preventDefault(), click: () => this.applyLabel(i) },
    }, this.keys[i] ? h("kbd", {}, showKey(this.keys[i])) : null, h("span", { dir: "auto" }, l.title || l.value)));
    this.granularityButton = h("button", {
      type: "button", class: "btn btn-quiet btn-small span-granularity", tabIndex: -1,
      "aria-pressed": "false", "aria-keyshortcuts": GRANULARITY_KEY,
      title: "Select single characters instead of words (`)",
      on: { mousedown: (e) => e.preventDefault(), click: () => this.toggleGranularity() },
    }, h("kbd", {}, GRANULARITY_KEY), "Characters");

    this.textEl = h("div", {
      class: "span-text", tabIndex: 0, role: "group", dir: "auto", "aria-roledescription": "span annotator",
      "aria-labelledby": titleId, "aria-describedby": statusId, dataset: { primary: "" },
    });
    this.statusEl = h("p", { class: "span-status", id: statusId, "aria-live": "polite" });
    this.listEl = h("ul", { class: "span-list", "aria-label": `${this.fieldTitle}: spans` });
    this.view = new TokenView(this.text, this.textEl, (c) => this.paint(c));
    this.view.keep = (c) => (this.cursor && this.cursor.c === c) || (this.anchor && this.anchor.c === c);
    this.view.start();
    this.cursor = this.view.first();
    if (!this.view.hasTokens) {
      this.textEl.append(h("span", { class: "muted" },
        typeof raw === "string" ? "(empty text)" : `This item has no text in “${this.spec.source || "text"}”.`));
    }

    this.textEl.addEventListener("mouseup", (e) => this.onMouseUp(e));
    this.textEl.addEventListener("focus", () => this.update());
    this.textEl.addEventListener("blur", () => this.update());

    append(this, [
      h("div", { class: "field-head" }, this.heading("h3", { id: titleId }),
        h("div", { class: "span-labels", role: "group", "aria-label": "Labels" }, this.labelButtons),
        this.granularityButton),
      this.help(), this.textEl, this.statusEl, this.listEl]);
    this.update();
    this.dataset.ready = ""; // tokens, cursor and keys work (bench/bench_render.py waits for it)
  }

  disconnectedCallback() { if (this.view) this.view.disconnect(); }

  // -- value -----------------------------------------------------------------------------
  get value() {
    return this.spans.map(({ start, end, label }) => ({ start, end, label }));
  }

  set value(v) {
    const known = new Set(this.labels.map((l) => l.value));
    this.spans = (Array.isArray(v) ? v : [])
      .filter((s) => s && Number.isInteger(s.start) && Number.isInteger(s.end) && s.end > s.start && known.has(s.label))
      .map(({ start, end, label }) => ({ start, end, label }));
    this.sortSpans();
    this.anchor = null;
    this.update();
  }

  sortSpans() {
    this.spans.sort((a, b) => a.start - b.start || a.end - b.end || a.label.localeCompare(b.label));
  }

  // -- selection -------------------------------------------------------------------------
  range() {
    const a = this.anchor === null ? this.cursor : this.anchor;
    return TokenView.cmp(a, this.cursor) <= 0 ? [a, this.cursor] : [this.cursor, a];
  }

  rangeOffsets() {
    const [lo, hi] = this.range();
    return [this.view.tok(lo).s, this.view.tok(hi).e];
  }

  /** Text between code point offsets. */
  slice(start, end) { return this.view.index.slice(start, end); }

  move(to, extend) {
    if (!to || !this.cursor) return;
    if (extend) { if (this.anchor === null) this.anchor = this.cursor; } else this.anchor = null;
    this.cursor = to;
    if (this.anchor && TokenView.cmp(this.anchor, this.cursor) === 0 && !extend) this.anchor = null;
    const el = this.view.element(this.cursor);
    this.update();
    el.scrollIntoView({ block: "nearest", inline: "nearest" });
  }

  /** The token on the visual line above (-1) or below (+1), nearest in x. */
  lineNeighbour(dir) {
    const here = this.view.element(this.cursor).getBoundingClientRect();
    const x = here.left + here.width / 2;
    let best = null;
    let lineTop = null;
    let p = this.cursor;
    for (let n = 0; n < 4000 && (p = this.view.step(p, dir)); n++) {
      const r = this.view.element(p).getBoundingClientRect();
      const otherLine = dir > 0 ? r.top > here.top + here.height / 2 : r.bottom < here.top + here.height / 2;
      if (!otherLine) continue;
      if (lineTop === null) lineTop = r.top;
      else if (Math.abs(r.top - lineTop) > here.height / 2) break;
      const d = Math.abs(r.left + r.width / 2 - x);
      if (best === null || d < best.d) best = { p, d };
    }
    return best ? best.p : (dir > 0 ? this.view.last() : this.view.first());
  }

  /** Whether ArrowLeft goes forward here (right-to-left text at the cursor). */
  isRtl() {
    const el = this.cursor ? this.view.chunkEls[this.cursor.c] : this.textEl;
    return getComputedStyle(el).direction === "rtl";
  }

  onMouseUp(e) {
    const sel = window.getSelection();
    if (sel && sel.rangeCount && !sel.isCollapsed) {
      const r = sel.getRangeAt(0);
      const u0 = this.view.unitOfPoint(r.startContainer, r.startOffset);
      const u1 = this.view.unitOfPoint(r.endContainer, r.endOffset);
      sel.removeAllRanges();
      const lo = this.view.posAtUnit(u0, "start");
      const hi = this.view.posAtUnit(u1, "end");
      if (lo && hi && TokenView.cmp(lo, hi) <= 0) {
        this.anchor = TokenView.cmp(lo, hi) === 0 ? null : lo;
        this.cursor = hi;
      }
    } else {
      const p = this.view.posOfElement(e.target);
      if (p) this.move(p, e.shiftKey);
    }
    this.textEl.focus({ preventScroll: true });
    this.update();
  }

  toggleGranularity() {
    const g = this.view.granularity === "word" ? "grapheme" : "word";
    const u = this.cursor ? this.view.tok(this.cursor).u : 0;
    this.cursor = null;
    this.anchor = null;
    this.view.setGranularity(g);
    this.cursor = this.view.hasTokens ? this.view.posAtUnit(u, "start") : null;
    this.granularityButton.setAttribute("aria-pressed", String(g === "grapheme"));
    this.update(g === "grapheme" ? "Selecting single characters; ` goes back to words." : "Selecting words.");
    if (document.activeElement !== this.textEl) this.textEl.focus({ preventScroll: true });
  }

  // -- editing ---------------------------------------------------------------------------
  applyLabel(i) {
    if (!this.cursor) return;
    const label = this.labels[i].value;
    const [start, end] = this.rangeOffsets();
    const same = this.spans.find((s) => s.start === start && s.end === end);
    if (same && same.label === label) {
      this.say(`Already labelled ${label}.`);
    } else if (same && !this.spec.allow_overlap) {
      same.label = label;
    } else {
      if (!this.spec.allow_overlap) this.spans = this.spans.filter((s) => s.end <= start || s.start >= end);
      this.spans.push({ start, end, label });
    }
    this.sortSpans();
    this.anchor = null;
    this.update(`${label}: “${quote(this.slice(start, end))}”`);
    this.changed();
    if (document.activeElement !== this.textEl) this.textEl.focus({ preventScroll: true });
  }

  removeAtCursor() {
    if (!this.cursor) return;
    const [start, end] = this.rangeOffsets();
    const before = this.spans.length;
    this.spans = this.spans.filter((s) => s.end <= start || s.start >= end);
    const removed = before - this.spans.length;
    this.update(removed ? `Removed ${removed} span${removed === 1 ? "" : "s"}.` : "No span here to remove.");
    if (removed) this.changed();
  }

  removeSpan(span) {
    this.spans = this.spans.filter((s) => s !== span);
    this.update(`Removed ${span.label}: “${quote(this.slice(span.start, span.end))}”`);
    this.changed();
  }

  selectSpan(span) {
    const lo = this.view.posAtPoint(span.start, "start");
    const hi = this.view.posAtPoint(span.end, "end");
    if (!lo || !hi || TokenView.cmp(lo, hi) > 0) return;
    this.anchor = TokenView.cmp(lo, hi) === 0 ? null : lo;
    this.cursor = hi;
    const el = this.view.element(hi);
    this.textEl.focus({ preventScroll: true });
    this.update();
    el.scrollIntoView({ block: "nearest", inline: "nearest" });
  }

  handleKey(e, focused) {
    if (!focused || !this.cursor || e.ctrlKey || e.metaKey || e.altKey) return false;
    const k = e.key;
    if (k === "ArrowRight" || k === "ArrowLeft") {
      const forward = (k === "ArrowRight") !== this.isRtl();
      this.move(this.view.step(this.cursor, forward ? 1 : -1), e.shiftKey);
      return true;
    }
    if (k === "ArrowUp" || k === "ArrowDown") {
      this.move(this.lineNeighbour(k === "ArrowDown" ? 1 : -1), e.shiftKey);
      return true;
    }
    if (k === "Home" || k === "End") { this.move(k === "Home" ? this.view.first() : this.view.last(), e.shiftKey); return true; }
    if (k === "Escape" && this.anchor !== null) { this.anchor = null; this.update(); return true; }
    if (k === "Delete" || k === "Backspace") { this.removeAtCursor(); return true; }
    if (!plainKey(e)) return false;
    if (k === GRANULARITY_KEY) { this.toggleGranularity(); return true; }
    const i = this.typer.press(e);
    if (i === "pending") return true;
    if (i >= 0) { this.applyLabel(i); return true; }
    return false;
  }

  shortcuts() {
    return [
      { keys: ["← →"], text: "move the cursor" },
      { keys: ["↑ ↓"], text: "line up / down" },
      { keys: ["Shift", "arrows"], text: "select words" },
      ...this.labels.map((l, i) => ({ keys: [showKey(this.keys[i])], text: `label ${l.title || l.value}` }))
        .filter((s) => s.keys[0]),
      { keys: [GRANULARITY_KEY], text: "words / single characters" },
      { keys: ["Del"], text: "remove span at cursor" },
      { keys: ["Esc"], text: "drop selection" },
    ];
  }

  // -- drawing ---------------------------------------------------------------------------
  say(message) { this.statusEl.textContent = message; }

  update(message) {
    if (!this.cursor) { this.renderList(); return; }
    for (const c of this.view.live.keys()) this.paint(c);
    const [lo, hi] = this.range();
    const [start, end] = this.rangeOffsets();
    const text = quote(this.slice(start, end));
    this.say(message || (this.anchor === null
      ? `Cursor on “${text}”. Press a label key to label it; Shift+arrows select more.`
      : `Selected “${text}” (${lo.c === hi.c ? hi.k - lo.k + 1 : "several"} tokens). Press a label key.`));
    this.renderList();
  }

  /** Draw spans, selection and cursor on the tokens of live chunk ``c``. */
  paint(c) {
    const live = this.view.live.get(c);
    const toks = this.view.tokensOf(c);
    if (!live || !toks.length) return;
    const ch = this.view.chunks[c];
    const spans = this.spans.filter((s) => s.start < ch.cp1 && s.end > ch.cp0);
    const before = this.view.step({ c, k: 0 }, -1);
    const after = this.view.step({ c, k: toks.length - 1 }, 1);
    const prevTok = (k) => (k > 0 ? toks[k - 1] : before && this.view.tok(before));
    const nextTok = (k) => (k + 1 < toks.length ? toks[k + 1] : after && this.view.tok(after));
    const covers = (s, t) => t && s.start < t.e && s.end > t.s;
    let lo = null;
    let hi = null;
    const selecting = this.cursor && (this.anchor !== null || document.activeElement === this.textEl);
    if (this.cursor) [lo, hi] = this.range().map((p) => this.view.tok(p).s);
    for (let k = 0; k < toks.length; k++) {
      const t = toks[k];
      const on = spans.filter((s) => covers(s, t));
      const cls = ["tok"];
      let label = null;
      if (on.length) {
        const li = this.labels.findIndex((l) => l.value === on[0].label);
        cls.push("ent", `lab-${li % N_COLORS}`);
        if (on.some((s) => !covers(s, prevTok(k)))) cls.push("ent-start");
        const ending = on.filter((s) => !covers(s, nextTok(k)));
        if (ending.length) { cls.push("ent-end"); label = ending[ending.length - 1].label; }
        if (on.length > 1) cls.push("ent-multi");
      }
      if (selecting && t.s >= lo && t.s <= hi) cls.push("sel");
      if (this.cursor && this.cursor.c === c && this.cursor.k === k) cls.push("cursor");
      const el = live.els[k];
      const name = cls.join(" ");
      if (el.className !== name) el.className = name;
      if (label) el.dataset.label = label; else if (el.dataset.label !== undefined) delete el.dataset.label;
      const gap = live.gaps[k];
      if (gap) {
        const g = ["gap"];
        const n = nextTok(k);
        if (on.length && covers(on[0], n)) {
          g.push("ent", `lab-${this.labels.findIndex((l) => l.value === on[0].label) % N_COLORS}`);
        }
        if (this.anchor !== null && n && t.s >= lo && t.s < hi) g.push("sel");
        const gname = g.join(" ");
        if (gap.className !== gname) gap.className = gname;
      }
    }
  }

  renderList() {
    this.listEl.replaceChildren(...this.spans.map((span) => {
      const li = this.labels.findIndex((l) => l.value === span.label);
      const text = quote(this.slice(span.start, span.end));
      return h("li", { dataset: { start: String(span.start), end: String(span.end), label: span.label } },
        h("button", { type: "button", class: `chip lab-${li % N_COLORS}`, tabIndex: -1,
          on: { click: () => this.selectSpan(span) } }, span.label),
        h("span", { class: "span-quote", dir: "auto" }, `“${text}”`),
        h("button", { type: "button", class: "btn btn-quiet btn-small", tabIndex: -1,
          "aria-label": `Remove ${span.label} “${text}”`,
          on: { click: () => this.removeSpan(span) } }, "✕"));
    }));
    this.listEl.hidden = this.spans.length === 0;
  }
}

registerField("spans", "tl-spans", TlSpans);
