// <tl-spans>: labelled spans over a text (NER), by mouse or keyboard.
//
// Keyboard: the text is cut into tokens (words and punctuation marks). With the text focused,
// ←/→ move a token cursor, Shift+←/→ (and Shift+Home/End, Shift+↑/↓) grow a selection from
// where it started, and a label key labels the selection (or the token under the cursor).
// Delete/Backspace removes the spans under the cursor or selection; Escape drops the selection.
// Mouse: select text (it snaps to whole tokens) or click a token, then press a label key or
// click a label button.
//
// Offsets are Unicode code points, as the server counts them (Python str indices), not the
// UTF-16 units JavaScript strings use; the two differ for emoji and other astral characters.
import { append, h } from "../dom.js";
import { KeyTyper, TlField, cpSlice, optionTitle, plainKey, showKey } from "./base.js";
import { registerField } from "./registry.js";

const TOKEN_RE = /[\p{L}\p{N}\p{M}_]+|\S/gu;
const N_COLORS = 8;

/** Tokens of ``text`` with code point offsets: [{s, e, u, v, text}] (u/v: UTF-16). */
export function tokenize(text) {
  const cpAt = new Int32Array(text.length + 1); // UTF-16 index → code point index
  let cp = 0;
  for (let i = 0; i < text.length; i++) {
    cpAt[i] = cp;
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) { cpAt[i + 1] = cp; i++; }
    cp++;
  }
  cpAt[text.length] = cp;
  const out = [];
  for (const m of text.matchAll(TOKEN_RE)) {
    const u = m.index;
    const v = u + m[0].length;
    out.push({ s: cpAt[u], e: cpAt[v], u, v, text: m[0] });
  }
  return out;
}

export class TlSpans extends TlField {
  static renderValue(spec, value, data = {}) {
    if (!Array.isArray(value) || !value.length) return h("span", { class: "muted" }, "(no spans)");
    const source = data[spec.source || "text"];
    const labels = (spec.labels || []).map((l) => l.value);
    return h("ul", { class: "span-list value-spans" }, value.map((s) =>
      h("li", {}, h("span", { class: `chip lab-${Math.max(labels.indexOf(s.label), 0) % 8}` },
        optionTitle(spec.labels, s.label)), " ", cpSlice(source, s.start, s.end))));
  }

  itemKeys() { return [this.spec.source || "text"]; }

  render() {
    const raw = this.item[this.spec.source || "text"];
    this.text = typeof raw === "string" ? raw : "";
    this.chars = Array.from(this.text);
    this.tokens = tokenize(this.text);
    this.labels = this.spec.labels;
    // the keys the server gave the labels (domain/hotkeys.py), else their own hotkeys
    this.keys = Array.isArray(this.spec.keys) ? this.spec.keys : this.labels.map((l) => (l.hotkey || "").toLowerCase() || null);
    this.typer = new KeyTyper(this.keys);
    this.spans = [];
    this.cursor = 0;
    this.anchor = null;

    const titleId = `${this.uid}-title`;
    const statusId = `${this.uid}-status`;
    this.labelButtons = this.labels.map((l, i) => h("button", {
      type: "button", class: `span-label lab-${i % N_COLORS}`, tabIndex: -1,
      "aria-keyshortcuts": this.keys[i] || undefined, dataset: { label: l.value },
      on: { mousedown: (e) => e.preventDefault(), click: () => this.applyLabel(i) },
    }, this.keys[i] ? h("kbd", {}, showKey(this.keys[i])) : null, l.title || l.value));

    this.textEl = h("div", {
      class: "span-text", tabIndex: 0, role: "group", "aria-roledescription": "span annotator",
      "aria-labelledby": titleId, "aria-describedby": statusId, dataset: { primary: "" },
    });
    this.tokenEls = [];
    this.gapEls = [];
    let pos = 0;
    this.tokens.forEach((t, k) => {
      if (t.u > pos) {
        const gap = h("span", { class: "gap" }, this.text.slice(pos, t.u));
        if (k > 0) this.gapEls[k - 1] = gap;
        this.textEl.append(gap);
      }
      const el = h("span", { class: "tok", dataset: { i: String(k) } }, t.text);
      this.tokenEls.push(el);
      this.textEl.append(el);
      pos = t.v;
    });
    if (pos < this.text.length) this.textEl.append(this.text.slice(pos));
    if (!this.tokens.length) {
      this.textEl.append(h("span", { class: "muted" },
        typeof raw === "string" ? "(empty text)" : `This item has no text in “${this.spec.source || "text"}”.`));
    }

    this.statusEl = h("p", { class: "span-status", id: statusId, "aria-live": "polite" });
    this.listEl = h("ul", { class: "span-list", "aria-label": `${this.fieldTitle}: spans` });

    this.textEl.addEventListener("mouseup", (e) => this.onMouseUp(e));
    this.textEl.addEventListener("focus", () => this.update());
    this.textEl.addEventListener("blur", () => this.update());

    append(this, [
      h("div", { class: "field-head" }, this.heading("h3", { id: titleId }),
        h("div", { class: "span-labels", role: "group", "aria-label": "Labels" }, this.labelButtons)),
      this.help(), this.textEl, this.statusEl, this.listEl]);
    this.update();
  }

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
    this.cursor = Math.min(this.cursor, Math.max(this.tokens.length - 1, 0));
    this.update();
  }

  sortSpans() {
    this.spans.sort((a, b) => a.start - b.start || a.end - b.end || a.label.localeCompare(b.label));
  }

  // -- selection -------------------------------------------------------------------------
  range() {
    const a = this.anchor === null ? this.cursor : this.anchor;
    return [Math.min(a, this.cursor), Math.max(a, this.cursor)];
  }

  rangeOffsets() {
    const [lo, hi] = this.range();
    return [this.tokens[lo].s, this.tokens[hi].e];
  }

  /** Text between code point offsets (slicing by code points, not UTF-16 units). */
  slice(start, end) {
    return this.chars.slice(start, end).join("");
  }

  move(to, extend) {
    if (!this.tokens.length) return;
    const next = Math.max(0, Math.min(this.tokens.length - 1, to));
    if (extend) { if (this.anchor === null) this.anchor = this.cursor; } else this.anchor = null;
    this.cursor = next;
    if (this.anchor === this.cursor && !extend) this.anchor = null;
    this.update();
    this.tokenEls[this.cursor].scrollIntoView({ block: "nearest", inline: "nearest" });
  }

  /** The token on the visual line above (-1) or below (+1), nearest in x. */
  lineNeighbour(dir) {
    const here = this.tokenEls[this.cursor].getBoundingClientRect();
    const x = here.left + here.width / 2;
    let best = null;
    let lineTop = null;
    for (let k = this.cursor + dir; k >= 0 && k < this.tokens.length; k += dir) {
      const r = this.tokenEls[k].getBoundingClientRect();
      const otherLine = dir > 0 ? r.top > here.top + here.height / 2 : r.bottom < here.top + here.height / 2;
      if (!otherLine) continue;
      if (lineTop === null) lineTop = r.top;
      else if (Math.abs(r.top - lineTop) > here.height / 2) break;
      const d = Math.abs(r.left + r.width / 2 - x);
      if (best === null || d < best.d) best = { k, d };
    }
    return best ? best.k : (dir > 0 ? this.tokens.length - 1 : 0);
  }

  onMouseUp(e) {
    const sel = window.getSelection();
    if (sel && sel.rangeCount && !sel.isCollapsed) {
      const range = sel.getRangeAt(0);
      const hit = [];
      this.tokenEls.forEach((el, k) => { if (range.intersectsNode(el.firstChild || el)) hit.push(k); });
      // A selection that only touches a token's edge should not include it.
      while (hit.length > 1 && range.startContainer === this.tokenEls[hit[0]].firstChild
             && range.startOffset === this.tokens[hit[0]].text.length) hit.shift();
      while (hit.length > 1 && range.endContainer === this.tokenEls[hit[hit.length - 1]].firstChild
             && range.endOffset === 0) hit.pop();
      sel.removeAllRanges();
      if (hit.length) {
        this.anchor = hit[0];
        this.cursor = hit[hit.length - 1];
        if (this.anchor === this.cursor) this.anchor = null;
      }
    } else {
      const tok = e.target.closest && e.target.closest(".tok");
      if (tok) this.move(Number(tok.dataset.i), e.shiftKey);
    }
    this.textEl.focus({ preventScroll: true });
    this.update();
  }

  // -- editing ---------------------------------------------------------------------------
  applyLabel(i) {
    if (!this.tokens.length) return;
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
    this.update(`${label}: “${this.slice(start, end)}”`);
    this.changed();
    if (document.activeElement !== this.textEl) this.textEl.focus({ preventScroll: true });
  }

  removeAtCursor() {
    if (!this.tokens.length) return;
    const [start, end] = this.rangeOffsets();
    const before = this.spans.length;
    this.spans = this.spans.filter((s) => s.end <= start || s.start >= end);
    const removed = before - this.spans.length;
    this.update(removed ? `Removed ${removed} span${removed === 1 ? "" : "s"}.` : "No span here to remove.");
    if (removed) this.changed();
  }

  removeSpan(span) {
    this.spans = this.spans.filter((s) => s !== span);
    this.update(`Removed ${span.label}: “${this.slice(span.start, span.end)}”`);
    this.changed();
  }

  selectSpan(span) {
    const lo = this.tokens.findIndex((t) => t.e > span.start);
    let hi = lo;
    while (hi + 1 < this.tokens.length && this.tokens[hi + 1].s < span.end) hi++;
    if (lo < 0) return;
    this.anchor = lo === hi ? null : lo;
    this.cursor = hi;
    this.textEl.focus({ preventScroll: true });
    this.update();
  }

  handleKey(e, focused) {
    if (!focused || !this.tokens.length || e.ctrlKey || e.metaKey || e.altKey) return false;
    const k = e.key;
    if (k === "ArrowRight" || k === "ArrowLeft") {
      this.move(this.cursor + (k === "ArrowRight" ? 1 : -1), e.shiftKey);
      return true;
    }
    if (k === "ArrowUp" || k === "ArrowDown") {
      this.move(this.lineNeighbour(k === "ArrowDown" ? 1 : -1), e.shiftKey);
      return true;
    }
    if (k === "Home" || k === "End") { this.move(k === "Home" ? 0 : this.tokens.length - 1, e.shiftKey); return true; }
    if (k === "Escape" && this.anchor !== null) { this.anchor = null; this.update(); return true; }
    if (k === "Delete" || k === "Backspace") { this.removeAtCursor(); return true; }
    if (!plainKey(e)) return false;
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
      { keys: ["Del"], text: "remove span at cursor" },
      { keys: ["Esc"], text: "drop selection" },
    ];
  }

  // -- drawing ---------------------------------------------------------------------------
  say(message) { this.statusEl.textContent = message; }

  update(message) {
    const n = this.tokens.length;
    if (!n) { this.renderList(); return; }
    const cover = new Array(n).fill(null);
    const first = new Array(n).fill(false);
    const last = new Array(n).fill(null);
    const multi = new Array(n).fill(false);
    for (const span of this.spans) {
      let k = this.tokens.findIndex((t) => t.e > span.start);
      if (k < 0) continue;
      const li = this.labels.findIndex((l) => l.value === span.label);
      let firstTok = true;
      let lastTok = null;
      for (; k < n && this.tokens[k].s < span.end; k++) {
        if (cover[k] !== null) multi[k] = true;
        else cover[k] = { span, li };
        if (firstTok) { first[k] = true; firstTok = false; }
        lastTok = k;
      }
      if (lastTok !== null) last[lastTok] = span.label;
    }
    const [lo, hi] = this.range();
    const focused = document.activeElement === this.textEl;
    for (let k = 0; k < n; k++) {
      const el = this.tokenEls[k];
      const c = cover[k];
      const cls = ["tok"];
      if (c) cls.push("ent", `lab-${c.li % N_COLORS}`);
      if (first[k]) cls.push("ent-start");
      if (last[k]) { cls.push("ent-end"); el.dataset.label = last[k]; } else delete el.dataset.label;
      if (multi[k]) cls.push("ent-multi");
      if (k >= lo && k <= hi && (this.anchor !== null || focused)) cls.push("sel");
      if (k === this.cursor) cls.push("cursor");
      el.className = cls.join(" ");
      const gap = this.gapEls[k];
      if (gap) {
        const g = ["gap"];
        if (c && cover[k + 1] && cover[k + 1].span === c.span) g.push("ent", `lab-${c.li % N_COLORS}`);
        if (k >= lo && k < hi && this.anchor !== null) g.push("sel");
        gap.className = g.join(" ");
      }
    }
    const [start, end] = this.rangeOffsets();
    const words = hi - lo + 1;
    this.say(message || (this.anchor === null
      ? `Cursor on “${this.slice(start, end)}”. Press a label key to label it; Shift+arrows select more.`
      : `Selected “${this.slice(start, end)}” (${words} tokens). Press a label key.`));
    this.renderList();
  }

  renderList() {
    this.listEl.replaceChildren(...this.spans.map((span) => {
      const li = this.labels.findIndex((l) => l.value === span.label);
      return h("li", { dataset: { start: String(span.start), end: String(span.end), label: span.label } },
        h("button", { type: "button", class: `chip lab-${li % N_COLORS}`, tabIndex: -1,
          on: { click: () => this.selectSpan(span) } }, span.label),
        h("span", { class: "span-quote" }, `“${this.slice(span.start, span.end)}”`),
        h("button", { type: "button", class: "btn btn-quiet btn-small", tabIndex: -1,
          "aria-label": `Remove ${span.label} “${this.slice(span.start, span.end)}”`,
          on: { click: () => this.removeSpan(span) } }, "✕"));
    }));
    this.listEl.hidden = this.spans.length === 0;
  }
}

registerField("spans", "tl-spans", TlSpans);
